"""Task heads (one per module): what a task format trains on top of the shared encoder.

A new head is one new module here with a class decorated ``@TASK_HEADS.register("name")`` that follows
:class:`~mlqa_domain.training.task_heads.base.Head`, or an entry point in the group
``mlqa_domain.task_heads`` of another distribution; TASK_HEADS imports every module of this package and
those entry points the first time it is looked up.
"""

from mlqa_domain.training.task_heads.base import TASK_HEADS, Head, get_head

__all__ = ["TASK_HEADS", "Head", "get_head"]
