"""Tests of the feedback sink adapter."""
