"""Ranked hypotheses against a resistance mechanism, and the engine's score against the literature.

Every agent in the knowledge base is tried as a partner of each anti-CD38 antibody (or of
the one asked for); each anti-CD38 antibody is also tried as a *switch*: an antibody that
relies less on what the resistance takes away, or that itself restores it. Hypotheses are
labelled ``reported`` when a review proposes them (the literature-claims graph, read only
here and in :func:`evaluate`) and ``novel`` otherwise. Agents are grouped only when they
are true equivalents: of the same therapeutic class, acting through the same statements in
the same cell contexts with the same evidence (e.g. IMiDs known only through class-level
facts); each is listed with its own evidence. Ranks follow the shown score exactly; ties
go to the better-evidenced route, then to the name.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field
from math import inf
from typing import TYPE_CHECKING, Any

from ..knowledge.names import curie
from ..model import Entity, ExpertAnswer, ExplainResult, Hypothesis, Outcome, Verdict
from ..vocab import CD38, KB, OWL, RDF, RDFS, XSD
from .explain import Engine, Explainer, Judgement, MechanismAssessment, entry_of, score_of

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..knowledge.facts import Claim
    from ..view import KnowledgeView

HELPFUL = (Verdict.OVERCOMES, Verdict.PARTIAL, Verdict.MIXED)
#: Claim kinds that propose a strategy (as opposed to reporting that it fails).
PROPOSALS = ("counters", "switch")


def candidate_partners(kb: KnowledgeView, engine: Engine) -> list[str]:
    """Agents other than anti-CD38 antibodies that have at least one causal edge."""
    return sorted(a for a in engine.agents - engine.antibodies if engine.paths.successors(a))


def reachable_partners(kb: KnowledgeView, engine: Engine, antibody: str, resistance: str) -> list[str]:
    """The candidate partners with a causal path, within the path limit, to a mechanism the
    resistance impairs for the antibody: only they can help, so only they are explained.

    Found by walking back from the impaired mechanisms through the biology (no agent but an
    anti-CD38 antibody, no resistance or patient factor on the way: at least every route a
    partner's own paths may take) instead of searching from every agent; the distances are
    the ones the partners' searches reuse.
    """
    impaired, _ = engine.impairments(antibody, resistance)
    reach: set[str] = set()
    for item in impaired:
        reach.update(engine.paths.distances_to(item.mechanism, engine.weights.max_path_length, engine.path_bound))
    return [a for a in candidate_partners(kb, engine) if a in reach]


def antibodies_with_mechanisms(engine: Engine) -> list[str]:
    """Anti-CD38 antibodies whose mechanisms of action the knowledge base records."""
    return sorted(a for a in engine.antibodies if engine.reliance(a))


def claimed(kb: KnowledgeView, resistance: str, agent: str, kinds: tuple[str, ...]) -> list[Claim]:
    """Claims of the given kinds that propose ``agent`` (or a class it belongs to) against ``resistance``."""
    entity = kb.facts.entities.get(agent)
    types = set(entity.types) if entity else set()
    return [c for c in kb.claims if c.against == resistance and c.kind in kinds
            and (c.strategy == agent or c.strategy in types)]


def default_antibody(kb: KnowledgeView, engine: Engine, resistance: str) -> str | None:
    """The antibody to ask about when none is given: among the clinical antibodies the
    resistance impairs, the best characterised one (most findings of its own).

    That is daratumumab for most mechanisms, MOR202 for anti-drug antibodies (the only
    antibody they were seen with). Next-generation (Fc-engineered) antibodies are
    candidates to switch to, not the antibody a patient is failing on.
    """
    clinical = [a for a in antibodies_with_mechanisms(engine)
                if not kb.facts.is_a(a, CD38.FcEngineeredAntibody) and engine.impairments(a, resistance)[0]]
    if not clinical:
        return None
    return min(clinical, key=lambda a: (-engine.own_findings[a], kb.facts.label(a).casefold()))


def rank_hypotheses(kb: KnowledgeView, resistance: Entity, antibody: Entity | None = None, top: int | None = 10,
                    engine: Engine | None = None, prune: bool = True) -> list[Hypothesis]:
    """Partners and antibody switches against ``resistance``, best first.

    Without an antibody, the question is asked for the clinical antibody the resistance
    hurts most (e.g. daratumumab for complement-inhibitor upregulation). Only partners that
    can reach an impaired mechanism are explained (:func:`reachable_partners`), those with the
    best score bound (:meth:`Engine.score_bounds`) first, and only while the bound can still
    reach the ``top`` shown; ``prune=False`` explains every agent, the same answers the slow
    way (kept to check that).
    """
    engine = engine or kb.engine()
    explainer = Explainer(engine, kb.entity_of)
    if antibody is None:
        chosen = default_antibody(kb, engine, resistance.iri)
        if chosen is None:
            return []
        antibody = kb.entity_of(chosen)
    ab = antibody.iri
    switches = switch_hypotheses(kb, engine, resistance, antibody)
    cutoff = Cutoff(top, [round(s.result.score, 4) for s in switches])
    partners = reachable_partners(kb, engine, ab, resistance.iri) if prune else candidate_partners(kb, engine)
    bounds = engine.score_bounds(ab, resistance.iri, partners) if prune and top else None
    helpful: dict[str, Candidate] = {}
    for partner in sorted(partners, key=lambda p: -bounds[p]) if bounds else partners:
        if bounds and bounds[partner] < cutoff.threshold:
            break  # the bounds only fall from here: no later partner can be shown
        judged = engine.judge(ab, [partner], resistance.iri)
        if judged.verdict in HELPFUL and judged.score > 0:
            entity = kb.entity_of(partner)
            helpful[partner] = Candidate(entity, antibody, judged, _equivalence_class(kb, engine, entity, antibody, judged))
            cutoff.add(helpful[partner])
    # In the partners' own order, as without bounds: it breaks ties the sort leaves (equal labels).
    candidates = [helpful[p] for p in partners if p in helpful]
    ranked: list[Candidate | Hypothesis] = [*_group_equivalents(candidates), *switches]
    ranked.sort(key=sort_key)
    # Only the hypotheses shown are put into words.
    return [_worded(kb, explainer, item, resistance) if isinstance(item, Candidate) else item
            for item in (ranked[:top] if top else ranked)]


@dataclass
class Candidate:
    """A helpful partner judged but not yet put into words, with the true equivalents it leads."""

    partner: Entity
    antibody: Entity
    judged: Judgement
    #: what it shares with its true equivalents (:func:`_equivalence_class`); None: it stands alone
    equivalence: tuple[Any, ...] | None = None
    equivalents: list[Candidate] = field(default_factory=list)

    @property
    def rank_key(self) -> tuple[float, int]:
        return (-round(self.judged.score, 4), -self.judged.evidence_rank)


class Cutoff:
    """The score a partner must reach to be among the ``top`` hypotheses so far: the top-th
    best score of the items ranked, each group of true equivalents counted once (it is listed
    once). It only rises as candidates are added, so a partner whose score bound lies below it
    can never be shown, nor be an equivalent of one that is (equivalents share their score)."""

    def __init__(self, top: int | None, scores: Iterable[float]) -> None:
        self._top = top
        self._best: list[float] = []  # a heap of the top best scores
        self._classes: set[tuple[Any, ...]] = set()
        for score in scores:
            self._push(score)

    def add(self, candidate: Candidate) -> None:
        """Count a helpful partner, unless a true equivalent of it was counted."""
        if candidate.equivalence is not None:
            if candidate.equivalence in self._classes:
                return
            self._classes.add(candidate.equivalence)
        self._push(round(candidate.judged.score, 4))

    def _push(self, score: float) -> None:
        if not self._top:
            return
        if len(self._best) < self._top:
            heapq.heappush(self._best, score)
        elif score > self._best[0]:
            heapq.heapreplace(self._best, score)

    @property
    def threshold(self) -> float:
        """The top-th best score, or -inf while fewer items are ranked (or all are shown)."""
        return self._best[0] if self._top and len(self._best) == self._top else -inf


def _worded(kb: KnowledgeView, explainer: Explainer, lead: Candidate, resistance: Entity) -> Hypothesis:
    """The hypothesis as shown: the lead's and each equivalent's full answer, and whether a
    review proposes any of them."""
    def answer(candidate: Candidate) -> ExplainResult:
        return explainer.explain(candidate.antibody, [candidate.partner], resistance,
                                 [candidate.antibody, candidate.partner])

    members = [lead, *lead.equivalents]
    reported = any(claimed(kb, resistance.iri, m.partner.iri, PROPOSALS) for m in members)
    return Hypothesis(lead.partner, lead.antibody, "combination", answer(lead), "reported" if reported else "novel",
                      equivalents=[m.partner for m in lead.equivalents],
                      equivalent_results=[answer(m) for m in lead.equivalents])


def sort_key_of(result: ExplainResult) -> tuple[float, int]:
    """Score first (as shown), then the evidence of the route's weakest step."""
    return (-round(result.score, 4), -result.evidence_rank)


def sort_key(hyp: Hypothesis | Candidate) -> tuple[Any, ...]:
    """Ranks follow the shown score exactly; ties go to better evidence, then to the name."""
    first = hyp.rank_key if isinstance(hyp, Candidate) else sort_key_of(hyp.result)
    return (*first, hyp.partner.label.casefold(), hyp.antibody.label.casefold())


def _therapeutic_class(kb: KnowledgeView, entity: Entity) -> str:
    """The agent's therapeutic class (IMiD, retinoid, ...), or "" when it has none."""
    classes = sorted(set(entity.types) & kb.facts.therapeutic_classes)
    return classes[0] if len(classes) == 1 else ""


def _route_signature(engine: Engine, judged: Judgement) -> tuple[Any, ...]:
    """What a partner does, without naming the partner: per mechanism, its status and the
    statement through which it enters the biology, with that statement's evidence."""
    return tuple((a.mechanism, a.status, tuple(sorted((entry_of(engine.idea_path(a)) or {}).items())))
                 for a in judged.ordered)


def _equivalence_class(kb: KnowledgeView, engine: Engine, partner: Entity, antibody: Entity,
                       judged: Judgement) -> tuple[Any, ...] | None:
    """What true equivalents share: the same therapeutic class, antibody, verdict and score,
    entering through the same statements in the same contexts with the same evidence. None
    for an agent without a therapeutic class: it stands alone."""
    cls = _therapeutic_class(kb, partner)
    if not cls:
        return None
    return (cls, antibody.iri, judged.verdict, round(judged.score, 4), _route_signature(engine, judged))


def _group_equivalents(candidates: list[Candidate]) -> list[Candidate]:
    """Merge only true equivalents (:func:`_equivalence_class`); an agent without a therapeutic
    class, or with evidence of its own, stands alone."""
    groups: dict[tuple[Any, ...], list[Candidate]] = defaultdict(list)
    alone = []
    for candidate in candidates:
        if candidate.equivalence is None:
            alone.append(candidate)
        else:
            groups[candidate.equivalence].append(candidate)
    out = alone
    for members in groups.values():
        members.sort(key=sort_key)
        members[0].equivalents = members[1:]
        out.append(members[0])
    return out


def retained_activity(engine: Engine, antibody: str, resistance: str) -> tuple[float, float, list[MechanismAssessment]]:
    """The antibody's total reliance over its mechanisms, what the resistance leaves of it, and
    the impaired mechanisms. Reliance is on the curated magnitude scale (strong 1, moderate
    0.7, weak 0.4), so antibodies can be compared: one that never used a mechanism does not
    gain by "escaping" its loss."""
    impaired, _ = engine.impairments(antibody, resistance)
    total = sum(engine.reliance_strength(e) for e in engine.reliance(antibody).values())
    lost = sum(item.reliance * min(1.0, item.impairment / _REFERENCE_IMPAIRMENT) for item in impaired)
    return total, max(0.0, total - lost), impaired


#: Impairment at which a mechanism counts as fully lost when comparing antibodies.
_REFERENCE_IMPAIRMENT = 0.05


def switch_hypotheses(kb: KnowledgeView, engine: Engine, resistance: Entity, antibody: Entity) -> list[Hypothesis]:
    """Antibodies to switch to: ones the resistance spares, that keep clearly more of their
    activity, or that themselves undo what the resistance takes away (e.g. an Fc-glycoengineered
    antibody binding low-affinity FcγRIIIA alleles more tightly)."""
    base_total, base_kept, _ = retained_activity(engine, antibody.iri, resistance.iri)
    if base_total <= 0:
        return []
    explainer = Explainer(engine, kb.entity_of)

    def own_score(ab: str) -> tuple[float, ExplainResult]:
        own = explainer.explain(kb.entity_of(ab), [kb.entity_of(ab)], resistance, [kb.entity_of(ab)])
        return (own.score_breakdown.get("net_benefit", 0.0) if own.verdict in HELPFUL else 0.0), own

    base_own, _ = own_score(antibody.iri)
    out = []
    for ab in antibodies_with_mechanisms(engine):
        if ab == antibody.iri:
            continue
        total, kept, impaired = retained_activity(engine, ab, resistance.iri)
        new_own, own = own_score(ab)
        # Counter-routes the current antibody already has (e.g. both deplete Tregs) are no gain.
        own_support = max(0.0, new_own - base_own)
        gain = min(1.0, (kept - base_kept) / base_total)
        escapes = not impaired and kept >= 0.9 * base_total
        if not (escapes or own_support > 0 or gain >= 0.05):
            continue
        value = min(1.0, max(gain, 0.0) + own_support)
        if value <= 0:
            continue
        verdict = Verdict.OVERCOMES if escapes or (own.verdict is Verdict.OVERCOMES and own_support > 0) \
            else Verdict.PARTIAL
        score = score_of(verdict, value)
        base_label, new_label = kb.facts.label(antibody.iri), kb.facts.label(ab)
        message = (f"switching from {base_label} to {new_label}: under {resistance.label} {new_label} keeps "
                   f"{kept:.2f} of its reliance {total:.2f} on its mechanisms, {base_label} keeps {base_kept:.2f} "
                   f"of {base_total:.2f}" + (f"; {new_label} itself counters the resistance" if own_support else ""))
        result = ExplainResult(
            combination=[kb.entity_of(ab)], antibody=kb.entity_of(ab), partners=[], resistance=resistance,
            verdict=verdict, outcome=Outcome.OK, message=message, score=score,
            score_breakdown={"rule": "switch score = (band + s) / 3 (band 2 overcomes, 1 partial); s = max(0, "
                             "(retained(new) - retained(current)) / total(current)) + the new antibody's own net "
                             "benefit against the resistance, clipped to 1; retained = total reliance minus, "
                             "per impaired mechanism, reliance x min(1, impairment / reference)",
                             "retained_new": round(kept, 4), "total_new": round(total, 4),
                             "retained_current": round(base_kept, 4), "total_current": round(base_total, 4),
                             "own_net_benefit": round(own_support, 4), "reference_impairment": _REFERENCE_IMPAIRMENT,
                             "net_benefit": round(value, 4), "band": 2 if verdict is Verdict.OVERCOMES else 1,
                             "score": score},
            explanations=own.explanations if own_support else [], conflicts=own.conflicts if own_support else [],
            mechanisms=[{"mechanism": kb.entity_of(m.mechanism).to_json(), "status": "impaired",
                         "reliance": round(m.reliance, 3), "impairment": round(m.impairment, 4)} for m in impaired])
        status = "reported" if claimed(kb, resistance.iri, ab, PROPOSALS) else "novel"
        out.append(Hypothesis(kb.entity_of(ab), kb.entity_of(antibody.iri), "antibody-switch", result, status))
    return out


@dataclass
class Evaluation:
    """Recall of the reviews' proposals among the engine's hypotheses, and wrong verdicts."""

    per_resistance: list[dict[str, Any]]
    recall_at_3: float
    recall_at_5: float
    wrong_verdicts: list[dict[str, Any]]
    counter_examples_checked: int
    expert: list[ExpertAnswer] = field(default_factory=list)
    recall_at_10: float = 0.0

    @property
    def expert_agreement(self) -> float:
        """Share of the expert questions answered as a specialist would."""
        return sum(a.passed for a in self.expert) / len(self.expert) if self.expert else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"recall@3": round(self.recall_at_3, 4), "recall@5": round(self.recall_at_5, 4),
                "recall@10": round(self.recall_at_10, 4),
                "expert_agreement": round(self.expert_agreement, 4),
                "expert_questions": len(self.expert),
                "expert_disagreements": [a.to_json() for a in self.expert if not a.passed],
                "per_resistance": self.per_resistance, "wrong_verdicts": self.wrong_verdicts,
                "counter_examples_checked": self.counter_examples_checked}


def evaluate(kb: KnowledgeView) -> Evaluation:
    """Score the hypotheses against the literature claims, which the derivation never saw."""
    engine = kb.engine()
    by_resistance: dict[str, set[str]] = defaultdict(set)
    for claim in kb.claims:
        if claim.kind in ("counters", "switch"):
            by_resistance[claim.against].add(claim.strategy)
    rows = []
    hits = {3: 0, 5: 0, 10: 0}
    total = 0
    for resistance_iri in sorted(by_resistance, key=kb.facts.label):
        resistance = kb.entity_of(resistance_iri)
        ranked = rank_hypotheses(kb, resistance, None, top=10, engine=engine)
        strategies = sorted(by_resistance[resistance_iri], key=kb.facts.label)
        found = {k: [s for s in strategies if _hit(kb, s, ranked[:k])] for k in hits}
        for k in hits:
            hits[k] += len(found[k])
        total += len(strategies)
        rows.append({
            "resistance": resistance.to_json(),
            "claimed": [kb.entity_of(s).label for s in strategies],
            **{f"recall@{k}": round(len(found[k]) / len(strategies), 4) for k in hits},
            "missed@5": [kb.entity_of(s).label for s in strategies if s not in found[5]],
            "top5": [h.partner.label for h in ranked[:5]],
        })
    wrong, checked = _wrong_verdicts(kb, engine)
    share = {k: hits[k] / total if total else 0.0 for k in hits}
    return Evaluation(rows, share[3], share[5], wrong, checked, recall_at_10=share[10])


def _hit(kb: KnowledgeView, strategy: str, ranked: list[Hypothesis]) -> bool:
    for hyp in ranked:
        for entity in (hyp.partner, *hyp.equivalents):
            if entity.iri == strategy or strategy in kb.facts.entities.get(entity.iri, entity).types:
                return True
    return False


def _wrong_verdicts(kb: KnowledgeView, engine: Engine) -> tuple[list[dict[str, Any]], int]:
    explainer = Explainer(engine, kb.entity_of)
    wrong, checked = [], 0
    for claim in kb.claims:
        if claim.kind != "does-not-counter":
            continue
        agents = sorted(kb.facts.members.get(claim.strategy, set()) - kb.facts.classes) \
            if claim.strategy in kb.facts.classes else [claim.strategy]
        resistance = kb.entity_of(claim.against)
        for agent in agents:
            for ab in antibodies_with_mechanisms(engine):
                if agent == ab:
                    continue
                checked += 1
                result = explainer.explain(kb.entity_of(ab), [kb.entity_of(agent)], resistance,
                                           [kb.entity_of(ab), kb.entity_of(agent)])
                if result.verdict is Verdict.OVERCOMES:
                    wrong.append({"claim": curie(claim.iri), "antibody": kb.facts.label(ab),
                                  "agent": kb.facts.label(agent), "resistance": resistance.label,
                                  "verdict": result.verdict.value})
    return wrong, checked


def strategy_triples(kb: KnowledgeView, top: int = 10, only: Iterable[str] | None = None) -> list[tuple[Any, Any, Any]]:
    """The ranked hypotheses for every resistance mechanism (or those in ``only``) as RDF, for the derived graph."""
    from rdflib import Literal, URIRef

    engine = kb.engine()
    triples: list[tuple[Any, Any, Any]] = []
    wanted = engine.resistances if only is None else engine.resistances & set(only)
    resistances = sorted(wanted, key=kb.facts.label)
    for resistance_iri in resistances:
        resistance = kb.entity_of(resistance_iri)
        for rank, hyp in enumerate(rank_hypotheses(kb, resistance, None, top=top, engine=engine), 1):
            for partner in (hyp.partner, *hyp.equivalents):
                node = URIRef(KB.term(f"derived/{resistance_iri.rsplit('/', 1)[-1]}/{partner.iri.rsplit('/', 1)[-1]}"))
                triples += [
                    (node, URIRef(RDF.type), URIRef(CD38.DerivedStrategy)),
                    (node, URIRef(RDFS.label), Literal(
                        (f"switch from {hyp.antibody.label} to {partner.label}" if hyp.kind == "antibody-switch"
                         else f"{hyp.antibody.label} + {partner.label}")
                        + f" against {resistance.label}: {hyp.result.verdict.value}")),
                    (node, URIRef(CD38.strategyAgainst), URIRef(resistance_iri)),
                    (node, URIRef(CD38.strategyAntibody), URIRef(hyp.antibody.iri)),
                    (node, URIRef(CD38.strategyPartner), URIRef(partner.iri)),
                    (node, URIRef(CD38.derivedKind), Literal(hyp.kind)),
                    (node, URIRef(CD38.derivedVerdict), Literal(hyp.result.verdict.value)),
                    (node, URIRef(CD38.derivedScore), Literal(f"{hyp.score:.4f}", datatype=URIRef(XSD.decimal))),
                    (node, URIRef(CD38.derivedRank), Literal(rank)),
                    (node, URIRef(CD38.derivedStatus), Literal(hyp.status)),
                ]
                for mech in hyp.result.mechanisms:
                    triples.append((node, URIRef(CD38.derivedMechanism), URIRef(kb.names.resolve(mech["mechanism"]["id"]).iri)))
    triples.append((URIRef(CD38.DerivedStrategy), URIRef(RDF.type), URIRef(OWL.Class)))
    return triples
