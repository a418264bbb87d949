"""Offline tools: benches, evaluation, log inspection, baselines (never imported by services)."""
