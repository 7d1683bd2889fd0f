"""Task formats of STILTs tasks (``format:`` in a task YAML): one module per format.

A new format is one new module here with a class decorated ``@TASK_FORMATS.register("name")`` that
follows :class:`~mlqa_domain.training.formats.base.TaskFormat`, or an entry point in the group
``mlqa_domain.task_formats`` of another distribution; TASK_FORMATS imports every module of this package
and those entry points the first time it is looked up, so nothing else needs an edit.
"""

from mlqa_domain.training.formats.base import TASK_FORMATS, TaskFormat, get_format

__all__ = ["TASK_FORMATS", "TaskFormat", "get_format"]
