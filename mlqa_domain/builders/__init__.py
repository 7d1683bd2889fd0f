"""Builders: read MLQA-style sources, run the labelling and the filters, write the dataset repo."""
