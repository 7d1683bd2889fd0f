"""The TASK_FORMATS registry: the task formats a task YAML names in ``format:``.

It sits below both the task specs, which check their ``format`` against it, and the formats, which take
task specs: so it names the formats' package and their contract
(:class:`~mlqa_domain.training.formats.base.TaskFormat`) by import path, and imports neither.
"""

from __future__ import annotations

from typing import Any

from mlqa_domain.registry import Registry

# entries: TaskFormat classes (training.formats.base); the registry sets their ``name``
TASK_FORMATS: Registry[Any] = Registry(
    "task format",
    contract="mlqa_domain.training.formats.base:TaskFormat",
    builtins="mlqa_domain.training.formats",
    group="mlqa_domain.task_formats",
    name_attribute="name",
)
