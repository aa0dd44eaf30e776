"""Result and record types shared by the engine, the CLI and the exporters.

Frozen dataclasses keep results hashable and safe to pass around; ``to_json`` methods
give the documented, stable JSON shapes (see README, "JSON output").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    """What the engine concludes about a combination against a resistance mechanism."""

    OVERCOMES = "overcomes"
    PARTIAL = "partial"
    MIXED = "mixed"
    DOES_NOT = "does-not"
    UNKNOWN = "unknown"


class Outcome(StrEnum):
    """Why a result came out as it did; "no answer" is an answer too."""

    OK = "ok"
    NO_PATH = "no-causal-path"
    RESISTANCE_NOT_RELEVANT = "resistance-does-not-impair-antibody"
    NO_MECHANISM = "resistance-has-no-mechanism"


@dataclass(frozen=True)
class Entity:
    """Anything with an identifier and a label."""

    iri: str
    label: str
    synonyms: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    xrefs: tuple[str, ...] = ()
    curie: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.curie or self.iri, "label": self.label, "synonyms": list(self.synonyms)}


@dataclass(frozen=True)
class Finding:
    """One curated statement with its provenance."""

    iri: str
    subject: str
    predicate: str
    object: str
    source: str
    section: str
    evidence_level: str
    note: str = ""
    magnitude: str = ""
    quantity: str = ""

    @property
    def is_negative(self) -> bool:
        """True when the source reports no effect (or does not know)."""
        return self.magnitude in ("none", "unknown")


@dataclass(frozen=True)
class Relation:
    """What the ontology says about a relation: its sign, direction and sentence."""

    iri: str
    label: str
    sign: int
    reverse: bool
    template: str
    tsv_name: str = ""
    aspect: str = ""

    @property
    def is_part_of(self) -> bool:
        """The unsigned subpopulation link: a change in the part is the same change in the whole."""
        return self.aspect == PART_OF

    @property
    def is_causal(self) -> bool:
        return self.sign != 0 or self.is_part_of


#: The aspect of the unsigned subpopulation relation (``cd38:causalAspect "part-of"``).
PART_OF = "part-of"


@dataclass(frozen=True)
class Support:
    """A finding behind one step, and how it reached this step when not stated for it:
    through a class the subject belongs to (``inherited_from``: extrapolated from the class)
    or from a molecule stated without a cell, applied to it in a cell (``context_from``)."""

    finding: Finding
    inherited_from: str = ""
    context_from: str = ""


@dataclass(frozen=True)
class Step:
    """One causal step of an explanation, read in causal order."""

    subject: Entity
    predicate: Relation
    object: Entity
    sign: int
    sentence: str
    supports: tuple[Support, ...]
    evidence_level: str
    weight: float
    counter: tuple[Support, ...] = ()
    role: str = ""
    mechanism: str = ""


@dataclass(frozen=True)
class Conflict:
    """Two statements the sources disagree on."""

    finding: Finding
    other: Finding
    note: str = ""


@dataclass
class ExplainResult:
    """The answer to "why should this combination counter this resistance mechanism?"."""

    combination: list[Entity]
    antibody: Entity
    partners: list[Entity]
    resistance: Entity
    verdict: Verdict
    outcome: Outcome
    message: str
    score: float
    score_breakdown: dict[str, Any]
    explanations: list[list[Step]] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    mechanisms: list[dict[str, Any]] = field(default_factory=list)
    #: steps the verdict rests on that are known for the agent only through its class
    extrapolated: list[dict[str, Any]] = field(default_factory=list)
    #: harm too small to make the verdict mixed, shown beside it
    caveats: list[dict[str, Any]] = field(default_factory=list)
    #: evidence rank of the weakest step of the partner's route (breaks ties between equal scores)
    evidence_rank: int = 0


@dataclass
class Hypothesis:
    """A ranked proposal: a partner (or an antibody switch) against a resistance mechanism."""

    partner: Entity
    antibody: Entity
    kind: str
    result: ExplainResult
    status: str
    equivalents: list[Entity] = field(default_factory=list)
    #: each equivalent's own answer (its own statements and evidence, identical in kind to the lead's)
    equivalent_results: list[ExplainResult] = field(default_factory=list)

    @property
    def score(self) -> float:
        return self.result.score


@dataclass
class ExpertAnswer:
    """One expert question, what the engine answered, and whether a specialist would sign it."""

    id: str
    kind: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "passed": self.passed, "problems": self.problems,
                "reason": self.reason}
