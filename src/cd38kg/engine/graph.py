"""Projecting the knowledge graph onto a signed, weighted causal graph (networkx).

Nodes are entities in their cell context (``kb:cd38-on-mm`` and ``kb:cd38-on-nk`` are
different nodes). Which relations become edges, with which sign and direction, is read
from the ontology (``cd38:causalSign``, ``cd38:causalDirection``), not hard-coded.

An edge exists for every causal triple the knowledge graph holds (asserted, or inferred
by the reasoner for members of a class) that at least one finding supports. Each edge
keeps its supporting findings (marking those inherited through a class) and any findings
that report no effect for the same statement, which lower its weight and are shown as
conflicting evidence. A statement with no finding behind it is not used: every step of
an explanation must be traceable to a source.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from ..knowledge.facts import Facts
from ..model import Relation, Support
from ..vocab import CD38, OWL
from .scoring import ScoringWeights

if TYPE_CHECKING:
    import networkx as nx

Key = tuple[str, str, str]


@dataclass(frozen=True)
class Edge:
    """One causal edge: the statement behind it, its sign, weight and evidence."""

    subject: str
    relation: Relation
    object: str
    source: str
    target: str
    sign: int
    weight: float
    supports: tuple[Support, ...]
    counter: tuple[Support, ...]
    level: str

    @property
    def key(self) -> Key:
        return (self.subject, self.relation.iri, self.object)

    @property
    def aspect(self) -> str:
        return self.relation.aspect

    @cached_property
    def extrapolated(self) -> bool:
        """Known for this subject only through a class it belongs to (no finding of its own)."""
        return all(s.inherited_from for s in self.supports)


def _individuals(facts: Facts, iri: str) -> list[str]:
    """The individuals an IRI stands for: itself, or a class's (inferred) members."""
    if iri in facts.classes:
        return sorted(m for m in facts.members.get(iri, ()) if m not in facts.classes)
    return [iri]


def _in_cells(facts: Facts, iri: str) -> list[str]:
    """A molecule stated without a cell stands for each of its cell contexts (and itself)."""
    return [iri, *facts.contexts.get(iri, ())]


def statement_index(facts: Facts) -> dict[Key, list[Support]]:
    """Findings per (subject, predicate, object), spread to where they hold.

    * a class-level finding holds for every member of the class (``inherited_from``);
    * a finding on a bare molecule ("X decreases CD59") holds for that molecule in each
      cell context the knowledge base has for it ("CD59 on myeloma cells", ...);
    * a finding that reports *no* effect for one member, against a statement made for its
      class, is evidence against that statement for every member of the class: the class
      claim is what it disputes.
    """
    index: dict[Key, list[Support]] = defaultdict(list)
    causal = {iri for iri, relation in facts.relations.items() if relation.is_causal}
    spreading = set(facts.classes).union(facts.contexts)
    members: dict[str, list[str]] = {}  # each IRI's individuals, computed once
    disputed: set[Key] = set()  # statements with a member's own negative finding
    for finding in facts.findings:
        if finding.predicate not in causal:
            continue
        if finding.subject not in spreading and finding.object not in spreading:
            key = (finding.subject, finding.predicate, finding.object)
            index[key].append(Support(finding))
            if finding.is_negative:
                disputed.add(key)
            continue  # the usual finding: two individuals, stated where it holds
        subject_class = finding.subject if finding.subject in facts.classes else ""
        object_class = finding.object if finding.object in facts.classes else ""
        for s_context in _in_cells(facts, finding.subject):
            for o_context in _in_cells(facts, finding.object):
                if s_context != finding.subject and o_context != finding.object:
                    continue  # two bare molecules: which cell pairs with which is not stated
                context = finding.object if o_context != finding.object else \
                    (finding.subject if s_context != finding.subject else "")
                for node in (s_context, o_context):
                    if node not in members:
                        members[node] = _individuals(facts, node)
                for s in members[s_context]:
                    for o in members[o_context]:
                        index[(s, finding.predicate, o)].append(Support(finding, subject_class or object_class, context))
                        if finding.is_negative and not (subject_class or object_class):
                            disputed.add((s, finding.predicate, o))
    _spread_disputes_to_siblings(facts, index, disputed)
    return index


def _spread_disputes_to_siblings(facts: Facts, index: dict[Key, list[Support]], disputed: set[Key]) -> None:
    """Give every member of a class the counter-evidence seen for one of them (``disputed``: the
    statements with a negative finding of their own)."""
    for (s, p, o), supports in [(key, index[key]) for key in index if key in disputed]:
        own_negative = [x for x in supports if x.finding.is_negative and not x.inherited_from]
        if not own_negative:
            continue
        classes = {x.inherited_from for x in supports if x.inherited_from and not x.finding.is_negative}
        for cls in sorted(classes):
            for sibling in _individuals(facts, cls):
                if sibling == s:
                    continue
                target = index.get((sibling, p, o))
                if target is None:
                    continue
                known = {x.finding.iri for x in target}
                target.extend(Support(x.finding, cls) for x in own_negative if x.finding.iri not in known)


def edge_weight(supports: Sequence[Support], counter: Sequence[Support], facts: Facts,
                weights: ScoringWeights) -> tuple[float, str]:
    """Weight and evidence label of a statement from its findings.

    Evidence is the best level among the supporting findings; the magnitude comes from
    the most specific findings (the entity's own before those inherited from a class). A
    statement known only through a class weighs ``extrapolated`` times less than the same
    statement backed by the entity's own finding.
    """
    own = [s for s in supports if not s.inherited_from]
    best = max(supports, key=lambda s: facts.evidence_rank.get(s.finding.evidence_level, 0))
    level = facts.evidence_label.get(best.finding.evidence_level, "hypothesis")
    magnitude = max(weights.magnitude.get(s.finding.magnitude, 1.0) for s in own or supports)
    weight = weights.evidence.get(level, weights.evidence["hypothesis"]) * magnitude
    if not own:
        weight *= weights.extrapolated
    if counter:
        weight *= weights.contested
    return weight, level


def build_edges(facts: Facts, index: dict[Key, list[Support]], weights: ScoringWeights,
                without: set[Key] | None = None, without_findings: set[str] | None = None) -> list[Edge]:
    """Every sourced causal edge of the :func:`statement_index`, minus the statements or findings
    the user ablated."""
    without = without or set()
    without_findings = without_findings or set()
    materialised = set(facts.triples)
    edges = []
    for key in sorted(index):
        if key in without:
            continue
        s, p, o = key
        positive: list[Support] = []
        counter: list[Support] = []
        for x in index[key]:
            if x.finding.iri not in without_findings:
                (counter if x.finding.is_negative else positive).append(x)
        if not positive:
            continue
        if key not in materialised and not any(x.finding.object in facts.classes or x.context_from for x in positive):
            continue  # neither asserted nor inferred by the reasoner, nor spread from a class or molecule
        relation = facts.relations[p]
        weight, level = edge_weight(positive, counter, facts, weights)
        source, target = (o, s) if relation.reverse else (s, o)
        sign = 1 if relation.is_part_of else relation.sign
        edges.append(Edge(subject=s, relation=relation, object=o, source=source, target=target,
                          sign=sign, weight=weight, supports=tuple(positive), counter=tuple(counter),
                          level=level))
    return edges


def causal_graph(edges: Iterable[Edge]) -> nx.MultiDiGraph:
    """The signed multigraph: parallel edges of different relations stay distinct."""
    import networkx as nx

    graph = nx.MultiDiGraph()
    for edge in edges:
        graph.add_edge(edge.source, edge.target, key=edge.relation.iri, edge=edge)
    return graph


def agent_nodes(facts: Facts) -> set[str]:
    """Individuals that are therapeutic agents (never walked through by other agents' paths)."""
    return nodes_of_kind(facts, CD38.Agent)


def nodes_of_kind(facts: Facts, cls: str) -> set[str]:
    """Individuals (not classes) typed with ``cls``."""
    owl_class = OWL.Class
    return {iri for iri, e in facts.entities.items() if cls in e.types and owl_class not in e.types}
