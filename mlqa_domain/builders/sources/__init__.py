"""Readers that turn source files into `Example` records."""
