"""Task heads (one per module): what a task format trains on top of the shared encoder.

A new head is one new module here with a class decorated ``@HEADS.register("name")`` that follows
:class:`~mlqa_domain.benchmark.heads.base.Head`; every module of this package is imported below.
"""

from mlqa_domain.benchmark.heads.base import HEADS, Head, get_head
from mlqa_domain.registry import import_submodules

import_submodules(__name__)

__all__ = ["HEADS", "Head", "get_head"]
