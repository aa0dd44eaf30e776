"""Patient profiles: from a patient's features to the resistance mechanisms likely active and
the combinations that address them together.

Which feature value points to which resistance mechanism is knowledge, not code: each
patient factor in ``ontology/patients.ttl`` names its YAML key and value
(``cd38:profileFeature`` / ``cd38:profileValue``), and ``cd38:indicates`` findings link it,
with provenance, to a resistance mechanism. This module only reads the YAML, matches it
against those factors and combines the engine's answers per mechanism.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Cd38kgError
from ..knowledge.names import normalize
from ..model import Entity, Verdict
from ..store import read_text
from ..vocab import CD38
from .graph import statement_index
from .hypotheses import HELPFUL, PROPOSALS, candidate_partners, claimed, default_antibody

if TYPE_CHECKING:
    from ..view import KnowledgeView

#: The YAML format: key -> (kind, allowed values). Lists hold drug names or cytogenetic lesions.
FEATURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "patient": ("text", ()),
    "antibody": ("agent", ()),
    "cd38_level": ("choice", ("low", "normal", "high")),
    "cd55_cd59": ("choice", ("normal", "high")),
    "cd47": ("choice", ("normal", "high")),
    "hla_e": ("choice", ("normal", "high")),
    "pd_l1": ("choice", ("normal", "high")),
    "lag3_tigit": ("choice", ("normal", "high")),
    "soluble_cd38": ("choice", ("detected", "not detected")),
    "anti_drug_antibodies": ("choice", ("detected", "not detected")),
    "nk_to_mm_ratio": ("choice", ("low", "normal", "high")),
    "monocyte_to_mm_ratio": ("choice", ("low", "normal", "high")),
    "fcgr3a_158": ("choice", ("V/V", "V/F", "F/F")),
    "fcgr2a_131": ("choice", ("H/H", "H/R", "R/R")),
    "fcgr2b_232": ("choice", ("I/I", "I/T", "T/T")),
    "cd28_on_t_cells": ("choice", ("low", "normal", "high")),
    "central_memory_t_cells": ("choice", ("low", "normal", "high")),
    "m1_macrophage_signature": ("choice", ("absent", "present")),
    "cd38_treg_count": ("choice", ("low", "normal", "high")),
    "cytogenetics": ("lesions", ("del(17p)", "t(4;14)", "t(14;16)", "gain(1q21)", "GEP70-high")),
    "prior_therapies": ("agents", ()),
    "refractory_to": ("agents", ()),
    "months_since_last_anti_cd38": ("number", ()),
}


@dataclass
class ActiveMechanism:
    """A resistance mechanism the profile points to, with why."""

    resistance: Entity
    weight: float
    reasons: list[dict[str, Any]]
    #: a finding of at least equal evidence says the patient factor does not point here
    contested: bool = False


@dataclass
class ProfileResult:
    """What a profile implies: active mechanisms, ranked combinations, caveats."""

    patient: str
    antibody: Entity | None
    active: list[ActiveMechanism]
    combinations: list[dict[str, Any]]
    caveats: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "patient": self.patient,
            "antibody": self.antibody.to_json() if self.antibody else None,
            "active_mechanisms": [{"resistance": a.resistance.to_json(), "weight": round(a.weight, 4),
                                   "contested": a.contested, "reasons": a.reasons} for a in self.active],
            "combinations": self.combinations,
            "caveats": self.caveats,
        }


#: A profile is a short flat mapping: anything larger or deeper is not one.
MAX_PROFILE_BYTES = 256 * 2**10
MAX_PROFILE_DEPTH = 8


def read_profile(path: Path) -> dict[str, Any]:
    """Parse and check a profile YAML file (unknown keys or values are errors)."""
    import yaml

    text = read_text(path, limit=MAX_PROFILE_BYTES)
    try:
        data = _load_yaml(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise Cd38kgError(f"{path}{line}: bad YAML: {getattr(err, 'problem', None) or err}") from None
    if not isinstance(data, dict):
        raise Cd38kgError(f"{path}: a profile is a YAML mapping of features, e.g. 'cd38_level: low'")
    lines = {m.group(1): n for n, line in enumerate(text.splitlines(), 1) if (m := re.match(r"^(\w+)\s*:", line))}
    for key, value in data.items():
        where = f"{path}:{lines.get(str(key), '?')}"
        if key not in FEATURES:
            raise Cd38kgError(f"{where}: unknown profile key {key!r}; valid keys: {', '.join(FEATURES)}")
        kind, allowed = FEATURES[key]
        if value is None:
            continue
        if kind in ("agents", "lesions"):
            if not isinstance(value, list) or any(isinstance(v, list | dict) for v in value):
                raise Cd38kgError(f"{where}: {key} must be a list of names, e.g. "
                                  f"[{allowed[0] if allowed else 'lenalidomide'}]")
            if kind == "lesions":
                bad = [v for v in value if normalize(str(v)) not in {normalize(a) for a in allowed}]
                if bad:
                    raise Cd38kgError(f"{where}: unknown lesion {bad[0]!r} in {key}; use {', '.join(allowed)}")
        elif isinstance(value, list | dict):
            raise Cd38kgError(f"{where}: {key} must be a single value, not a {'list' if isinstance(value, list) else 'mapping'}")
        if kind == "choice" and normalize(str(value)) not in {normalize(a) for a in allowed}:
            raise Cd38kgError(f"{where}: {key} must be one of {', '.join(allowed)} (got {value!r})")
        if kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
            raise Cd38kgError(f"{where}: {key} must be a non-negative number (got {value!r})")
    return data


def _load_yaml(text: str) -> Any:
    """Safe YAML without the parts that let a few bytes cost gigabytes or crash the parser.

    Anchors and aliases are refused (an alias "bomb" expands exponentially), nesting is
    bounded before anything is built (PyYAML builds nested values recursively), and keys
    must be unique text and numbers finite.
    """
    import yaml

    def refuse(problem: str, mark: Any) -> yaml.MarkedYAMLError:
        return yaml.MarkedYAMLError(problem=problem, problem_mark=mark)

    class ProfileLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, str):
                    raise refuse(f"keys must be text, not {key!r}", key_node.start_mark)
                if key in seen:
                    raise refuse(f"duplicate key {key!r}", key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep)

        def construct_finite_float(self, node: Any) -> float:
            value = self.construct_yaml_float(node)
            if not math.isfinite(value):
                raise refuse(f"{node.value!r} is not a finite number", node.start_mark)
            return value

    ProfileLoader.add_constructor("tag:yaml.org,2002:float", ProfileLoader.construct_finite_float)

    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise refuse("anchors and aliases (& and *) are not accepted in a profile", event.start_mark)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_PROFILE_DEPTH:
                raise refuse(f"nested more than {MAX_PROFILE_DEPTH} levels deep", event.start_mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return yaml.load(text, Loader=ProfileLoader)  # noqa: S506 (a SafeLoader subclass)


def _matches(kb: KnowledgeView, feature: str, expected: str, value: Any) -> bool:
    kind = FEATURES[feature][0]
    if kind == "number":
        match = re.fullmatch(r"\s*(<=|>=|<|>|=)?\s*([0-9.]+)\s*", expected)
        if not match:
            return False
        op, bound = match.group(1) or "=", float(match.group(2))
        return {"<": value < bound, "<=": value <= bound, ">": value > bound, ">=": value >= bound,
                "=": value == bound}[op]
    if kind == "agents":
        cls = kb.entity(expected)
        for name in value:
            agent = kb.entity(str(name), kind="agent", role="drug")
            if agent.iri == cls.iri or cls.iri in agent.types:
                return True
        return False
    if kind == "lesions":
        return normalize(expected) in {normalize(str(v)) for v in value}
    return normalize(str(value)) in {normalize(v) for v in expected.split("|")}


def assess_profile(kb: KnowledgeView, data: dict[str, Any], top: int = 10) -> ProfileResult:
    """Active resistance mechanisms (with why) and the combinations that address them together."""
    facts = kb.facts
    engine = kb.engine()
    for key in ("prior_therapies", "refractory_to"):
        for name in data.get(key) or []:
            kb.entity(str(name), kind="agent", role="drug")  # unknown drugs fail early with suggestions
    factors = [e for e in facts.entities.values() if CD38.PatientFactor in e.types]
    annotations = _profile_annotations(kb)
    index = statement_index(facts)
    active: dict[str, ActiveMechanism] = {}
    caveats: list[dict[str, Any]] = []
    for factor in sorted(factors, key=lambda e: e.iri):
        feature, expected = annotations.get(factor.iri, ("", ""))
        if not feature or data.get(feature) is None:
            continue
        if not _matches(kb, feature, expected, data[feature]):
            continue
        for (s, p, o), supports in sorted(index.items()):
            if s != factor.iri or p != CD38.indicates:
                continue
            against = max((facts.evidence_rank.get(x.finding.evidence_level, 0) for x in supports
                           if x.finding.is_negative), default=-1)
            for support in supports:
                finding = support.finding
                cite = {"finding": finding.iri, "doi": finding.source.removeprefix("https://doi.org/"),
                        "section": finding.section, "evidence_level": facts.evidence_label.get(finding.evidence_level, "")}
                if finding.is_negative:
                    caveats.append({"about": kb.entity_of(o).label, "note": finding.note, **cite})
                    continue
                # Stronger (or equal) evidence that the factor does not point here contests it.
                contested = against >= facts.evidence_rank.get(finding.evidence_level, 0)
                weight = engine.weights.evidence.get(cite["evidence_level"], 0.3) * \
                    engine.weights.magnitude.get(finding.magnitude, 1.0) * (engine.weights.contested if contested else 1.0)
                item = active.setdefault(o, ActiveMechanism(kb.entity_of(o), 0.0, []))
                item.weight = max(item.weight, weight)
                item.reasons.append({"factor": factor.label, "value": data[feature], "note": finding.note,
                                     "contested": contested, **cite})
                item.contested = all(reason["contested"] for reason in item.reasons)
                for other, note in facts.conflicts.get(finding.iri, []):
                    caveats.append({"about": factor.label, "note": note, "finding": other})
    antibody = kb.entity(str(data["antibody"]), kind="antibody", role="anti-CD38 antibody") \
        if data.get("antibody") else None
    ordered = sorted(active.values(), key=lambda a: (-a.weight, a.resistance.label))
    if antibody is None and ordered:
        chosen = default_antibody(kb, engine, ordered[0].resistance.iri)
        antibody = kb.entity_of(chosen) if chosen else None
    combinations = _rank_combinations(kb, antibody, ordered, data, top) if antibody else []
    caveats += _retreatment_caveats(kb, data)
    return ProfileResult(str(data.get("patient") or "patient"), antibody, ordered, combinations, caveats)


def _profile_annotations(kb: KnowledgeView) -> dict[str, tuple[str, str]]:
    from ..knowledge.facts import select

    rows = select(kb.dataset, """SELECT ?f ?feature ?value WHERE {
        ?f cd38:profileFeature ?feature ; cd38:profileValue ?value }""")
    return {f: (feature, value) for f, feature, value in rows}


def _rank_combinations(kb: KnowledgeView, antibody: Entity, active: list[ActiveMechanism], data: dict[str, Any],
                       top: int) -> list[dict[str, Any]]:
    from ..serialize import explain_json
    from .explain import Explainer

    engine = kb.engine()
    explainer = Explainer(engine, kb.entity_of)
    refractory = [kb.entity(str(n), kind="agent") for n in data.get("refractory_to") or []]

    therapeutic = kb.facts.therapeutic_classes
    # The score is the weighted mean of the per-mechanism scores, so it stays in [0, 1].
    weights = sum(item.weight for item in active) or 1.0
    rows = []
    for partner in candidate_partners(kb, engine):
        entity = kb.entity_of(partner)
        per: dict[str, Any] = {}
        total = 0.0
        addressed = 0
        own_evidence = False
        for item in active:
            result = explainer.explain(antibody, [entity], item.resistance, [antibody, entity])
            per[item.resistance.label] = {"verdict": result.verdict.value, "score": result.score,
                                          "answer": explain_json(result)}
            if result.verdict in HELPFUL:
                inherited = {step["subject"] for step in result.extrapolated}
                own_evidence = own_evidence or entity.curie not in inherited
                per[item.resistance.label]["extrapolated"] = entity.curie in inherited
            if result.verdict in HELPFUL:
                per[item.resistance.label]["status"] = \
                    "reported" if claimed(kb, item.resistance.iri, partner, PROPOSALS) else "novel"
            if result.verdict in HELPFUL and result.score > 0:
                addressed += 1
                total += item.weight * result.score
            if result.verdict is Verdict.DOES_NOT:
                total -= item.weight * abs(result.score)
        if addressed == 0:
            continue
        notes = []
        for drug in refractory:
            shared = [kb.facts.label(c) for c in sorted(set(drug.types) & set(entity.types) & therapeutic)]
            if drug.iri == partner:
                notes.append(f"patient is refractory to {drug.label}")
            elif shared:
                notes.append(f"patient is refractory to {drug.label} (also {', '.join(shared)})")
        rows.append({"partner": entity.to_json(), "addresses": addressed, "of": len(active),
                     "extrapolated": not own_evidence,
                     "score": round(max(0.0, total) / weights, 4), "per_mechanism": per, "notes": notes})
    # More mechanisms addressed first; among agents addressing as many, those whose help rests on
    # evidence of their own before those whose help is extrapolated from their class; then the score.
    rows.sort(key=lambda r: (-r["addresses"], r["extrapolated"], -r["score"], r["partner"]["label"].casefold()))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows[:top]


def _retreatment_caveats(kb: KnowledgeView, data: dict[str, Any]) -> list[dict[str, Any]]:
    """What the reviews observed on retreatment after a treatment-free interval."""
    months = data.get("months_since_last_anti_cd38")
    if months is None:
        return []
    from ..knowledge.facts import select

    rows = select(kb.dataset, """SELECT ?arm ?label ?note ?src ?sec WHERE {
        ?arm a cd38:TrialArm ; rdfs:label ?label ; cd38:section ?sec ; cd38:source ?src .
        OPTIONAL { ?arm rdfs:comment ?note }
        FILTER(CONTAINS(LCASE(?sec), "retreatment")) }""")
    head = {"about": "treatment-free interval",
            "note": (f"last anti-CD38 dose {months} months ago: CD38 and CD55/CD59 on myeloma cells return to "
                     "baseline 4-6 months after stopping daratumumab, so an interval of that length argues for "
                     "retreatment; the best strategy (continuation or interval) is unknown.")}
    facts = kb.facts
    cite = next((f for f in facts.findings if f.iri.endswith("f-pf-recent-cd38")), None)
    if cite is not None:
        head.update({"finding": cite.iri, "doi": cite.source.removeprefix("https://doi.org/"), "section": cite.section})
    out = [head]
    for arm, label, note, src, sec in sorted(set(rows)):
        out.append({"about": "retreatment", "note": f"{label}: {note}", "finding": arm,
                    "doi": src.removeprefix("https://doi.org/"), "section": sec})
    return out


__all__ = ["FEATURES", "ProfileResult", "assess_profile", "read_profile"]
