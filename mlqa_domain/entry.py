"""The console scripts' entry points: they settle the process before the CLI imports pyarrow.

Arrow's C++ code (the parquet encoder, IPC files) allocates from Arrow's default memory pool, which
pyarrow picks once, when it is imported, from ``ARROW_DEFAULT_MEMORY_POOL`` (mimalloc unless told
otherwise). mimalloc keeps the pages of freed buffers for reuse, so a build's writer, which allocates and
frees one row group's buffers after another, holds more the more row groups it writes; the system
allocator hands them back. A library caller chooses for its own process (set the variable before
importing pyarrow); ``perf/bench_build_speed.py`` runs its builds as the CLI does.
"""

from __future__ import annotations

import os

ARROW_POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"


def prepare_process() -> None:
    """Arrow on the system allocator unless the user chose a pool (it counts before pyarrow is imported)."""
    os.environ.setdefault(ARROW_POOL_VARIABLE, "system")


def mlqa_domain() -> None:
    """The ``mlqa-domain`` console script."""
    prepare_process()
    from mlqa_domain.cli import main

    main()


def bench() -> None:
    """The ``bench`` console script."""
    prepare_process()
    from mlqa_domain.bench_cli import main

    main()
