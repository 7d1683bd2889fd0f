"""Plots show submitted strings (model ids, task names) as data: never parsed as matplotlib mathtext.

A model id such as ``evil$\\foo{$x`` holds two ``$``: matplotlib would parse what lies between them as
mathtext and fail to draw the figure. Every plotting function of the package is wrapped in
:func:`plain_text`, which draws with ``text.parse_math`` off (a ``$`` is a dollar sign), so no text
in a figure is ever parsed as mathtext.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def plain_text(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` (which builds and saves a figure) with mathtext parsing off."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False}):
            return function(*args, **kwargs)

    return wrapper
