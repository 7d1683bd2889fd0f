"""Domain classifiers: each maps context texts to per-domain scores (see base.py for the protocol).

A new classifier type is one module in this package with one ``@CLASSIFIERS.register(type)`` class, or an
entry point in the group ``mlqa_domain.classifiers`` of another distribution; CLASSIFIERS imports both the
first time it is looked up.
"""

from mlqa_domain.labeling.classifiers.base import CLASSIFIERS, Classifier, ClassifierBase, ClassifierType

__all__ = ["CLASSIFIERS", "Classifier", "ClassifierBase", "ClassifierType"]
