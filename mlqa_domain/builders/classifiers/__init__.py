"""Domain classifiers: each maps context texts to per-domain scores."""
