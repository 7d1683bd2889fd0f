"""Labelling: the taxonomy, the domain classifiers and how their scores become labels (ensemble,
routing, the English pivot), the reference labels, audits and classifier training."""
