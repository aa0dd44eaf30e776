"""Why should a combination counter a resistance mechanism? Derived from mechanisms.

The derivation, for antibody A, partner(s) P and resistance R:

1. **What A relies on.** A's ``cd38:induces`` edges give its mechanisms of action and how
   strongly it uses each (daratumumab: CDC strong; isatuximab: CDC weak, direct apoptosis
   strong).
2. **What R takes away.** Signed paths from R to each of those mechanisms, through the
   biology only (no other drug on the way). A negative path means R impairs the
   mechanism; the nodes on it are the *lesion* (for CD38 loss: CD38 on myeloma cells).
3. **What P restores.** Signed paths from P to each impaired mechanism. A positive path
   that pushes a lesion node back against R *restores*; one that reaches the mechanism
   another way runs *parallel*; restoring a population that R keeps depleting is
   *contested*; a negative path that pushes a lesion node further *aggravates*. When
   the resistance neutralises the antibody itself, parallel routes are *insufficient*.
   Findings that report no effect of P on a node (magnitude "none") dispute every path
   from P through that node when their evidence is at least as strong.
4. **Verdict.** overcomes (every impaired mechanism restored, nothing hurt), partial,
   mixed (helps one way, hurts another), does-not, or unknown (no path; the outcome says
   why). The score follows :mod:`cd38kg.scoring`.
"""

from __future__ import annotations

from collections import defaultdict
from copy import copy
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .errors import Cd38kgError
from .graph import Edge, Key, agent_nodes, build_edges, causal_graph, nodes_of_kind
from .model import Conflict, Entity, ExplainResult, Outcome, Step, Support, Verdict
from .names import curie
from .paths import Path, node_degrees, simple_paths, strength
from .scoring import ScoringWeights
from .vocab import CD38

if TYPE_CHECKING:
    from .facts import Facts

RESTORES, PARALLEL, CONTESTED, AGGRAVATES, OPPOSES = "restores", "parallel", "contested", "aggravates", "opposes"
#: A parallel route cannot stand in for an antibody the resistance neutralises.
INSUFFICIENT = "insufficient"


@dataclass
class ScoredPath:
    """A path with its strength, its kind relative to the lesion, and how it was scored."""

    path: Path
    strength: float
    kind: str
    factors: dict[str, Any]
    lesion_node: str = ""
    disputed_by: tuple[Support, ...] = ()


@dataclass
class MechanismAssessment:
    """One mechanism of action: how much the antibody relies on it and what happens to it."""

    mechanism: str
    reliance: float
    impairment: float = 0.0
    resistance_paths: list[ScoredPath] = field(default_factory=list)
    partner_paths: list[ScoredPath] = field(default_factory=list)
    support: float = 0.0
    harm: float = 0.0
    status: str = "untouched"
    omega: float = 0.0
    lesion: dict[str, set[int]] = field(default_factory=dict)
    depth: dict[str, int] = field(default_factory=dict)

    @property
    def restoration_depth(self) -> int | None:
        """How far along the resistance's chain the partner first restores (1 = the very node
        the resistance changes); ``None`` when nothing is restored."""
        depths = [self.depth.get(p.lesion_node, 99) for p in self.partner_paths
                  if p.kind in (RESTORES, CONTESTED) and p.lesion_node]
        return min(depths) if depths else None

    @property
    def best_support(self) -> ScoredPath | None:
        positive = [p for p in self.partner_paths if p.path.sign > 0]
        return max(positive, key=lambda p: p.strength, default=None)

    @property
    def best_harm(self) -> ScoredPath | None:
        negative = [p for p in self.partner_paths if p.path.sign < 0]
        return max(negative, key=lambda p: p.strength, default=None)


class Engine:
    """The causal graph of one knowledge base under one set of weights and ablations."""

    def __init__(self, facts: Facts, weights: ScoringWeights | None = None,
                 without: set[Key] | None = None, without_findings: set[str] | None = None) -> None:
        self.facts = facts
        self.weights = weights or ScoringWeights()
        self.edges = build_edges(facts, self.weights, without, without_findings)
        self.graph = causal_graph(self.edges)
        self.degree = node_degrees(self.graph)
        self.agents = agent_nodes(facts)
        self.resistances = nodes_of_kind(facts, CD38.ResistanceMechanism)
        self.patient_factors = nodes_of_kind(facts, CD38.PatientFactor)
        self.antibodies = nodes_of_kind(facts, CD38.AntiCD38Antibody)
        self._disputes = self._negative_statements(without_findings or set())
        self._impairments: dict[tuple[str, str], tuple[list[MechanismAssessment], str]] = {}

    def _negative_statements(self, without_findings: set[str]) -> dict[tuple[str, str], list[tuple[int, Support]]]:
        """(subject, node) pairs that a finding says are *not* linked, with the claimed sign."""
        from .graph import statement_index

        disputes: dict[tuple[str, str], list[tuple[int, Support]]] = defaultdict(list)
        for (s, p, o), supports in statement_index(self.facts).items():
            relation = self.facts.relations[p]
            for support in supports:
                if support.finding.is_negative and support.finding.iri not in without_findings:
                    src, dst = (o, s) if relation.reverse else (s, o)
                    disputes[(src, dst)].append((relation.sign, support))
        return disputes

    def rank(self, support: Support) -> int:
        return self.facts.evidence_rank.get(support.finding.evidence_level, 0)

    # -- the three questions ---------------------------------------------------------------

    def reliance(self, antibody: str) -> dict[str, Edge]:
        """The mechanisms of action the antibody uses, with the edge that says so."""
        out = {}
        for _, target, data in self.graph.out_edges(antibody, data=True):
            edge: Edge = data["edge"]
            if edge.relation.iri == CD38.induces and edge.sign > 0:
                out[target] = edge
        return out

    def reliance_strength(self, edge: Edge) -> float:
        """How much an antibody relies on a mechanism: stated magnitude, lowered if disputed."""
        own = [s for s in edge.supports if not s.inherited_from] or list(edge.supports)
        value = max(self.weights.magnitude.get(s.finding.magnitude, 1.0) for s in own)
        return value * (self.weights.contested if edge.counter else 1.0)

    def assess(self, antibody: str, partners: list[str], resistance: str) -> tuple[list[MechanismAssessment], str]:
        """Mechanism-by-mechanism assessment; the string is why nothing was found, if so."""
        impaired, reason = self.impairments(antibody, resistance)
        assessments = [copy(item) for item in impaired]
        for item in assessments:
            item.partner_paths = []
            self._assess_partners(item, antibody, partners, resistance)
        return assessments, reason

    def impairments(self, antibody: str, resistance: str) -> tuple[list[MechanismAssessment], str]:
        """What the resistance takes from the antibody (computed once per pair and cached)."""
        key = (antibody, resistance)
        if key not in self._impairments:
            self._impairments[key] = self._impair(antibody, resistance)
        return self._impairments[key]

    def _impair(self, antibody: str, resistance: str) -> tuple[list[MechanismAssessment], str]:
        relied = self.reliance(antibody)
        if not relied:
            return [], f"the knowledge base records no mechanism of action for {self.facts.label(antibody)}"
        if resistance not in self.graph or not self.graph.out_degree(resistance):
            return [], f"the knowledge base records no causal effect of {self.facts.label(resistance)}"
        blocked_r = (self.agents - {antibody}) | (self.resistances - {resistance}) | self.patient_factors
        assessments = []
        for mechanism, edge in sorted(relied.items()):
            item = MechanismAssessment(mechanism, self.reliance_strength(edge))
            for path in simple_paths(self.graph, resistance, mechanism, self.weights.max_path_length, blocked_r):
                if path.edges[-1] is edge and len(path.edges) == 1:
                    continue
                value, factors = strength(path, self.degree, self.weights)
                disputed = self._disputed(resistance, path)
                if disputed:
                    value *= self.weights.contested
                item.resistance_paths.append(ScoredPath(path, value, "impairs" if path.sign < 0 else "helps",
                                                        factors, disputed_by=disputed))
            negative = [p for p in item.resistance_paths if p.path.sign < 0]
            item.impairment = max((p.strength for p in negative), default=0.0)
            if item.impairment > 0:
                assessments.append(item)
        if not assessments:
            return [], (f"{self.facts.label(resistance)} has no causal path to a mechanism "
                        f"{self.facts.label(antibody)} relies on")
        total_reliance = sum(self.reliance_strength(e) for e in relied.values()) or 1.0
        worst = max(a.impairment for a in assessments)
        for item in assessments:
            item.omega = (item.reliance / total_reliance) * (item.impairment / worst)
        return assessments, ""

    def _disputed(self, start: str, path: Path) -> tuple[Support, ...]:
        """Findings saying ``start`` does not act on a node of ``path`` the way the path claims."""
        out: list[Support] = []
        for node in path.nodes[1:]:
            for sign, support in self._disputes.get((start, node), ()):
                prefix = path.prefix_to(node)
                best = max((self.rank(s) for e in prefix for s in e.supports), default=0)
                if sign == path.sign_at(node) and self.rank(support) >= best:
                    out.append(support)
        return tuple(out)

    def _assess_partners(self, item: MechanismAssessment, antibody: str, partners: list[str],
                         resistance: str) -> None:
        weights = self.weights
        negative = [p for p in item.resistance_paths if p.path.sign < 0]
        lesion: dict[str, set[int]] = defaultdict(set)
        drained: set[str] = set()
        for scored in negative:
            for node in scored.path.nodes[1:-1]:
                lesion[node].add(scored.path.sign_at(node))
            drained.update(e.target for e in scored.path.edges if e.relation.iri == CD38.depletes)
        item.lesion = dict(lesion)
        item.depth = {}
        for scored in negative:
            for position, node in enumerate(scored.path.nodes[1:-1], 1):
                item.depth[node] = min(item.depth.get(node, position), position)
        neutralised = antibody in lesion
        for partner in partners:
            blocked = (self.agents - {partner, antibody}) | self.resistances | self.patient_factors
            for path in simple_paths(self.graph, partner, item.mechanism, weights.max_path_length, blocked):
                if partner == antibody and path.edges[0].relation.iri == CD38.induces:
                    continue  # an antibody examined for its own counter-routes: not its mechanisms
                value, factors = strength(path, self.degree, weights)
                kind, node = self._classify(path, lesion, drained)
                if neutralised and kind == PARALLEL:
                    kind = INSUFFICIENT
                disputed = self._disputed(partner, path)
                if disputed:
                    value *= weights.contested
                    if kind == RESTORES:
                        kind = CONTESTED
                factor = {RESTORES: weights.restores, PARALLEL: weights.parallel, INSUFFICIENT: 0.0,
                          CONTESTED: weights.contested_restoration, AGGRAVATES: weights.aggravates,
                          OPPOSES: weights.parallel}[kind]
                factors["kind"] = kind
                factors["kind_factor"] = factor
                item.partner_paths.append(ScoredPath(path, value * factor, kind, factors, node, disputed))
        best_support = item.best_support
        best_harm = item.best_harm
        item.support = best_support.strength if best_support else 0.0
        item.harm = best_harm.strength if best_harm else 0.0
        kinds = {p.kind for p in item.partner_paths}
        if AGGRAVATES in kinds and RESTORES not in kinds:
            item.status = "worsened"
        elif item.support > 0 and item.harm > 0:
            item.status = "mixed"
        elif RESTORES in kinds:
            item.status = "restored"
        elif item.support > 0:
            item.status = "compensated"
        elif item.harm > 0:
            item.status = "worsened"
        elif INSUFFICIENT in kinds:
            item.status = "insufficient"
        else:
            item.status = "untouched"

    def idea_path(self, item: MechanismAssessment) -> ScoredPath | None:
        """The route that best expresses how the partner helps: its best restoring path if
        it restores the lesion at all, else its best positive path."""
        restoring = [p for p in item.partner_paths if p.kind in (RESTORES, CONTESTED)]
        closest = min(restoring, key=lambda p: (item.depth.get(p.lesion_node, 99), -p.strength), default=None)
        return closest or item.best_support

    def idea(self, item: MechanismAssessment) -> str:
        """Where the partner's route enters the biology, lifted through subpopulations up to
        the lesion: CD38-knockout NK cells, KHYG1 and g-NK cells all act by adding NK cells,
        so they are one idea with several products."""
        best = self.idea_path(item)
        if best is None:
            return ""
        node = best.path.nodes[1]
        seen = {node}
        while node not in item.lesion:
            parents = sorted(e.target for _, _, d in self.graph.out_edges(node, data=True)
                             for e in [d["edge"]] if e.relation.iri == CD38.subpopulationOf and e.target not in seen)
            if not parents:
                break
            node = parents[0]
            seen.add(node)
        return node

    @staticmethod
    def _classify(path: Path, lesion: dict[str, set[int]], drained: set[str]) -> tuple[str, str]:
        """Does a partner path restore the lesion, aggravate it, or act in parallel?"""
        for node in path.nodes[1:-1]:
            if node not in lesion:
                continue
            partner_sign = path.sign_at(node)
            if path.sign > 0 and -partner_sign in lesion[node]:
                # Refilling a population the resistance keeps depleting is a contested repair.
                return (CONTESTED if node in drained else RESTORES), node
            if path.sign < 0 and partner_sign in lesion[node]:
                return AGGRAVATES, node
        return (PARALLEL if path.sign > 0 else OPPOSES), ""


def verdict_of(assessments: list[MechanismAssessment]) -> Verdict:
    """Combine per-mechanism statuses into one verdict."""
    statuses = {a.status for a in assessments}
    improved = statuses & {"restored", "compensated"}
    if statuses <= {"untouched"}:
        return Verdict.UNKNOWN
    if statuses <= {"untouched", "insufficient"}:
        return Verdict.DOES_NOT
    if "mixed" in statuses or (improved and "worsened" in statuses):
        return Verdict.MIXED
    if statuses == {"restored"}:
        return Verdict.OVERCOMES
    if improved:
        return Verdict.PARTIAL
    return Verdict.DOES_NOT


class Explainer:
    """Turns assessments into results with plain-English steps, sources and conflicts."""

    def __init__(self, engine: Engine, entity: Any) -> None:
        self.engine = engine
        self.facts = engine.facts
        self.entity = entity

    @cached_property
    def _findings(self) -> dict[str, Any]:
        return {f.iri: f for f in self.facts.findings}

    def explain(self, antibody: Entity, partners: list[Entity], resistance: Entity,
                combination: list[Entity]) -> ExplainResult:
        engine = self.engine
        assessments, reason = engine.assess(antibody.iri, [p.iri for p in partners], resistance.iri)
        if not assessments:
            outcome = Outcome.NO_MECHANISM if "no causal effect" in reason or "no mechanism" in reason \
                else Outcome.RESISTANCE_NOT_RELEVANT
            return ExplainResult(combination, antibody, partners, resistance, Verdict.UNKNOWN, outcome, reason, 0.0,
                                 {"rule": RULE, "score": 0.0, "mechanisms": []})
        verdict = verdict_of(assessments)
        score = sum(a.omega * (a.support - a.harm) for a in assessments)
        partner_names = " + ".join(p.label for p in partners) or "nothing"
        if verdict is Verdict.UNKNOWN:
            outcome = Outcome.NO_PATH
            message = (f"no causal path links {partner_names} to the mechanisms that "
                       f"{resistance.label} impairs for {antibody.label}")
        else:
            outcome = Outcome.OK
            message = self._summary(verdict, assessments, partner_names, resistance, antibody)
        explanations: list[list[Step]] = []
        for item in sorted(assessments, key=lambda a: -a.omega):
            if item.resistance_paths:
                worst = max((p for p in item.resistance_paths if p.path.sign < 0), key=lambda p: p.strength)
                explanations.append(self.steps(worst.path, "resistance", item.mechanism))
            shown = []
            for scored in (engine.idea_path(item), item.best_support, item.best_harm):
                if scored is not None and all(scored.path is not other.path for other in shown):
                    shown.append(scored)
                    explanations.append(self.steps(scored.path, "partner", item.mechanism))
        breakdown = {
            "rule": RULE,
            "weights": engine.weights.to_json(),
            "mechanisms": [self._mechanism_breakdown(a) for a in assessments],
            "score": round(score, 4),
        }
        conflicts = self.conflicts(explanations)
        mechanisms = [{"mechanism": self.entity(a.mechanism).to_json(), "status": a.status,
                       "reliance": round(a.reliance, 3), "impairment": round(a.impairment, 4),
                       "weight": round(a.omega, 4), "support": round(a.support, 4), "harm": round(a.harm, 4),
                       "entry": curie(engine.idea(a)) if engine.idea(a) else None,
                       "entry_relation": curie(engine.idea_path(a).path.edges[0].relation.iri)  # type: ignore[union-attr]
                       if engine.idea_path(a) else None,
                       "restoration_depth": a.restoration_depth}
                      for a in sorted(assessments, key=lambda a: -a.omega)]
        return ExplainResult(combination, antibody, partners, resistance, verdict, outcome, message, round(score, 4),
                             breakdown, explanations, conflicts, mechanisms)

    def _summary(self, verdict: Verdict, assessments: list[MechanismAssessment], partners: str,
                 resistance: Entity, antibody: Entity) -> str:
        by_status: dict[str, list[str]] = defaultdict(list)
        for item in sorted(assessments, key=lambda a: -a.omega):
            by_status[item.status].append(self.facts.label(item.mechanism))
        parts = [f"{status}: {', '.join(names)}" for status, names in by_status.items()]
        return (f"{antibody.label} + {partners} against {resistance.label}: {verdict.value} "
                f"({'; '.join(parts)})")

    def _mechanism_breakdown(self, item: MechanismAssessment) -> dict[str, Any]:
        def describe(scored: ScoredPath | None) -> dict[str, Any] | None:
            if scored is None:
                return None
            return {"kind": scored.kind, "strength": round(scored.strength, 4),
                    "path": [curie(n) for n in scored.path.nodes], "lesion_node": curie(scored.lesion_node)
                    if scored.lesion_node else None,
                    "disputed_by": [curie(s.finding.iri) for s in scored.disputed_by], "factors": scored.factors}

        worst = max((p for p in item.resistance_paths if p.path.sign < 0), key=lambda p: p.strength, default=None)
        return {
            "mechanism": curie(item.mechanism),
            "reliance": round(item.reliance, 4),
            "impairment": round(item.impairment, 4),
            "omega": round(item.omega, 4),
            "status": item.status,
            "support": round(item.support, 4),
            "harm": round(item.harm, 4),
            "contribution": round(item.omega * (item.support - item.harm), 4),
            "resistance_path": describe(worst),
            "best_support": describe(item.best_support),
            "best_harm": describe(item.best_harm),
        }

    def steps(self, path: Path, role: str, mechanism: str) -> list[Step]:
        """The path as steps with sentences, read in causal order."""
        return [self.step(edge, role, mechanism) for edge in path.edges]

    def step(self, edge: Edge, role: str = "", mechanism: str = "") -> Step:
        subject, obj = self.entity(edge.subject), self.entity(edge.object)
        text = edge.relation.template.format(subject=subject.label, object=obj.label)
        best = max(edge.supports, key=lambda s: (self.engine.rank(s), s.finding.iri))
        cite = f"{edge.level}; {doi_of(best.finding.source)} §{best.finding.section}"
        if best.inherited_from:
            cite += f"; stated for {self.facts.label(best.inherited_from)}"
        sentence = f"{text[0].upper()}{text[1:]} [{cite}]"
        return Step(subject=subject, predicate=edge.relation, object=obj, sign=edge.sign, sentence=sentence,
                    supports=edge.supports, evidence_level=edge.level, weight=round(edge.weight, 4),
                    counter=edge.counter, role=role, mechanism=mechanism)

    def conflicts(self, explanations: list[list[Step]]) -> list[Conflict]:
        """Both sides of every disagreement touching a step of the explanation."""
        seen: set[frozenset[str]] = set()
        out = []
        for steps in explanations:
            for step in steps:
                for support in step.supports:
                    for counter in step.counter:
                        pair = frozenset((support.finding.iri, counter.finding.iri))
                        if pair not in seen:
                            seen.add(pair)
                            note = dict(self.facts.conflicts.get(counter.finding.iri, [])).get(support.finding.iri, "")
                            out.append(Conflict(support.finding, counter.finding,
                                                note or "a source reports no effect for this statement"))
                    for other, note in self.facts.conflicts.get(support.finding.iri, []):
                        pair = frozenset((support.finding.iri, other))
                        if pair not in seen and other in self._findings:
                            seen.add(pair)
                            out.append(Conflict(support.finding, self._findings[other], note))
        return out


RULE = ("score = sum over impaired mechanisms M of omega_M * (support_M - harm_M); omega_M = the antibody's share "
        "of reliance on M * impairment(resistance, M) / max impairment; a path's strength = product of edge weights (evidence x magnitude "
        "x contested) * length_decay^(edges-1) * product of inner-node degree^-hub_damping; support/harm take the "
        "best path times its kind factor (restores, parallel, contested, aggravates)")


def doi_of(source: str) -> str:
    """A source IRI shown as a bare DOI where it is one."""
    return source.removeprefix("https://doi.org/")


def split_roles(agents: list[Entity], antibody: Entity | None, is_antibody: Any) -> tuple[Entity, list[Entity]]:
    """Pick the anti-CD38 antibody out of a combination; the rest are partners."""
    if antibody is not None:
        partners = [a for a in agents if a.iri != antibody.iri]
        return antibody, partners
    antibodies = [a for a in agents if is_antibody(a)]
    if not antibodies:
        names = " + ".join(a.label for a in agents)
        raise Cd38kgError(f"the combination {names!r} has no anti-CD38 antibody; add one "
                          "(daratumumab, isatuximab, MOR202, TAK-079) or pass --antibody")
    chosen = antibodies[0]
    return chosen, [a for a in agents if a.iri != chosen.iri]
