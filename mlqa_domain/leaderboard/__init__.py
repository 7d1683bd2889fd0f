"""Leaderboard: verified submissions in, a static page out.

Python API (what `bench submit` / `bench leaderboard ...` call)::

    from mlqa_domain.leaderboard.store import open_store            # local dir or hf://datasets/ORG/NAME
    from mlqa_domain.leaderboard.dataset_info import init_leaderboard
    from mlqa_domain.leaderboard.verify import submit                 # raises InputError on any mismatch
    from mlqa_domain.leaderboard.render import render_site

    store = open_store("leaderboard/")
    init_leaderboard(store, "mlqa-domain/")                           # once per leaderboard
    submit("results/", store, submitter="ana", base_model="xlm-roberta-base", intermediate_tasks=["mnli"])
    render_site(store, "site/")                                       # site/index.html

The columns of leaderboard.json, leaderboard.csv, the page and `bench leaderboard show` are one list,
``columns.COLUMNS``; the commands are in ``commands/`` (one per module).
"""
