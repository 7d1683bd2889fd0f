"""The CLASSIFIERS registry (classifier types a taxonomy names in ``type:``) and the ranges of their scores.

It sits below both the taxonomy, which checks a classifier entry's ``type`` against it, and the classifier
types, which take taxonomy entries: so it names the classifiers' package and their contract
(:class:`~mlqa_domain.labeling.classifiers.base.ClassifierBase`) by import path, and imports neither.
"""

from __future__ import annotations

from typing import Any

from mlqa_domain.registry import Registry

PROBABILITY_RANGE = (0.0, 1.0)
COSINE_RANGE = (-1.0, 1.0)  # also the range of the taxonomy's τ (taxonomy.SCORE_RANGE)

# entries: ClassifierType classes (labeling.classifiers.base); the registry sets their ``kind``
CLASSIFIERS: Registry[Any] = Registry(
    "classifier type",
    contract="mlqa_domain.labeling.classifiers.base:ClassifierBase",
    builtins="mlqa_domain.labeling.classifiers",
    group="mlqa_domain.classifiers",
    name_attribute="kind",
)
