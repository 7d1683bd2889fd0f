"""The leaderboard's columns, in one list: it drives leaderboard.json, leaderboard.csv, the page and `show`.

To add a column, add one :class:`Column` to :data:`COLUMNS` (its place in the list is its place in
every output). Its value is the :class:`~mlqa_domain.leaderboard.row.Row` attribute named like the
column, or what ``value(row)`` returns; ``row.entry`` is the whole stored entry (submission and
verification) for values the row does not aggregate::

    Column("precision", "Precision", kind="text", value=lambda row: row.entry.submission.settings.precision)

The column's ``kind`` says how its value is written: in the CSV, as a page cell (and how the page sorts
it) and in the terminal table. A :class:`PerKey` family is one column per domain, language or gap
domain of the table; in leaderboard.json its values stay one object per row (``domain_f1``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from mlqa_domain.leaderboard.row import Row


class KeyLists(Protocol):
    """What the column families read from a table (:class:`~mlqa_domain.leaderboard.table.Table`): its
    domains, languages and gap domains, in column order."""

    domains: list[str]
    languages: list[str]
    gap_domains: list[str]


Kind = Literal["int", "text", "entry", "tasks", "number", "gap"]
"""How a value is shown: ``int`` a count; ``text``; ``entry`` text linking to the entry's page;
``tasks`` a list of task names; ``number`` a score (one decimal); ``gap`` a gap dict with its CI."""

_NUMERIC: frozenset[str] = frozenset({"int", "number", "gap"})
_GAP_CSV_SUFFIXES = ("", "_ci_low", "_ci_high")
MISSING = "–"


@dataclass(frozen=True)
class Column:
    """One column: its key (JSON, CSV, the page's ``data-key``), its header, and its value in a row."""

    key: str
    label: str
    kind: Kind = "number"
    value: Callable[[Row], Any] | None = None  # None: the row's attribute named ``key``
    group: str = ""  # the header over a run of columns on the page ("overall", "F1 per domain")
    note: Callable[[Row], str | None] | None = None  # a second line in the page cell (not number/gap)
    strong: bool = False  # bold on the page
    page: bool = True  # a column of the page (the CSV and leaderboard.json have every column)
    show: bool = True  # a column of `bench leaderboard show`
    show_label: str | None = None  # the terminal header when the label alone is not enough
    detail: bool = False  # on the page, behind the "more columns" toggle (the main table fits 1400 px)
    title: Callable[[Row], str | None] | None = None  # the page cell's tooltip

    def read(self, row: Row) -> Any:
        """The column's value in ``row`` (None: missing)."""
        return getattr(row, self.key) if self.value is None else self.value(row)

    @property
    def numeric(self) -> bool:
        """Sorted as numbers and right-aligned."""
        return self.kind in _NUMERIC

    @property
    def terminal_label(self) -> str:
        """The header in `bench leaderboard show`."""
        return self.show_label or self.label

    def csv_names(self) -> list[str]:
        """The CSV header fields of this column (a gap has its CI bounds as two more)."""
        if self.kind == "gap":
            return [self.key + suffix for suffix in _GAP_CSV_SUFFIXES]
        return [self.key]

    def csv_cells(self, row: Row) -> list[Any]:
        """This column's CSV fields in ``row`` (missing values are empty)."""
        value = self.read(row)
        if self.kind == "gap":
            return [value["f1_gap"], *value["f1_ci95"]] if value else [""] * len(_GAP_CSV_SUFFIXES)
        if self.kind == "tasks":
            return [";".join(value)]
        return ["" if value is None else value]

    def text(self, row: Row) -> str:
        """The value as terminal text (``–`` when missing)."""
        value = self.read(row)
        if value is None or value == [] or value == "":
            return MISSING
        if self.kind == "number":
            return f"{value:.1f}"
        if self.kind == "gap":
            return f"{value['f1_gap']:+.1f}"
        if self.kind == "tasks":
            return " → ".join(value)
        return str(value)


@dataclass(frozen=True)
class PerKey:
    """One column per key of a table list (``domains``, ``languages``, ``gap_domains``).

    ``row_field`` is the row's ``{key: value}`` dict, exported whole in leaderboard.json.
    """

    table_keys: str
    row_field: str
    key: str  # the column key with ``{}`` for the table key: ``f1_{}``
    group: str
    kind: Kind = "number"
    show: bool = True
    show_label: str | None = None  # with ``{}`` for the table key
    detail: bool = False

    def columns(self, table: KeyLists) -> list[Column]:
        """The family's columns in ``table``."""
        return [
            Column(
                key=self.key.format(name),
                label=name,
                value=lambda row, name=name: getattr(row, self.row_field).get(name),
                kind=self.kind,
                group=self.group,
                show=self.show,
                show_label=self.show_label.format(name) if self.show_label else None,
                detail=self.detail,
            )
            for name in getattr(table, self.table_keys)
        ]


# how an entry's predictions were produced, in words (the submission's ``model.source``)
PRODUCED_BY = {
    "bench run": "scored here with bench run",
    "bench stilts": "trained and scored here with bench stilts",
    "imported": "predictions made elsewhere, imported and re-scored here",
    "lm-eval": "generated by an LLM under lm-eval, imported and re-scored here",
}


def produced_by(row: Row) -> str:
    """How the entry's predictions were produced, in words."""
    source = row.entry.submission.model.source
    return PRODUCED_BY.get(source, source)


def model_note(row: Row) -> str:
    """The line under the model's name: how it was trained (base -> intermediate tasks; "declared" when
    no `bench stilts` record vouches for it), its seeds, and how its predictions were produced."""
    model = row.entry.submission.model
    if model.source in ("imported", "lm-eval"):
        steps = f"{model.base_model} · {produced_by(row)}"
    else:
        steps = " → ".join([row.base_model, *row.intermediate_tasks, "SQuAD"])
    if model.training_claims == "declared":
        steps += " (declared)"
    return steps + (f" · {row.n_seeds} seeds" if row.n_seeds > 1 else "")


def seed_spread(row: Row) -> str | None:
    """The tooltip of the headline F1: its SD over the seeds."""
    if row.mlqa_f1_std is None:
        return None
    return f"mean over {row.n_seeds} seeds, SD {row.mlqa_f1_std:.2f}"


COLUMNS: list[Column | PerKey] = [
    Column("rank", "#", kind="int"),
    Column("entry_id", "Entry", kind="text", page=False, show=False),
    Column("model", "Model", kind="entry", note=model_note),
    Column("revision", "Revision", kind="text", page=False, show=False),
    Column("mlqa_f1", "F1", group="MLQA", strong=True, title=seed_spread, show_label="MLQA F1"),
    Column("mlqa_em", "EM", group="MLQA", show_label="MLQA EM"),
    Column("mlqa_f1_std", "F1 SD", group="MLQA", page=False, show=False),
    PerKey("domains", "domain_f1", "f1_{}", "F1 per domain", show=False),
    PerKey("gap_domains", "domain_gap", "gap_{}", "F1 gap to general", kind="gap", show_label="gap {}"),
    Column("base_model", "Base", kind="text", group="run", detail=True),
    Column("intermediate_tasks", "Intermediate", kind="tasks", group="run", detail=True),
    Column("n_seeds", "Seeds", kind="int", group="run", detail=True, show=False),
    Column("source", "Produced by", kind="text", group="run", detail=True, show=False, value=produced_by),
    Column(
        "training_claims",
        "Training",
        kind="text",
        page=False,
        show=False,
        value=lambda row: row.entry.submission.model.training_claims,
    ),
    Column("submitter", "Submitter", kind="text", note=lambda row: row.date, group="run", detail=True),
    Column("date", "Date", kind="text", page=False, show=False),
    Column("harness_version", "Harness", kind="text", page=False, show=False),
    Column("n_configs", "Configs", kind="int", page=False, show=False),
    PerKey("languages", "language_f1", "f1_lang_{}", "MLQA F1 per language", show=False, detail=True),
]


View = Literal["all", "page", "show"]


def table_columns(table: KeyLists, view: View = "all") -> list[Column]:
    """The columns of ``table`` in order, families expanded; ``page``/``show`` keep that view's columns."""
    expanded: list[Column] = []
    for spec in COLUMNS:
        expanded += spec.columns(table) if isinstance(spec, PerKey) else [spec]
    if view == "all":
        return expanded
    return [c for c in expanded if getattr(c, view)]


def header_groups(columns: list[Column]) -> list[tuple[str, int, bool]]:
    """``(group, number of columns, behind the details toggle)`` for each run of neighbouring columns with
    the same group and visibility."""
    groups: list[tuple[str, int, bool]] = []
    for column in columns:
        if groups and groups[-1][0] == column.group and groups[-1][2] == column.detail:
            groups[-1] = (column.group, groups[-1][1] + 1, column.detail)
        else:
            groups.append((column.group, 1, column.detail))
    return groups


def row_json(row: Row) -> dict[str, Any]:
    """One row of leaderboard.json: every plain column, each family's dict, the per-config scores."""
    data = {spec.key: spec.read(row) for spec in COLUMNS if isinstance(spec, Column)}
    data.update(
        {spec.row_field: getattr(row, spec.row_field) for spec in COLUMNS if isinstance(spec, PerKey)}
    )
    data["configs"] = row.configs
    return data
