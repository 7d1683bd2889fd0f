"""Benchmark: score QA checkpoints (or imported answers) on the domain configs; compare runs."""
