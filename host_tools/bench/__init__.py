"""The bench: the end-to-end demo and the benchmarks, driving real processes."""
