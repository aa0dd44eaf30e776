"""The expert question set: questions a myeloma specialist answered from the reviews, put to
the engine.

Recall of the reviews' own proposals says whether the engine *finds* what the literature
suggests; the expert set says whether its verdicts are ones a specialist would sign:
compensation kept apart from restoration, neutralised antibodies not rescued downstream,
class-only knowledge marked as extrapolated, cell-therapy products told apart. The
questions were written blind to the engine's answers; a disagreement is settled by
re-reading the source, never by editing an expectation to match the engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Cd38kgError
from ..model import ExpertAnswer
from ..resources import expert_questions_file

if TYPE_CHECKING:
    from ..model import Entity, Hypothesis
    from ..view import KnowledgeView


def load_questions(path: Path | None = None) -> list[dict[str, Any]]:
    """The expert questions (a YAML list of mappings, each with an ``id`` and a ``kind``)."""
    import yaml

    source = path or expert_questions_file()
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    if not isinstance(data, list) or not all(isinstance(q, dict) and "id" in q and "kind" in q for q in data):
        raise Cd38kgError(f"{source}: expert questions must be a list of mappings with 'id' and 'kind'")
    return data


def ask(kb: KnowledgeView, question: dict[str, Any]) -> ExpertAnswer:
    """Put one question to the engine and check its answer against the expectation."""
    kind = question["kind"]
    handler = {"explain": _explain, "hypotheses": _hypotheses, "profile": _profile}.get(kind)
    if handler is None:
        raise Cd38kgError(f"expert question {question['id']}: unknown kind {kind!r}")
    problems = handler(kb, question)
    return ExpertAnswer(question["id"], kind, not problems, problems, question.get("reason", ""))


def ask_all(kb: KnowledgeView, questions: list[dict[str, Any]] | None = None) -> list[ExpertAnswer]:
    return [ask(kb, q) for q in (questions if questions is not None else load_questions())]


def _explain(kb: KnowledgeView, q: dict[str, Any]) -> list[str]:
    result = kb.explain(q["combination"], q["resistance"])
    problems = []
    expected = q.get("expect_verdict") or []
    if expected and result.verdict.value not in expected:
        problems.append(f"verdict {result.verdict.value}, expected {' or '.join(expected)}")
    if "expect_extrapolated" in q and bool(result.extrapolated) != bool(q["expect_extrapolated"]):
        problems.append(f"extrapolated is {bool(result.extrapolated)}, expected {bool(q['expect_extrapolated'])}")
    return problems


def _names(kb: KnowledgeView, names: list[str]) -> list[Entity]:
    return [kb.entity(str(n)) for n in names or []]


def _proposed(hypotheses: list[Hypothesis]) -> dict[str, Hypothesis]:
    """Every agent a ranked list proposes (leads and their equivalents), with its hypothesis."""
    out: dict[str, Hypothesis] = {}
    for hyp in hypotheses:
        for entity in (hyp.partner, *hyp.equivalents):
            out.setdefault(entity.iri, hyp)
    return out


def _members(kb: KnowledgeView, entity: Entity) -> set[str]:
    """An agent, or the members of a class named as one."""
    return set(kb.facts.members.get(entity.iri, ())) | {entity.iri}


def _hypotheses(kb: KnowledgeView, q: dict[str, Any]) -> list[str]:
    from ..model import Verdict

    top = int(q.get("top", 10))
    ranked = kb.hypotheses(q["resistance"], antibody=q.get("antibody"), top=top)
    proposed = _proposed(ranked)
    problems = []
    for entity in _names(kb, q.get("must_propose")):
        if not _members(kb, entity) & set(proposed):
            problems.append(f"{entity.label} is not proposed in the top {top}")
    for entity in _names(kb, q.get("must_not_propose")):
        if _members(kb, entity) & set(proposed):
            problems.append(f"{entity.label} is proposed in the top {top}")
    antibody = q.get("antibody")
    for entity in _names(kb, q.get("must_not_overcome")):
        hyp = proposed.get(entity.iri)
        if hyp is not None and hyp.result.verdict is Verdict.OVERCOMES:
            problems.append(f"{entity.label} is proposed as overcoming {q['resistance']}")
        elif hyp is None and antibody and entity.iri != kb.entity(antibody).iri:
            result = kb.explain([antibody, entity.label], q["resistance"], antibody=antibody)
            if result.verdict is Verdict.OVERCOMES:
                problems.append(f"{antibody} + {entity.label} is called overcoming {q['resistance']}")
    return problems


def _profile(kb: KnowledgeView, q: dict[str, Any]) -> list[str]:
    from .profile import assess_profile

    top = int(q.get("top", 10))
    result = assess_profile(kb, dict(q["profile"]), top=top)
    partners = {row["partner"]["id"] for row in result.combinations}
    labels = {kb.entity(p).iri for p in partners}
    problems = []
    for entity in _names(kb, q.get("must_propose")):
        if not _members(kb, entity) & labels:
            problems.append(f"{entity.label} is not among the profile's top {top} combinations")
    for entity in _names(kb, q.get("must_not_propose")):
        if _members(kb, entity) & labels:
            problems.append(f"{entity.label} is among the profile's top {top} combinations")
    active = {a.resistance.iri for a in result.active}
    for entity in _names(kb, q.get("expect_active")):
        if entity.iri not in active:
            problems.append(f"{entity.label} is not flagged as active")
    return problems


__all__ = ["ExpertAnswer", "ask", "ask_all", "load_questions"]
