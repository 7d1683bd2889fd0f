"""Task heads (one per module): what a task format trains on top of the shared encoder.

A new head is one new module here with a class decorated ``@TASK_HEADS.register("name")`` that follows
:class:`~mlqa_domain.training.task_heads.base.Head`; every module of this package is imported below.
"""

from mlqa_domain.registry import import_submodules
from mlqa_domain.training.task_heads.base import TASK_HEADS, Head, get_head

import_submodules(__name__)

__all__ = ["TASK_HEADS", "Head", "get_head"]
