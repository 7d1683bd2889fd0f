"""Route each context language to its own labeler (e.g. a trained English domain head, prototypes
elsewhere)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlqa_domain.errors import ConfigError
from mlqa_domain.labeling.ensemble import Labeling, RuleLabeler

DEFAULT_ROUTE = "other"


@dataclass
class Route:
    """The labeler of some languages (``languages`` None: every language no other route claims)."""

    languages: tuple[str, ...] | None
    labeler: RuleLabeler

    @property
    def key(self) -> str:
        """``en`` / ``de,es`` or ``other``."""
        return ",".join(self.languages) if self.languages else DEFAULT_ROUTE


class RoutedLabeler:
    """Labels a language with the route that claims it; provenance says which route labelled a row."""

    name = "routed"

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = list(routes)

    def route_for(self, language: str) -> Route:
        """The route that labels ``language``."""
        fallback = None
        for route in self.routes:
            if route.languages is None:
                fallback = route
            elif language in route.languages:
                return route
        if fallback is None:
            claimed = ", ".join(r.key for r in self.routes)
            raise ConfigError(f"no classifier labels language {language!r} (routes: {claimed})")
        return fallback

    @property
    def classifiers(self) -> list:
        """Every classifier of every route (the default route's first)."""
        ordered = sorted(self.routes, key=lambda r: r.languages is not None)
        return [c for route in ordered for c in route.labeler.classifiers]

    def prepare(
        self, texts: Sequence[str], language: str, titles: Sequence[str | None] | None = None
    ) -> None:
        """Let the route of ``language`` see ``texts`` before they are labelled in parts."""
        self.route_for(language).labeler.prepare(texts, language, titles)

    def label(
        self, texts: Sequence[str], language: str, titles: Sequence[str | None] | None = None
    ) -> list[Labeling]:
        """Labels from the route of ``language``."""
        return self.route_for(language).labeler.label(texts, language, titles)

    def provenance(self, language: str | None = None) -> dict[str, Any]:
        """The route's provenance (with its key) for ``language``; all routes when None."""
        if language is not None:
            route = self.route_for(language)
            return {**route.labeler.provenance(), "route": route.key}
        return {"labeler": "routed", "routes": {r.key: r.labeler.provenance() for r in self.routes}}
