"""Selecting the engine's facts from the RDF graph with SPARQL, into typed records.

The derivation reads only the knowledge dataset (curated, asserted and inferred graphs).
The literature claims live in a separate store that these queries cannot see: oxrdflib
answers over the union of all named graphs and ignores ``FROM`` clauses, so keeping the
claims physically apart is the only reliable wall.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import product, repeat
from sys import intern
from typing import TYPE_CHECKING, TypeVar

from ..model import Entity, Finding, Relation
from ..pickles import bulk_objects
from ..vocab import ASSERTED_GRAPH, CD38, CLAIMS_GRAPH, CURATED_GRAPH, INFERRED_GRAPH, OWL, PREFIXES, RDF
from .names import curie, expand
from .pattern import Pattern

if TYPE_CHECKING:
    import pyoxigraph
    from rdflib import Dataset, Graph

    from .written import WrittenTriples

T = TypeVar("T")

_PROLOGUE = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())

#: Labels of named entities, then their synonyms and cross-references, each read with one scan
#: and joined in Python (:func:`name_rows`): looking the optional names up entity by entity was
#: 12 s of selecting a million statements' facts on disk.
NAME_PROPERTIES = ("rdfs:label", "skos:altLabel", "oboInOwl:hasDbXref")
NAME_PATTERNS = (Pattern(expand("rdfs:label"), iri_subject=True), *(Pattern(expand(prop)) for prop in NAME_PROPERTIES[1:]))
#: Types as stated and the classes above them (joined in Python: walking ``rdfs:subClassOf*``
#: again for each of thousands of members was 12 s of selecting 100,000 statements' facts).
TYPED = Pattern(RDF.type, iri_subject=True, objects="resource")
#: Every class's superclasses, a blank class's (a restriction's) too: members may be typed with one.
Q_SUPERS = """SELECT DISTINCT ?c ?super WHERE { ?c rdfs:subClassOf+ ?super . FILTER(isIRI(?super)) }"""
Q_CLASSES = """SELECT DISTINCT ?c WHERE { ?c rdf:type owl:Class . FILTER(isIRI(?c)) }"""
#: A finding's properties, each read with one scan of its predicate and joined in Python by
#: finding: ten lookups per finding were 20 s of selecting 100,000 statements' facts on disk.
FINDING_PROPERTIES = ("cd38:subject", "cd38:predicate", "cd38:object", "cd38:source", "cd38:section",
                      "cd38:evidenceLevel", "rdfs:comment", "cd38:magnitude", "cd38:quantity")
#: The findings, then the values of each of :data:`FINDING_PROPERTIES`.
FINDING_PATTERNS = (Pattern(RDF.type, value=CD38.Finding), *(Pattern(expand(prop)) for prop in FINDING_PROPERTIES))
#: How many of :data:`FINDING_PROPERTIES` (the first) every finding must have.
REQUIRED_PROPERTIES = 3
#: The relations the causal graph is made of; their triples are read as a :class:`Pattern` each.
Q_CAUSAL = """SELECT DISTINCT ?p WHERE { ?p cd38:causalAspect ?aspect . FILTER(isIRI(?p)) }"""
Q_RELATIONS = """SELECT ?p ?label ?sign ?dir ?template ?tsv ?aspect WHERE {
  ?p rdf:type owl:ObjectProperty .
  OPTIONAL { ?p rdfs:label ?label } OPTIONAL { ?p cd38:causalSign ?sign } OPTIONAL { ?p cd38:causalAspect ?aspect }
  OPTIONAL { ?p cd38:causalDirection ?dir } OPTIONAL { ?p cd38:sentenceTemplate ?template }
  OPTIONAL { ?p cd38:tsvName ?tsv }
}"""
Q_CONFLICTS = """SELECT ?a ?b ?note WHERE {
  ?a cd38:conflictsWith ?b . OPTIONAL { ?a cd38:conflictNote ?note }
}"""
Q_EVIDENCE = """SELECT ?lvl ?label ?rank WHERE { ?lvl rdf:type cd38:EvidenceLevel ; rdfs:label ?label ; cd38:evidenceRank ?rank }"""
Q_CONTEXTS = """SELECT ?x ?m ?cell WHERE {
  ?x cd38:ofMolecule ?m . OPTIONAL { ?x cd38:inCell ?cell } FILTER(isIRI(?x) && isIRI(?m)) }"""
Q_THERAPEUTIC = """SELECT ?c WHERE { ?c cd38:therapeuticClass true }"""
Q_TARGETS = """SELECT DISTINCT ?a ?m WHERE { ?a cd38:targets ?m . FILTER(isIRI(?a) && isIRI(?m)) }"""
Q_CLAIMS = """SELECT ?c ?label ?against ?strategy ?kind ?mech ?src ?sec ?lvl WHERE {
  ?c rdf:type cd38:LiteratureClaim ; cd38:claimAgainst ?against ; cd38:claimStrategy ?strategy ; cd38:claimKind ?kind .
  OPTIONAL { ?c rdfs:label ?label } OPTIONAL { ?c cd38:claimMechanism ?mech }
  OPTIONAL { ?c cd38:source ?src } OPTIONAL { ?c cd38:section ?sec } OPTIONAL { ?c cd38:evidenceLevel ?lvl }
}"""


#: The graphs facts are read from: the curated knowledge, the projected findings, the inferences.
KNOWLEDGE_GRAPHS = (CURATED_GRAPH, ASSERTED_GRAPH, INFERRED_GRAPH)


def _superclasses(rows: list[tuple[str, ...]]) -> dict[str, set[str]]:
    """Class -> the named classes above it, from the rows of :data:`Q_SUPERS`; blank classes as ``_:id``."""
    above: dict[str, set[str]] = defaultdict(set)
    for c, sup in rows:
        above[c].add(sup)
    return above


def _types(rows: list[tuple[str, ...]], above: dict[str, set[str]]) -> dict[str, set[str]]:
    """Each individual's classes, from the rows of :data:`TYPED`: its stated types and every
    class ``above`` them (the IRIs among ``rdf:type/rdfs:subClassOf*``)."""
    types: dict[str, set[str]] = defaultdict(set)
    for e, t in rows:
        if not t.startswith("_:"):  # a blank class (a restriction) is no type of its own
            types[e].add(t)
        types[e].update(above.get(t, ()))
    return types


def finding_rows(graph: Dataset | Graph | pyoxigraph.Store, written: WrittenTriples | None = None) -> list[tuple[str, ...]]:
    """(finding, subject, predicate, object, source, section, evidence level, note, magnitude,
    quantity), sorted and distinct, "" where a finding lacks an optional property; a finding
    with two values of a property gives a row for each. The loader projects the findings from
    these rows and hands them on to :func:`select_facts`, so a load reads them once (from
    ``written``, the triples it has just written, where those hold them)."""
    return join_findings(select_together(graph, FINDING_PATTERNS, written))


def join_findings(selected: dict[Pattern | str, list[tuple[str, ...]]]) -> list[tuple[str, ...]]:
    """:func:`finding_rows` from the rows of :data:`FINDING_PATTERNS`.

    Joined a column at a time (a dictionary per property, looked up for every finding in C): a
    finding at a time was 18 s of loading a million statements. The few findings with two values
    of a property get a row for each combination afterwards.
    """
    ids = sorted({f for (f,) in selected[FINDING_PATTERNS[0]]})
    columns: list[list[str | None]] = []
    several: dict[str, dict[int, list[str]]] = defaultdict(dict)  # finding -> property -> its values
    for i, pattern in enumerate(FINDING_PATTERNS[1:]):
        pairs = selected.pop(pattern)  # each scan let go once read: they are most of a load's memory
        value_of = dict(pairs)
        if len(value_of) < len(pairs):
            values: dict[str, set[str]] = defaultdict(set)
            for f, value in pairs:
                values[f].add(value)
            for f, found in values.items():
                if len(found) > 1:
                    several[f][i] = sorted(found)
        del pairs
        columns.append(list(map(value_of.get, ids, repeat(None if i < REQUIRED_PROPERTIES else ""))))
    rows: list[tuple[str, ...]] = []
    for row in zip(ids, *columns, strict=True):
        if row[0] in several:  # sorted: each value list is, and product keeps their order
            by_property = several[row[0]]
            found = [by_property.get(i) or ([] if value is None else [value]) for i, value in enumerate(row[1:])]
            rows += [(row[0], *combination) for combination in product(*found)]
        elif None not in row:  # a finding without a subject, predicate or object is none
            rows.append(row)
    return rows


def name_rows(graph: Dataset | Graph | pyoxigraph.Store, written: WrittenTriples | None = None) -> list[tuple[str, str, str, str]]:
    """(entity, label, synonym, cross-reference) for every named entity, "" where it has no
    synonym or cross-reference (read from ``written`` as :func:`finding_rows` is)."""
    return join_names(select_together(graph, NAME_PATTERNS, written))


def join_names(selected: dict[Pattern | str, list[tuple[str, ...]]]) -> list[tuple[str, str, str, str]]:
    """:func:`name_rows` from the rows of :data:`NAME_PATTERNS`."""
    labels, synonyms, xrefs = (selected.pop(pattern) for pattern in NAME_PATTERNS)
    synonyms_of: dict[str, list[str]] = defaultdict(list)
    for e, synonym in synonyms:
        synonyms_of[e].append(synonym)
    xrefs_of: dict[str, list[str]] = defaultdict(list)
    for e, xref in xrefs:
        xrefs_of[e].append(xref)
    return [(e, label, synonym, xref) for e, label in labels
            for synonym in synonyms_of.get(e) or ("",) for xref in xrefs_of.get(e) or ("",)]


def states_findings(store: pyoxigraph.Store, graphs: tuple[str, ...]) -> bool:
    """True when ``graphs`` say anything :func:`finding_rows` reads: finding rows read before
    those graphs were added are then no longer all of them."""
    properties = " ".join(FINDING_PROPERTIES)
    return _states(store, graphs, f"{{ VALUES ?p {{ {properties} }} ?f ?p ?v }} UNION {{ ?f rdf:type cd38:Finding }}")


def states_names(store: pyoxigraph.Store, graphs: tuple[str, ...]) -> bool:
    """True when ``graphs`` say anything :func:`name_rows` reads (see :func:`states_findings`)."""
    return _states(store, graphs, f"VALUES ?p {{ {' '.join(NAME_PROPERTIES)} }} ?e ?p ?v")


def _states(store: pyoxigraph.Store, graphs: tuple[str, ...], pattern: str) -> bool:
    import pyoxigraph

    return bool(store.query(_PROLOGUE + f"ASK {{ {pattern} }}", default_graph=[pyoxigraph.NamedNode(g) for g in graphs]))


def select(graph: Dataset | Graph | pyoxigraph.Store, query: str,
           graphs: tuple[str, ...] = KNOWLEDGE_GRAPHS) -> list[tuple[str, ...]]:
    """Run a SELECT and return rows of plain strings ("" for unbound; a blank node as ``_:id``).

    On the Oxigraph backend (or given a pyoxigraph store) the query goes straight to
    pyoxigraph over the union of ``graphs`` (the knowledge graphs: the store also holds the
    literature claims and may hold derived strategies, which no fact is read from) and its
    solutions come back as CSV, whose
    cells are exactly the plain values: reading them with the C csv reader is 2-3x quicker
    than asking every solution for every value (most of selecting the facts at 100,000
    statements), and needs neither rdflib's terms nor its import. Values are interned: an IRI
    named by thousands of findings is then one string in memory and in the pickled caches.
    """
    import pyoxigraph

    inner = _oxigraph(graph)
    if inner is not None:
        return _rows(inner.query(_PROLOGUE + query, default_graph=[pyoxigraph.NamedNode(g) for g in graphs]))
    return _rdflib_rows(graph, query)


def _oxigraph(graph: Dataset | Graph | pyoxigraph.Store) -> pyoxigraph.Store | None:
    """The Oxigraph store under ``graph``, or None for a graph on another rdflib store."""
    import pyoxigraph

    return graph if isinstance(graph, pyoxigraph.Store) else getattr(graph.store, "_inner", None)


def select_together(graph: Dataset | Graph | pyoxigraph.Store, queries: Iterable[str | Pattern],
                    written: WrittenTriples | None = None,
                    graphs: tuple[str, ...] = KNOWLEDGE_GRAPHS) -> dict[str | Pattern, list[tuple[str, ...]]]:
    """:func:`select` of each of ``queries`` over ``graphs``, by query, :func:`together`; a
    :class:`Pattern` is answered from ``written`` when that holds its rows exactly."""
    queries = list(dict.fromkeys(queries))
    known = {query: rows for query in queries if isinstance(query, Pattern) and written is not None
             and (rows := written.rows(query, graphs)) is not None}
    rest = [query for query in queries if query not in known]
    read = together([lambda query=query: select(graph, query.query if isinstance(query, Pattern) else query, graphs)
                     for query in rest], graph)
    return known | dict(zip(rest, read, strict=True))


def together(selections: Sequence[Callable[[], T]], *graphs: Dataset | Graph | pyoxigraph.Store) -> list[T]:
    """The results of ``selections`` (SELECTs on ``graphs``), two at a time when every graph is
    on an Oxigraph store: Oxigraph evaluates and serialises a query without holding the GIL, so
    one query runs while the rows of another are read (1.8x for two scans of a million findings
    on disk; selecting them was most of loading a million statements). One at a time on
    rdflib's own stores, which are not for threads."""
    from concurrent.futures import ThreadPoolExecutor

    if any(_oxigraph(graph) is None for graph in graphs):
        return [selection() for selection in selections]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="cd38kg-select") as pool:
        return list(pool.map(lambda selection: selection(), selections))


def select_in(graph: Graph, query: str) -> list[tuple[str, ...]]:
    """Like :func:`select`, over ``graph`` alone (one layer of the store, as its default graph)."""
    from ..store.base import to_ox

    inner = getattr(graph.store, "_inner", None)
    if inner is not None:
        return _rows(inner.query(_PROLOGUE + query, default_graph=to_ox(graph.identifier)))
    return _rdflib_rows(graph, query)


def _rows(solutions: pyoxigraph.QuerySolutions) -> list[tuple[str, ...]]:
    import pyoxigraph

    rows = csv.reader(io.StringIO(solutions.serialize(format=pyoxigraph.QueryResultsFormat.CSV).decode()))
    next(rows)  # the header
    return [tuple(map(intern, row)) for row in rows]


def _rdflib_rows(graph: Dataset | Graph, query: str) -> list[tuple[str, ...]]:
    """The same rows from a graph on another rdflib store."""
    from rdflib import BNode

    return [tuple("" if v is None else intern(v.n3() if isinstance(v, BNode) else str(v)) for v in row)
            for row in graph.query(_PROLOGUE + query)]


@dataclass(frozen=True)
class Claim:
    """A strategy a review proposes (or reports failing) against a resistance mechanism."""

    iri: str
    label: str
    against: str
    strategy: str
    kind: str
    mechanisms: tuple[str, ...]
    source: str
    section: str
    evidence_level: str


@dataclass
class Facts:
    """Everything the engine reads, selected once per load."""

    entities: dict[str, Entity]
    classes: set[str]
    superclasses: dict[str, set[str]]
    findings: list[Finding]
    relations: dict[str, Relation]
    conflicts: dict[str, list[tuple[str, str]]]
    evidence_rank: dict[str, int]
    evidence_label: dict[str, str]
    triples: list[tuple[str, str, str]]
    members: dict[str, set[str]] = field(default_factory=dict)
    #: molecule -> the molecule-in-cell nodes the knowledge base has for it ("CD59" -> "CD59 on myeloma cells", ...)
    contexts: dict[str, list[str]] = field(default_factory=dict)
    #: molecule-in-cell node -> (molecule, cell population)
    context_of: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: classes declared therapeutic (drugs of one class share a mode of action: IMiDs, retinoids, ...)
    therapeutic_classes: set[str] = field(default_factory=set)
    #: agent -> the molecules it binds as its target (daratumumab -> CD38)
    targets: dict[str, set[str]] = field(default_factory=dict)

    def is_a(self, iri: str, cls: str) -> bool:
        """True when ``iri`` is (asserted or inferred) a member of ``cls``."""
        return cls in self.entities[iri].types if iri in self.entities else False

    def label(self, iri: str) -> str:
        entity = self.entities.get(iri)
        return entity.label if entity else curie(iri)


def select_facts(graph: Dataset | Graph, findings: list[tuple[str, ...]] | None = None,
                 names: list[tuple[str, str, str, str]] | None = None, written: WrittenTriples | None = None) -> Facts:
    """Select entities, findings, relations and causal triples from the knowledge graph;
    ``findings`` and ``names`` are its :func:`finding_rows` and :func:`name_rows` when the
    caller has read them already, and ``written`` the triples the loader has just written
    (each read of the store is several seconds of a million-statement load)."""
    with bulk_objects():  # they live as long as the knowledge base
        return _select_facts(graph, findings, names, written)


def _select_facts(graph: Dataset | Graph, rows: list[tuple[str, ...]] | None,
                  names: list[tuple[str, str, str, str]] | None, written: WrittenTriples | None) -> Facts:
    selected = select_together(graph, [*(FINDING_PATTERNS if rows is None else ()), *(NAME_PATTERNS if names is None else ()),
                                       TYPED, Q_SUPERS, Q_CLASSES, Q_RELATIONS, Q_CONFLICTS, Q_EVIDENCE, Q_CAUSAL,
                                       Q_CONTEXTS, Q_THERAPEUTIC, Q_TARGETS], written)
    causal = [Pattern(p, objects="iri") for (p,) in selected[Q_CAUSAL]]
    causal_rows = select_together(graph, causal, written)
    if rows is None:
        rows = join_findings(selected)
    if names is None:
        names = join_names(selected)
    labels: dict[str, str] = {}
    synonyms: dict[str, set[str]] = defaultdict(set)
    xrefs: dict[str, set[str]] = defaultdict(set)
    for e, label, alt, xref in names:
        if e not in labels or label < labels[e]:  # of two labels the first in code-point order, not in a scan's
            labels[e] = label
        if alt:
            synonyms[e].add(alt)
        if xref:
            xrefs[e].add(xref)
    above = _superclasses(selected[Q_SUPERS])
    types = _types(selected.pop(TYPED), above)
    classes = {c for (c,) in selected[Q_CLASSES]}
    superclasses: dict[str, set[str]] = defaultdict(set, {c: sups for c, sups in above.items() if not c.startswith("_:")})
    entities = {}
    for iri, label in labels.items():
        kinds = set(types.get(iri, set()))
        if iri in classes:
            kinds.add(OWL.Class)
        entities[iri] = Entity(iri=iri, label=label, synonyms=tuple(sorted(synonyms[iri] - {label})),
                               types=tuple(sorted(kinds)), xrefs=tuple(sorted(xrefs[iri])), curie=curie(iri))
    findings = [
        Finding(iri=f, subject=s, predicate=p, object=o, source=src, section=sec, evidence_level=lvl,
                note=note, magnitude=mag, quantity=qty)
        for f, s, p, o, src, sec, lvl, note, mag, qty in rows
    ]
    relations = {}
    for p, label, sign, direction, template, tsv, aspect in selected[Q_RELATIONS]:
        if p in relations:
            continue
        relations[p] = Relation(iri=p, label=label or curie(p), sign=int(sign) if sign else 0,
                                reverse=direction == "reverse",
                                template=template or "{subject} " + (label or curie(p)) + " {object}",
                                tsv_name=tsv, aspect=aspect)
    conflicts: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for a, b, note in sorted(set(selected[Q_CONFLICTS])):
        conflicts[a].append((b, note))
        conflicts[b].append((a, note))
    rank, level_label = {}, {}
    for lvl, label, value in selected[Q_EVIDENCE]:
        rank[lvl] = int(value)
        level_label[lvl] = label
    triples = sorted({(s, pattern.predicate, o) for pattern in causal for s, o in causal_rows.pop(pattern)})
    members: dict[str, set[str]] = defaultdict(set)
    for iri, entity in entities.items():
        for cls in entity.types:
            members[cls].add(iri)
    contexts: dict[str, list[str]] = defaultdict(list)
    context_of: dict[str, tuple[str, str]] = {}
    for node, molecule, cell in sorted(set(selected[Q_CONTEXTS])):
        contexts[molecule].append(node)
        context_of[node] = (molecule, cell)
    therapeutic = {c for (c,) in selected[Q_THERAPEUTIC]}
    targets: dict[str, set[str]] = defaultdict(set)
    for agent, molecule in selected[Q_TARGETS]:
        targets[agent].add(molecule)
    return Facts(entities=entities, classes=classes, superclasses=dict(superclasses), findings=findings,
                 relations=relations, conflicts=dict(conflicts), evidence_rank=rank,
                 evidence_label=level_label, triples=triples, members=dict(members), contexts=dict(contexts),
                 context_of=context_of,
                 therapeutic_classes=therapeutic, targets=dict(targets))


def select_claims(graph: Graph | pyoxigraph.Store) -> list[Claim]:
    """The literature claims (used only to label and evaluate, never to derive)."""
    grouped: dict[str, dict[str, object]] = {}
    for c, label, against, strategy, kind, mech, src, sec, lvl in select(graph, Q_CLAIMS, (CLAIMS_GRAPH,)):
        entry = grouped.setdefault(c, {"label": label, "against": against, "strategy": strategy, "kind": kind,
                                       "mechanisms": set(), "source": src, "section": sec, "level": lvl})
        if mech:
            entry["mechanisms"].add(mech)  # type: ignore[union-attr]
    return [Claim(iri=c, label=str(v["label"]), against=str(v["against"]), strategy=str(v["strategy"]),
                  kind=str(v["kind"]), mechanisms=tuple(sorted(v["mechanisms"])),  # type: ignore[arg-type]
                  source=str(v["source"]), section=str(v["section"]), evidence_level=str(v["level"]))
            for c, v in sorted(grouped.items())]


__all__ = ["Claim", "Facts", "finding_rows", "name_rows", "select", "select_claims", "select_facts", "select_in", "select_together",
           "states_findings", "together"]
