"""Benchmark: score QA checkpoints on the domain configs; STILTs baselines."""
