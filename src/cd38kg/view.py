"""What the layers above the engine (hypotheses, profiles, the expert set, exporters) may ask of
a loaded knowledge base.

They are typed against this protocol, not against :class:`cd38kg.kb.KnowledgeBase`, so the
facade stays on top: it imports them, they never import it, and the package has no import cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rdflib import Dataset

    from .engine.explain import Engine
    from .engine.scoring import ScoringWeights
    from .knowledge.facts import Claim, Facts
    from .knowledge.names import NameIndex
    from .model import Entity, ExplainResult, Hypothesis


class KnowledgeView(Protocol):
    """A loaded knowledge base: its facts, names, claims and the engine over them."""

    @property
    def facts(self) -> Facts: ...

    @property
    def names(self) -> NameIndex: ...

    @property
    def claims(self) -> list[Claim]: ...

    @property
    def dataset(self) -> Dataset: ...

    def engine(self, weights: ScoringWeights | None = None, without: Iterable[str] = ()) -> Engine: ...

    def entity(self, name: str, kind: str | None = None, role: str | None = None) -> Entity: ...

    def entity_of(self, iri: str) -> Entity: ...

    def explain(self, combination: str | Sequence[str], resistance: str, antibody: str | None = None,
                without: Iterable[str] = (), weights: ScoringWeights | None = None) -> ExplainResult: ...

    def hypotheses(self, resistance: str, antibody: str | None = None, top: int | None = 10,
                   without: Iterable[str] = (), weights: ScoringWeights | None = None) -> list[Hypothesis]: ...
