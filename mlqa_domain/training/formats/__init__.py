"""Task formats of STILTs tasks (``format:`` in a task YAML): one module per format.

A new format is one new module here with a class decorated ``@TASK_FORMATS.register("name")`` that
follows :class:`~mlqa_domain.training.formats.base.TaskFormat`; every module of this package is
imported below, so nothing else needs an edit.
"""

from mlqa_domain.registry import import_submodules
from mlqa_domain.training.formats.base import TASK_FORMATS, TaskFormat, get_format

import_submodules(__name__)

__all__ = ["TASK_FORMATS", "TaskFormat", "get_format"]
