"""The `mlqa-domain` commands of the labelling, one per module, in help order."""

from __future__ import annotations

from collections.abc import Callable

from mlqa_domain.labeling.commands.audit import audit
from mlqa_domain.labeling.commands.classifier_data import classifier_data
from mlqa_domain.labeling.commands.sample_for_audit import sample_for_audit
from mlqa_domain.labeling.commands.train_classifier import train_classifier
from mlqa_domain.labeling.commands.train_head import train_head

COMMANDS: list[tuple[str, Callable]] = [
    ("train-classifier", train_classifier),
    ("train-head", train_head),
    ("classifier-data", classifier_data),
    ("audit", audit),
    ("sample-for-audit", sample_for_audit),
]
