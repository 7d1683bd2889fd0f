"""Builders: read MLQA-style sources, classify contexts into domains, write the dataset repo."""
