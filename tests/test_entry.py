"""The console scripts settle the process (Arrow's allocator) before the CLI imports pyarrow."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import distribution

from mlqa_domain import __version__
from mlqa_domain.entry import ARROW_POOL_VARIABLE


def run_python(code: str, **env: str) -> str:
    """Run ``code`` in a fresh interpreter (without the variable unless given) and return its stdout."""
    base = {k: v for k, v in os.environ.items() if k != ARROW_POOL_VARIABLE}
    done = subprocess.run(
        [sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_console_scripts_are_the_entry_functions() -> None:
    entry_points = distribution("mlqa-domain").entry_points
    scripts = {e.name: e.value for e in entry_points if e.group == "console_scripts"}
    assert scripts == {"mlqa-domain": "mlqa_domain.entry:mlqa_domain", "bench": "mlqa_domain.entry:bench"}


def test_the_cli_runs_arrow_on_the_system_allocator() -> None:
    code = (
        "import atexit, sys; sys.argv = ['mlqa-domain', '--version'];"
        "atexit.register(lambda: print(sys.modules['pyarrow'].default_memory_pool().backend_name));"
        "from mlqa_domain.entry import mlqa_domain; mlqa_domain()"
    )
    assert run_python(code).split() == ["mlqa-domain", __version__, "system"]


def test_a_pool_the_user_chose_is_kept() -> None:
    code = (
        "from mlqa_domain.entry import prepare_process; prepare_process();"
        "import pyarrow; print(pyarrow.default_memory_pool().backend_name)"
    )
    assert run_python(code).strip() == "system"
    assert run_python(code, **{ARROW_POOL_VARIABLE: "mimalloc"}).strip() == "mimalloc"
