"""Domain classifiers: each maps context texts to per-domain scores (see base.py for the protocol).

A new classifier type is one module in this package with one ``@CLASSIFIERS.register(type)`` class.
"""

from mlqa_domain.labeling.classifiers.base import CLASSIFIERS, Classifier, ClassifierBase, ClassifierType
from mlqa_domain.registry import import_submodules

import_submodules(__name__)

__all__ = ["CLASSIFIERS", "Classifier", "ClassifierBase", "ClassifierType"]
