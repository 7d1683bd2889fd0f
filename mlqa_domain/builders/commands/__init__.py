"""The `mlqa-domain` commands, one per module, in help order."""

from __future__ import annotations

from collections.abc import Callable

from mlqa_domain.builders.commands.audit import audit
from mlqa_domain.builders.commands.build import build
from mlqa_domain.builders.commands.classifier_data import classifier_data
from mlqa_domain.builders.commands.push import push
from mlqa_domain.builders.commands.sample_for_audit import sample_for_audit
from mlqa_domain.builders.commands.train_classifier import train_classifier
from mlqa_domain.builders.commands.train_head import train_head

COMMANDS: list[tuple[str, Callable]] = [
    ("build", build),
    ("push", push),
    ("train-classifier", train_classifier),
    ("train-head", train_head),
    ("classifier-data", classifier_data),
    ("audit", audit),
    ("sample-for-audit", sample_for_audit),
]
