"""The documented JSON shapes of results (README, "JSON output"); stable across versions.

The shapes are written down as a JSON Schema shipped with the package
(``cd38kg/schemas/answers.schema.json``), so other tools can check what they receive and the
tests hold every answer to it.
"""

from __future__ import annotations

from typing import Any

from .model import Conflict, ExplainResult, Hypothesis, Step, Support


def support_json(support: Support) -> dict[str, Any]:
    finding = support.finding
    return {
        "finding": finding.iri,
        "doi": finding.source.removeprefix("https://doi.org/"),
        "source": finding.source,
        "section": finding.section,
        "evidence_level": finding.evidence_level.rsplit("#", 1)[-1],
        "note": finding.note,
        "magnitude": finding.magnitude or None,
        "quantity": finding.quantity or None,
        "inherited_from": support.inherited_from or None,
        "context_from": support.context_from or None,
    }


def step_json(step: Step) -> dict[str, Any]:
    return {
        "subject": step.subject.to_json(),
        "predicate": {"id": step.predicate.iri, "label": step.predicate.label},
        "object": step.object.to_json(),
        "sign": step.sign,
        "sentence": step.sentence,
        "sources": [support_json(s) for s in step.supports],
        "evidence_level": step.evidence_level,
        "weight": step.weight,
        "counter_evidence": [support_json(s) for s in step.counter],
        "role": step.role,
        "mechanism": step.mechanism,
    }


def conflict_json(conflict: Conflict) -> dict[str, Any]:
    return {
        "statement": support_json(Support(conflict.finding)),
        "disputed_by": support_json(Support(conflict.other)),
        "note": conflict.note,
    }


def explain_json(result: ExplainResult) -> dict[str, Any]:
    return {
        "combination": [e.to_json() for e in result.combination],
        "antibody": result.antibody.to_json(),
        "partners": [e.to_json() for e in result.partners],
        "resistance": result.resistance.to_json(),
        "verdict": result.verdict.value,
        "outcome": result.outcome.value,
        "message": result.message,
        "score": result.score,
        "score_breakdown": result.score_breakdown,
        "mechanisms": result.mechanisms,
        "extrapolated": bool(result.extrapolated),
        "extrapolated_steps": result.extrapolated,
        "caveats": result.caveats,
        "explanations": [[step_json(s) for s in steps] for steps in result.explanations],
        "conflicts": [conflict_json(c) for c in result.conflicts],
    }


def hypothesis_json(hyp: Hypothesis, rank: int) -> dict[str, Any]:
    return {
        "rank": rank,
        "partner": hyp.partner.to_json(),
        "antibody": hyp.antibody.to_json(),
        "kind": hyp.kind,
        "score": hyp.score,
        "score_breakdown": hyp.result.score_breakdown,
        "verdict": hyp.result.verdict.value,
        "status": hyp.status,
        "extrapolated": bool(hyp.result.extrapolated),
        "equivalents": [e.to_json() for e in hyp.equivalents],
        "equivalents_evidence": [{"agent": e.to_json(), "entries": [m.get("entry") for m in r.mechanisms],
                                  "extrapolated_steps": r.extrapolated}
                                 for e, r in zip(hyp.equivalents, hyp.equivalent_results, strict=True)],
        "mechanisms": hyp.result.mechanisms,
        "explanation": explain_json(hyp.result),
    }


def hypotheses_json(resistance: Any, antibody: Any, hypotheses: list[Hypothesis]) -> dict[str, Any]:
    return {
        "resistance": resistance.to_json(),
        "antibody": antibody.to_json() if antibody is not None else None,
        "hypotheses": [hypothesis_json(h, i) for i, h in enumerate(hypotheses, 1)],
    }


ANSWER_KINDS = ("explain", "hypotheses", "hypothesis", "profile")


def answer_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one kind of answer (explain, hypotheses, hypothesis, profile)."""
    import json
    from importlib import resources

    if kind not in ANSWER_KINDS:
        raise ValueError(f"unknown answer kind {kind!r}; known: {', '.join(ANSWER_KINDS)}")
    text = resources.files("cd38kg").joinpath("schemas/answers.schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    return {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{kind}"}
