"""Why should a combination counter a resistance mechanism? Derived from mechanisms.

The derivation, for antibody A, partner(s) P and resistance R:

1. **What A relies on.** A's ``cd38:induces`` edges give its mechanisms of action and how
   strongly it uses each (daratumumab: CDC strong; isatuximab: CDC weak, direct apoptosis
   strong).
2. **What R takes away.** Signed paths from R to each of those mechanisms, through the
   biology only (no other drug on the way). A negative path means R impairs the
   mechanism; the nodes on it are the *lesion*, each with the change R makes there and
   its aspect (for CD38 loss: the *expression* of CD38 on myeloma cells goes down).
3. **What P does.** Signed paths from P to each impaired mechanism. A positive path that
   reverses R's change at a lesion node in the *same aspect* (raises the expression R
   lowered, adds back the cells R depleted) *restores*; acting on a lesion node in another
   aspect (activating the NK cells that remain when R lowered their number) or reaching
   the mechanism another way *compensates*; refilling a population R keeps depleting is a
   *contested* restoration; a negative path that deepens R's change *aggravates*. When R
   neutralises the antibody itself, only acting upstream of the antibody (on the
   neutraliser) counts; everything downstream is *insufficient*. A partner's harm through
   a node the antibody itself blocks is no harm. Findings that report no effect of P on a
   node (magnitude "none") dispute every path from P through that node when their
   evidence is at least as strong.
4. **Verdict.** overcomes (every impaired mechanism restored, no material harm), partial,
   mixed (material harm beside the help), does-not, or unknown (no path; the outcome says
   why). The score follows :mod:`cd38kg.engine.scoring`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from copy import copy
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..errors import Cd38kgError
from ..knowledge.names import curie
from ..model import Conflict, Entity, ExplainResult, Outcome, Step, Support, Verdict
from ..pickles import bulk_objects
from ..vocab import CD38
from .graph import Edge, Key, agent_nodes, build_edges, causal_graph, nodes_of_kind, statement_index
from .paths import Path, PathIndex, path_factors, strength
from .scoring import ScoringWeights

if TYPE_CHECKING:
    from collections.abc import Iterable

    import networkx as nx

    from ..knowledge.facts import Facts

RESTORES, COMPENSATES, CONTESTED, AGGRAVATES, OPPOSES = "restores", "compensates", "contested", "aggravates", "opposes"
#: Compensation by a route that avoids every node the resistance changes.
PARALLEL = "parallel"
#: Adds effector cells that carry the molecule the resistance acts through: they are hit like the patient's own.
EXPOSED = "exposed"
#: Adds effector cells that lack the molecule the resistance acts through (NKG2A-low g-NK cells against HLA-E).
ESCAPES = "escapes"
#: A route that cannot stand in for an antibody the resistance neutralises.
INSUFFICIENT = "insufficient"
#: Aspects that say only "more" or "less" match any quantity (expression, number).
_QUANTITIES = {"expression", "number", "amount"}
#: Verdict bands of the score: score = (band + net benefit) / 3.
BAND = {Verdict.OVERCOMES: 2, Verdict.PARTIAL: 1, Verdict.MIXED: 0}
#: Added to a score bound's net benefit: the bound sums the same products as the score in
#: another order, so the two may differ in the last bits of a float.
_SLACK = 1e-9


def same_aspect(a: str, b: str) -> bool:
    """Does a change in aspect ``a`` undo a change in aspect ``b`` of the same node?"""
    return a == b or ("amount" in (a, b) and {a, b} <= _QUANTITIES)


@dataclass
class ScoredPath:
    """A path with its strength, its kind relative to the lesion, and how it was scored."""

    path: Path
    strength: float
    kind: str
    #: the factor its kind weighs (partner paths only)
    kind_factor: float | None = None
    lesion_node: str = ""
    disputed_by: tuple[Support, ...] = ()
    #: the partner's own statement that keeps the cells it adds out of the resistance's
    #: depletion (F(ab')2-masked NK cells inhibit fratricide); the restoration rests on it too
    shield: Edge | None = None

    @property
    def factors(self) -> dict[str, Any]:
        """How the strength was built, edge by edge: worded only for the paths an answer shows."""
        factors = path_factors(self.path)
        if self.shield is not None:
            shield = self.shield
            factors["shield"] = {"statement": f"{curie(shield.subject)} {shield.relation.label} {curie(shield.object)}",
                                 "weight": round(shield.weight, 4), "evidence_level": shield.level}
        if self.kind_factor is not None:
            factors["kind"] = self.kind
            factors["kind_factor"] = self.kind_factor
        return factors


@dataclass
class MechanismAssessment:
    """One mechanism of action: how much the antibody relies on it and what happens to it."""

    mechanism: str
    reliance: float
    #: the antibody's own use of this mechanism, known only through its class when extrapolated
    reliance_edge: Edge | None = None
    impairment: float = 0.0
    resistance_paths: list[ScoredPath] = field(default_factory=list)
    partner_paths: list[ScoredPath] = field(default_factory=list)
    support: float = 0.0
    harm: float = 0.0
    status: str = "untouched"
    omega: float = 0.0
    #: node -> the changes the resistance makes there: (sign, aspect, is it the resistance's own change)
    lesion: dict[str, set[tuple[int, str, bool]]] = field(default_factory=dict)
    depth: dict[str, int] = field(default_factory=dict)
    #: cells the resistance depletes on its way, and the molecules that depletion needs (see _mark_depletion)
    depleted: frozenset[str] = frozenset()
    depletion_needs: frozenset[str] = frozenset()

    @property
    def best_support(self) -> ScoredPath | None:
        positive = [p for p in self.partner_paths if p.path.sign > 0 and p.strength > 0]
        return max(positive, key=lambda p: p.strength, default=None)

    @property
    def best_restoring(self) -> ScoredPath | None:
        restoring = [p for p in self.partner_paths if p.kind in (RESTORES, ESCAPES, CONTESTED)]
        return max(restoring, key=lambda p: p.strength, default=None)

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
        with bulk_objects():  # everything built here lives as long as the engine
            index = statement_index(facts)  # computed once: the edges and the disputes both read it
            edges = build_edges(facts, index, self.weights, without, without_findings)
            self.paths = PathIndex(edges)
            self.agents = agent_nodes(facts)
            self.resistances = nodes_of_kind(facts, CD38.ResistanceMechanism)
            self.patient_factors = nodes_of_kind(facts, CD38.PatientFactor)
            self.antibodies = nodes_of_kind(facts, CD38.AntiCD38Antibody)
            self._disputes = self._negative_statements(index, without_findings or set())
            self._parents: dict[str, set[str]] = defaultdict(set)
            for edge in edges:
                if edge.relation.is_part_of:
                    self._parents[edge.source].add(edge.target)
            self._scarce = self._expressed_at(CD38.LowExpression, CD38.NoExpression)
            self._abundant = self._expressed_at(CD38.HighExpression, CD38.VeryHighExpression)
            # What questions read of the findings, gathered now so that a question never scans
            # them all: each antibody's own findings, and the findings of marked conflicts.
            self.own_findings = Counter(f.subject for f in facts.findings if f.subject in self.antibodies)
            conflicted = set(facts.conflicts).union(o for pairs in facts.conflicts.values() for o, _ in pairs)
            self.conflict_findings = {f.iri: f for f in facts.findings if f.iri in conflicted}
            self._impairments: dict[tuple[str, str], tuple[list[MechanismAssessment], str]] = {}
            self._blocks: dict[str, tuple[set[str], set[str]]] = {}
            self._closed: dict[str, frozenset[str]] = {}
            self._reference: float | None = None

    def _negative_statements(self, index: dict[Key, list[Support]],
                             without_findings: set[str]) -> dict[tuple[str, str], list[tuple[int, Support]]]:
        """(subject, node) pairs that a finding says are *not* linked, with the claimed sign."""
        disputes: dict[tuple[str, str], list[tuple[int, Support]]] = defaultdict(list)
        for (s, p, o), supports in index.items():
            relation = self.facts.relations[p]
            for support in supports:
                if support.finding.is_negative and support.finding.iri not in without_findings:
                    src, dst = (o, s) if relation.reverse else (s, o)
                    disputes[(src, dst)].append((relation.sign or 1, support))
        return disputes

    @property
    def edges(self) -> list[Edge]:
        """Every causal edge, in statement order."""
        return self.paths.edges()

    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        """The causal graph in networkx: the reference the path index is checked against, built on
        first use (the engine itself walks :attr:`paths`)."""
        return causal_graph(self.edges)

    def rank(self, support: Support) -> int:
        return self.facts.evidence_rank.get(support.finding.evidence_level, 0)

    def path_rank(self, scored: ScoredPath | None) -> int:
        """The evidence rank of a path's weakest step (for breaking ties between equal scores)."""
        if scored is None:
            return 0
        return min(max(self.rank(s) for s in e.supports) for e in scored.path.edges)

    # -- the three questions ---------------------------------------------------------------

    def reliance(self, antibody: str) -> dict[str, Edge]:
        """The mechanisms of action the antibody uses, with the edge that says so."""
        out = {}
        for edge in self.paths.out_edges(antibody):
            if edge.relation.iri == CD38.induces and edge.sign > 0:
                out[edge.target] = edge
        return out

    def reliance_strength(self, edge: Edge) -> float:
        """How much an antibody relies on a mechanism: stated magnitude, lowered if disputed."""
        own = [s for s in edge.supports if not s.inherited_from] or list(edge.supports)
        value = max(self.weights.magnitude.get(s.finding.magnitude, 1.0) for s in own)
        return value * (self.weights.contested if edge.counter else 1.0)

    def reference_reliance(self) -> float:
        """The largest total reliance of any anti-CD38 antibody: the yardstick for mechanism shares,
        so an antibody known through fewer mechanisms (only by its class) gains nothing from it."""
        if self._reference is None:
            totals = [sum(self.reliance_strength(e) for e in self.reliance(ab).values()) for ab in self.antibodies
                      if ab in self.paths]
            self._reference = max(totals, default=0.0) or 1.0
        return self._reference

    def blocked_by(self, antibody: str) -> set[str]:
        """Nodes the antibody itself inhibits or depletes: harm routed through them is blocked."""
        return {e.target for e in self.paths.out_edges(antibody) if e.sign < 0}

    def _blocked_harm(self, antibody: str, path: Path) -> bool:
        """Is a harmful path cut by the antibody itself? It is when it runs through a node the
        antibody inhibits or depletes, or through the antibody's own target acting as a cause
        (more CD38 making more adenosine, while the antibody binds CD38 and blocks it)."""
        if antibody not in self._blocks:
            self._blocks[antibody] = (self.blocked_by(antibody),
                                      {node for molecule in self.facts.targets.get(antibody, ())
                                       for node in self.facts.contexts.get(molecule, ())})
        blocked, targets = self._blocks[antibody]
        if blocked & set(path.nodes[1:-1]):
            return True
        return any(edge.source in targets and not edge.relation.reverse for edge in path.edges[1:])

    def closed_to_paths(self, antibody: str) -> frozenset[str]:
        """Nodes no path may walk through in a question about ``antibody``: every other agent, every
        resistance mechanism and patient factor. A path's own ends are exempt, so one set serves the
        resistance's and every partner's searches (and their cached distances)."""
        if antibody not in self._closed:
            self._closed[antibody] = frozenset((self.agents - {antibody}) | self.resistances | self.patient_factors)
        return self._closed[antibody]

    @cached_property
    def path_bound(self) -> frozenset[str]:
        """The nodes closed to paths whatever the antibody (all but the anti-CD38 antibodies of
        :meth:`closed_to_paths`): distances to a mechanism around them bound every question's
        search, computed once instead of once per antibody."""
        return frozenset((self.agents - self.antibodies) | self.resistances | self.patient_factors)

    def judge(self, antibody: str, partners: list[str], resistance: str) -> Judgement:
        """The verdict, score and evidence for a combination, before anything is put into words
        (ranking judges every candidate partner and words only the ones it shows)."""
        assessments, reason = self.assess(antibody, partners, resistance)
        if not assessments:
            return Judgement(assessments, reason, Verdict.UNKNOWN, Balance(0.0, 0.0), 0.0, 0)
        verdict = verdict_of(assessments, self.weights)
        weighed = balance(assessments)
        evidence = min((self.path_rank(self.idea_path(a)) for a in assessments if self.idea_path(a)), default=0)
        return Judgement(assessments, reason, verdict, weighed, score_of(verdict, weighed.net), evidence)

    def assess(self, antibody: str, partners: list[str], resistance: str) -> tuple[list[MechanismAssessment], str]:
        """Mechanism-by-mechanism assessment; the string is why nothing was found, if so."""
        impaired, reason = self.impairments(antibody, resistance)
        assessments = [copy(item) for item in impaired]
        for item in assessments:
            item.partner_paths = []
            self._assess_partners(item, antibody, partners)
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
        if not self.paths.out_edges(resistance):
            return [], f"the knowledge base records no causal effect of {self.facts.label(resistance)}"
        blocked_r = self.closed_to_paths(antibody)
        assessments = []
        for mechanism, edge in sorted(relied.items()):
            item = MechanismAssessment(mechanism, self.reliance_strength(edge), edge)
            for path in self.paths.simple_paths(resistance, mechanism, self.weights.max_path_length, blocked_r,
                                                self.path_bound):
                if path.edges[-1] is edge and len(path.edges) == 1:
                    continue
                value = strength(path)
                disputed = self._disputed(resistance, path)
                if disputed:
                    value *= self.weights.contested
                item.resistance_paths.append(ScoredPath(path, value, "impairs" if path.sign < 0 else "helps",
                                                        disputed_by=disputed))
            negative = [p for p in item.resistance_paths if p.path.sign < 0]
            item.impairment = max((p.strength for p in negative), default=0.0)
            if item.impairment > 0:
                self._mark_lesion(item, negative)
                self._mark_depletion(item, negative)
                assessments.append(item)
        if not assessments:
            return [], (f"{self.facts.label(resistance)} has no causal path to a mechanism "
                        f"{self.facts.label(antibody)} relies on")
        total_reliance = self.reference_reliance()
        worst = max(a.impairment for a in assessments)
        for item in assessments:
            item.omega = (item.reliance / total_reliance) * (item.impairment / worst)
        return assessments, ""

    def _mark_lesion(self, item: MechanismAssessment, negative: list[ScoredPath]) -> None:
        """The nodes the resistance changes on its way to the mechanism: the change (sign and
        aspect) it makes at each, whether that change is the resistance's *own* (everything up to
        the first molecule or cell population it changes, and the populations that population is
        part of) or a consequence further down, and how far along its chain each lies."""
        lesion: dict[str, set[tuple[int, str, bool]]] = defaultdict(set)
        for scored in negative:
            own = True
            position = 0
            for edge in scored.path.edges[:-1]:
                node = edge.target
                if not edge.relation.is_part_of:
                    position += 1
                    own = own and position == 1 or (own and self._is_process(edge.source))
                lesion[node].add((scored.path.sign_at(node), scored.path.aspect_at(node), own))
                item.depth[node] = min(item.depth.get(node, position), position)
        item.lesion = dict(lesion)

    def _mark_depletion(self, item: MechanismAssessment, negative: list[ScoredPath]) -> None:
        """The cells the resistance depletes on its way to the mechanism (refilling them is a
        contested restoration unless the added cells escape the depletion), and the molecules
        that depletion needs: one its depleting process requires (NK fratricide requires CD38 on
        NK cells) or one on the depleted cells' populations (CD38 on NK cells, where CD38-high NK
        cells are killed). Computed once per antibody and resistance, read for every partner."""
        depleting = [e for scored in negative for e in scored.path.edges if e.relation.iri == CD38.depletes]
        item.depleted = frozenset(e.target for e in depleting)
        if not item.depleted:
            return
        required = {e.source for node in {e.source for e in depleting} for e in self.paths.in_edges(node)
                    if e.relation.reverse}
        populations = {cell for node in item.depleted for cell in self._ancestry(node)}
        carried = {node for node, (_, cell) in self.facts.context_of.items() if cell in populations}
        item.depletion_needs = frozenset(required | carried)

    def _is_process(self, iri: str) -> bool:
        return CD38.Process in self.facts.entities[iri].types if iri in self.facts.entities else False

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

    @cached_property
    def kind_factors(self) -> dict[str, float]:
        """What a partner path weighs by its kind (:mod:`cd38kg.engine.scoring`)."""
        weights = self.weights
        return {RESTORES: weights.restores, ESCAPES: weights.escapes, COMPENSATES: weights.compensates,
                PARALLEL: weights.parallel, EXPOSED: weights.exposed, INSUFFICIENT: 0.0,
                CONTESTED: weights.contested_restoration, AGGRAVATES: weights.aggravates,
                OPPOSES: weights.aggravates}

    def presumed(self, item: MechanismAssessment) -> float:
        """A mechanism the antibody is known to use only through its class counts for less."""
        edge = item.reliance_edge
        return self.weights.extrapolated if edge is not None and edge.extrapolated else 1.0

    def score_bounds(self, antibody: str, resistance: str, partners: Iterable[str]) -> dict[str, float]:
        """An upper bound of each partner's score (:meth:`judge`), read from walks computed once
        per mechanism instead of the partner's own paths, so ranking judges only partners that
        could still be shown.

        The bound follows the rule step by step: a path's support is its weakest edge times
        its kind's factor (at most the largest factor, times ``contested`` if that exceeds 1;
        a shield only lowers it), and no path is stronger than the strongest positive walk
        (:meth:`PathIndex.strongest_to`); harm only lowers the net benefit. The verdict is
        *overcomes* only when every impaired mechanism is restored, which needs a positive path
        through a node the resistance changes itself, reaching it with the opposite sign: when
        no walk of the path limit can (:meth:`PathIndex.signed_distances`), the band is at most
        *partial*'s.
        """
        impaired, _ = self.impairments(antibody, resistance)
        partners = list(partners)
        if not impaired:
            return dict.fromkeys(partners, 0.0)
        length, bound = self.weights.max_path_length, self.path_bound
        factor = max(self.kind_factors.values()) * max(1.0, self.weights.contested)
        support = dict.fromkeys(partners, 0.0)
        restorable = dict.fromkeys(partners, True)
        for item in impaired:
            strongest = self.paths.strongest_to(item.mechanism, length, bound)
            to_mechanism = self.paths.distances_to(item.mechanism, length, bound)
            seeds = {(node, -sign): to_mechanism[node] for node, changes in item.lesion.items()
                     for sign, _, own in changes if own and node in to_mechanism}
            restoring = self.paths.signed_distances(seeds, length, bound)
            weight = item.omega * self.presumed(item) * factor
            for partner in partners:
                i = self.paths.number_of(partner)
                support[partner] += weight * (strongest[i] if i is not None else 0.0)
                restorable[partner] = restorable[partner] and restoring.get(partner, 1) is not None
        return {p: score_of(Verdict.OVERCOMES if restorable[p] else Verdict.PARTIAL, min(1.0, support[p]) + _SLACK)
                for p in partners}

    def _assess_partners(self, item: MechanismAssessment, antibody: str, partners: list[str]) -> None:
        weights = self.weights
        depleted = item.depleted
        # When the resistance acts on the antibody itself, only what acts upstream of it counts.
        neutralised_at = item.depth.get(antibody)
        factor_of = self.kind_factors
        for partner in partners:
            blocked = self.closed_to_paths(antibody)
            for path in self.paths.simple_paths(partner, item.mechanism, weights.max_path_length, blocked,
                                                self.path_bound):
                if partner == antibody and path.edges[0].relation.iri == CD38.induces:
                    continue  # an antibody examined for its own counter-routes: not its mechanisms
                if path.sign < 0 and partner != antibody and self._blocked_harm(antibody, path):
                    continue  # harm through a node the antibody itself blocks
                kind, node = self._classify(path, item, depleted)
                shield = self._shield(partner, item) if kind == CONTESTED else None
                if shield is not None:
                    kind = RESTORES  # the refill is kept out of the depletion by the partner itself
                if neutralised_at is not None and not (node and item.depth[node] < neutralised_at):
                    if path.sign < 0:
                        continue  # the antibody is already lost: nothing downstream of it can hurt it
                    kind = INSUFFICIENT
                value = strength(path) if shield is None else min(strength(path), shield.weight)
                disputed = self._disputed(partner, path)
                if disputed:
                    value *= weights.contested
                    if kind == RESTORES:
                        kind = CONTESTED
                item.partner_paths.append(ScoredPath(path, value * factor_of[kind], kind, factor_of[kind], node, disputed,
                                                     shield))
        best_support, best_harm = item.best_support, item.best_harm
        presumed = self.presumed(item)
        item.support = presumed * best_support.strength if best_support else 0.0
        item.harm = presumed * best_harm.strength if best_harm else 0.0
        kinds = {p.kind for p in item.partner_paths if p.strength > 0 or p.kind == INSUFFICIENT}
        if RESTORES in kinds:
            item.status = "restored"
        elif ESCAPES in kinds:
            item.status = "escaped"
        elif CONTESTED in kinds:
            item.status = "contested"
        elif item.support > 0:
            item.status = "compensated"
        elif item.harm > 0:
            item.status = "worsened"
        elif INSUFFICIENT in kinds:
            item.status = "insufficient"
        else:
            item.status = "untouched"

    def _ancestry(self, population: str) -> list[str]:
        """A population and every population it is part of."""
        out, todo = [], [population]
        while todo:
            node = todo.pop()
            if node not in out:
                out.append(node)
                todo.extend(sorted(self._parents.get(node, ())))
        return out

    def _expressed_at(self, *levels: str) -> set[str]:
        """Molecule-in-cell nodes a finding records at one of ``levels``."""
        level_of = CD38.expressionLevel
        return {f.subject for f in self.facts.findings if f.predicate == level_of
                and f.object in levels and not f.is_negative}

    def _spared(self, path: Path, molecules: set[str], recorded: set[str] | None = None) -> bool:
        """Does the partner add cells that lack a molecule the resistance acts through? For a
        molecule m on cells C, true when the first population P the partner adds to shares a
        lineage with C and m is recorded low or absent on P or a population P belongs to that
        C does not (KIR-low KHYG1 cells, NKG2A-low g-NK cells, CD38-low NK cells)."""
        added = [e.target for e in path.edges if e.aspect == "number" and e.sign > 0]
        if not added:
            return False
        ancestry = self._ancestry(added[0])
        for node in molecules:
            molecule, cell = self.facts.context_of.get(node, ("", ""))
            if not molecule or not cell:
                continue
            theirs = set(self._ancestry(cell))
            if not theirs & set(ancestry):
                continue
            own = set(ancestry) - theirs
            if any(self.facts.context_of[other][1] in own for other in self.facts.contexts.get(molecule, ())
                   if other in (self._scarce if recorded is None else recorded)):
                return True
        return False

    def _spared_from_depletion(self, path: Path, item: MechanismAssessment, depleted: frozenset[str]) -> bool:
        """Are the cells the partner adds out of the resistance's reach? Not when they belong to
        a depleted population; yes when they lack a molecule the depletion needs (see
        :meth:`_mark_depletion`)."""
        added = [e.target for e in path.edges if e.aspect == "number" and e.sign > 0]
        if not added or depleted & set(self._ancestry(added[0])):
            return False
        return self._spared(path, set(item.depletion_needs))

    def _shield(self, partner: str, item: MechanismAssessment) -> Edge | None:
        """The partner's own statement that keeps the cells it adds out of the depletion: it
        inhibits what depletes them (a process or the resistance itself) or lowers a molecule
        that depletion requires (CD38 on NK cells for fratricide; not any molecule the cells
        carry). The strongest such statement, or None."""
        depleting = {e.source for cell in item.depleted for e in self.paths.in_edges(cell)
                     if e.relation.iri == CD38.depletes}
        required = {e.source for node in depleting for e in self.paths.in_edges(node) if e.relation.reverse}
        blocked = depleting | required
        return max((e for e in self.paths.out_edges(partner) if e.sign < 0 and e.target in blocked),
                   key=lambda e: (e.weight, e.target), default=None)

    def idea_path(self, item: MechanismAssessment) -> ScoredPath | None:
        """The route that best expresses how the partner helps: its best restoring path if
        it undoes the resistance's change at all, else its best positive path."""
        return item.best_restoring or item.best_support

    def _classify(self, path: Path, item: MechanismAssessment, depleted: frozenset[str]) -> tuple[str, str]:
        """Does a partner path undo the resistance's own change, compensate for it, deepen it,
        or act elsewhere? Returns the kind and the lesion node it acts on ("" if none).

        Refilling a population the resistance depletes is a *contested* restoration unless the
        added cells lack what the depletion requires; adding cells that lack the molecule the
        resistance acts through *escapes* it (the patient's own cells stay affected)."""
        lesion = item.lesion
        compensating = ""
        for node in path.nodes[1:-1]:
            if node not in lesion:
                continue
            partner_sign, partner_aspect = path.sign_at(node), path.aspect_at(node)
            if path.sign > 0:
                reversed_here = [(aspect, own) for sign, aspect, own in lesion[node] if sign == -partner_sign]
                if any(own and same_aspect(partner_aspect, aspect) for aspect, own in reversed_here):
                    refill = partner_aspect == "number" and bool(depleted)
                    if refill and not self._spared_from_depletion(path, item, depleted):
                        return CONTESTED, node
                    return RESTORES, node
                if reversed_here and not compensating:
                    compensating = node
            elif any(sign == partner_sign and same_aspect(partner_aspect, aspect) for sign, aspect, _ in lesion[node]):
                return AGGRAVATES, node
        if path.sign < 0:
            return OPPOSES, ""
        if self._spared(path, set(lesion)):
            return ESCAPES, compensating
        if self._spared(path, set(lesion), self._abundant):
            return EXPOSED, compensating  # the added cells carry what the resistance acts through
        return (COMPENSATES, compensating) if compensating else (PARALLEL, "")


@dataclass(frozen=True)
class Balance:
    """The weighed help and harm of a partner across the impaired mechanisms."""

    support: float
    harm: float

    @property
    def net(self) -> float:
        """The net benefit s in [0, 1]."""
        return min(1.0, max(0.0, self.support - self.harm))


@dataclass(frozen=True)
class Judgement:
    """What the engine concludes about a combination: its assessments, verdict, score and the
    evidence rank of its weakest shown step (``reason`` says why nothing was found, if so)."""

    assessments: list[MechanismAssessment]
    reason: str
    verdict: Verdict
    balance: Balance
    score: float
    evidence_rank: int

    @property
    def ordered(self) -> list[MechanismAssessment]:
        """The mechanisms, weightiest first, as answers list them."""
        return sorted(self.assessments, key=lambda a: (-a.omega, a.mechanism))


def entry_of(scored: ScoredPath | None) -> dict[str, Any] | None:
    """Where the partner enters the biology: its own first statement and that statement's evidence."""
    if scored is None:
        return None
    first = scored.path.edges[0]
    return {"node": curie(first.target if not first.relation.reverse else first.source),
            "relation": curie(first.relation.iri), "evidence_level": first.level,
            "extrapolated": first.extrapolated, "kind": scored.kind}


def balance(assessments: list[MechanismAssessment]) -> Balance:
    return Balance(sum(a.omega * a.support for a in assessments), sum(a.omega * a.harm for a in assessments))


def verdict_of(assessments: list[MechanismAssessment], weights: ScoringWeights) -> Verdict:
    """Combine per-mechanism statuses and the weighed balance into one verdict."""
    statuses = {a.status for a in assessments}
    weighed = balance(assessments)
    if weighed.support <= 0:
        if weighed.harm > 0 or "insufficient" in statuses:
            return Verdict.DOES_NOT
        return Verdict.UNKNOWN
    if weighed.harm >= weighed.support:
        return Verdict.DOES_NOT
    if weighed.harm >= weights.material_harm * weighed.support:
        return Verdict.MIXED
    if statuses == {"restored"}:
        return Verdict.OVERCOMES
    return Verdict.PARTIAL


def score_of(verdict: Verdict, net: float) -> float:
    """One score in [0, 1]: the net benefit placed in its verdict's third of the scale."""
    if verdict not in BAND:
        return 0.0
    return round((BAND[verdict] + net) / 3, 4)


class Explainer:
    """Turns assessments into results with plain-English steps, sources and conflicts."""

    def __init__(self, engine: Engine, entity: Any) -> None:
        self.engine = engine
        self.facts = engine.facts
        self.entity = entity

    def explain(self, antibody: Entity, partners: list[Entity], resistance: Entity,
                combination: list[Entity]) -> ExplainResult:
        engine = self.engine
        judged = engine.judge(antibody.iri, [p.iri for p in partners], resistance.iri)
        assessments, reason = judged.assessments, judged.reason
        if not assessments:
            outcome = Outcome.NO_MECHANISM if "no causal effect" in reason or "no mechanism" in reason \
                else Outcome.RESISTANCE_NOT_RELEVANT
            return ExplainResult(combination, antibody, partners, resistance, Verdict.UNKNOWN, outcome, reason, 0.0,
                                 {"rule": RULE, "score": 0.0, "mechanisms": []})
        verdict, weighed, score = judged.verdict, judged.balance, judged.score
        partner_names = " + ".join(p.label for p in partners) or "nothing"
        if verdict is Verdict.UNKNOWN:
            outcome = Outcome.NO_PATH
            message = (f"no causal path links {partner_names} to the mechanisms that "
                       f"{resistance.label} impairs for {antibody.label}")
        else:
            outcome = Outcome.OK
            message = self._summary(verdict, assessments, partner_names, resistance, antibody)
        ordered = judged.ordered
        explanations: list[list[Step]] = []
        for item in ordered:
            if item.resistance_paths:
                worst = max((p for p in item.resistance_paths if p.path.sign < 0), key=lambda p: p.strength)
                explanations.append(self.steps(worst.path, "resistance", item.mechanism))
            shown: list[ScoredPath] = []
            for scored in (engine.idea_path(item), item.best_support, item.best_harm):
                if scored is not None and all(scored.path is not other.path for other in shown):
                    shown.append(scored)
                    explanations.append(self.steps(scored.path, "partner", item.mechanism))
                    if scored.shield is not None:
                        explanations.append([self.step(scored.shield, "partner", item.mechanism)])
        breakdown = {
            "rule": RULE,
            "weights": engine.weights.to_json(),
            "mechanisms": [self._mechanism_breakdown(a) for a in ordered],
            "support": round(weighed.support, 4),
            "harm": round(weighed.harm, 4),
            "net_benefit": round(weighed.net, 4),
            "band": BAND.get(verdict),
            "score": score,
        }
        conflicts = self.conflicts(explanations)
        mechanisms = [{"mechanism": self.entity(a.mechanism).to_json(), "status": a.status,
                       "how": self.how(a, resistance),
                       "reliance": round(a.reliance, 3), "impairment": round(a.impairment, 4),
                       "weight": round(a.omega, 4), "support": round(a.support, 4), "harm": round(a.harm, 4),
                       "entry": entry_of(engine.idea_path(a))}
                      for a in ordered]
        harmful = verdict not in (Verdict.MIXED, Verdict.DOES_NOT)
        caveats = [self._harm_caveat(a) for a in ordered if harmful and a.harm > 0 and a.best_harm is not None]
        return ExplainResult(combination, antibody, partners, resistance, verdict, outcome, message, score,
                             breakdown, explanations, conflicts, mechanisms,
                             extrapolated=self._extrapolated(ordered), caveats=caveats, evidence_rank=judged.evidence_rank)

    def how(self, item: MechanismAssessment, resistance: Entity) -> str:
        """One sentence: does the partner undo the resistance's change, or compensate for it?"""
        scored = self.engine.idea_path(item)
        mechanism = self.facts.label(item.mechanism)
        if scored is None:
            if item.status == "insufficient":
                return (f"{resistance.label} acts on the antibody itself; nothing acting downstream of the "
                        f"antibody can stand in for it in {mechanism}")
            return f"nothing the partner does reaches {mechanism}"
        node = self.facts.label(scored.lesion_node) if scored.lesion_node else ""
        lost = ", ".join(sorted({a for _, a, _ in item.lesion.get(scored.lesion_node, set())}))
        done = scored.path.aspect_at(scored.lesion_node) if scored.lesion_node else ""
        if scored.kind == RESTORES and scored.shield is not None:
            return (f"restores: reverses the change {resistance.label} makes to the {lost} of {node}, and the "
                    f"added cells are shielded from it ({self.step(scored.shield).sentence})")
        if scored.kind == RESTORES:
            return f"restores: reverses the change {resistance.label} makes to the {lost} of {node}"
        if scored.kind == EXPOSED:
            return (f"compensates weakly: adds effector cells that carry what {resistance.label} acts through, "
                    f"so they are hit as the patient's own cells are")
        if scored.kind == ESCAPES:
            return (f"escapes: adds effector cells that lack what {resistance.label} acts through; the patient's "
                    f"own cells stay affected")
        if scored.kind == CONTESTED and scored.disputed_by:
            return (f"contested restoration: reverses the change to the {lost} of {node}, but a finding reports "
                    f"no such effect on {mechanism}")
        if scored.kind == CONTESTED:
            return f"contested restoration: refills {node}, which {resistance.label} keeps depleting"
        if scored.lesion_node:
            return (f"compensates: acts on the {done} of {node}, whereas {resistance.label} changed its {lost}; "
                    f"the change itself is not undone")
        return f"compensates: supports {mechanism} by another route; the resistance's change is not undone"

    def _extrapolated(self, ordered: list[MechanismAssessment]) -> list[dict[str, Any]]:
        """The steps the verdict rests on that are known for the agent only through its class."""
        out, seen = [], set()
        for item in ordered:
            scored = self.engine.idea_path(item)
            edges = [item.reliance_edge] if item.reliance_edge is not None and scored else []
            for edge in [*edges, *(scored.path.edges if scored else ())]:
                if edge.extrapolated and edge.key not in seen:
                    seen.add(edge.key)
                    classes = sorted({s.inherited_from for s in edge.supports})
                    out.append({"statement": self.step(edge).sentence, "subject": curie(edge.subject),
                                "from_class": [self.facts.label(c) for c in classes]})
        return out

    def _harm_caveat(self, item: MechanismAssessment) -> dict[str, Any]:
        harm = item.best_harm
        assert harm is not None
        return {"mechanism": self.facts.label(item.mechanism), "harm": round(item.harm, 4),
                "support": round(item.support, 4), "kind": harm.kind,
                "steps": [self.step(e).sentence for e in harm.path.edges],
                "note": "harm below the material share of the support: a caveat, not a mixed verdict"}

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
            cite += f"; extrapolated: stated for {self.facts.label(best.inherited_from)}"
        if best.context_from:
            cite += f"; stated for {self.facts.label(best.context_from)} without a cell, applied in each cell context"
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
                        if pair not in seen and other in self.engine.conflict_findings:
                            seen.add(pair)
                            out.append(Conflict(support.finding, self.engine.conflict_findings[other], note))
        return out


RULE = ("score = (band + s) / 3 with band 2 overcomes, 1 partial, 0 mixed (does-not and unknown score 0); "
        "s = sum over impaired mechanisms M of omega_M * (support_M - harm_M), clipped to [0, 1]; omega_M = "
        "the antibody's reliance on M / the largest total reliance of any anti-CD38 antibody * impairment(M) / "
        "the worst impairment; a path is as strong as its weakest "
        "edge; an edge weighs evidence x magnitude (x extrapolated if known only through a class, x contested if "
        "disputed); support/harm = the best path x its kind factor (restores 1, escapes 0.8, compensates 0.5, "
        "parallel 0.3, contested restoration 0.5, aggravates 1)")


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
