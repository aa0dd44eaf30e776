"""What an endpoint's knowledge base is fetched for: the part of it the engine's questions can reach.

Two plans, both ending in the same local copy (quads with their named graphs):

* **every question** (:func:`fetch_for_every_question`): the nodes within the path limit of
  every anti-CD38 antibody, resistance and mechanism of action, following relations both
  ways. It serves ``hypotheses``, ``profile`` and ``query``, which range over all agents; on a
  large server it is most of the graph.
* **one question** (:func:`fetch_for_question`): the names a question is about (an antibody,
  partners, a resistance) are found on the server by their labels, synonyms and
  cross-references, and the walk goes *forward* only, the way the engine's paths run, from
  them and from every anti-CD38 antibody (whose mechanisms set the yardstick of reliance).
  A path from a question's entity to a mechanism never leaves that forward neighbourhood, so
  ``explain`` answers over it exactly as over the whole graph; its size follows the question,
  not the server.

The forward walk reads edges the way the engine builds them (:func:`cd38kg.engine.graph.
statement_index`): from findings whose subject is the node, one of its classes (class-level
findings hold for members) or its molecule (a finding on a bare molecule holds in each cell
context); from findings of a *reverse* relation (``requires``, ``mediated by``) whose object is
the node; a finding's causal target stands for itself, its cell contexts and, for a class, its
members. Agents, resistances and patient factors other than the question's own are reached
but not walked through, as no path may pass them. Besides the paths, the engine reads the
molecule and cell of each context, the expression levels recorded for a lesion molecule's other
contexts (which effector cells escape it) and members' negative findings against a class-level
finding (evidence against the whole class): those are fetched too.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..knowledge.materialise import reachable
from ..knowledge.names import MAX_NAME_LENGTH, NameIndex, expand, lookup_keys, normalize
from ..model import Entity
from ..vocab import CD38, NAMES_GRAPH, OWL, RDF, RDFS, SKOS

if TYPE_CHECKING:
    import pyoxigraph

#: IRIs per ``VALUES`` block: small enough for a GET-sized form and well under row caps.
BATCH = 200
SEED_CLASSES = (CD38.AntiCD38Antibody, CD38.ResistanceMechanism, CD38.MechanismOfAction)
SCHEMA_CLASSES = (OWL.Ontology, OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty,
                  OWL.AllDisjointClasses, CD38.EvidenceLevel, CD38.ExpressionLevel)
#: Relations that link a record to shared reference nodes; following them would reach everything.
NOT_FOLLOWED = (CD38.source, CD38.evidenceLevel, CD38.subject, CD38.predicate, CD38.object)
#: Kinds no path walks through (:meth:`cd38kg.engine.explain.Engine.closed_to_paths`).
CLOSED_KINDS = (CD38.Agent, CD38.ResistanceMechanism, CD38.PatientFactor)
#: A subject's quads, and a blank object's own quads beside them (``?p2 ?o2``) in the same answer,
#: whose blank-node labels are its own. A ``UNION`` rather than an ``OPTIONAL``: Oxigraph's server
#: answers it in about two thirds of the time (the left join probes every object).
DESCRIBED = "{ ?s ?p ?o } UNION { ?s ?p ?o FILTER(isBlank(?o)) ?o ?p2 ?o2 }"
#: Where names are written: what :class:`cd38kg.knowledge.names.NameIndex` indexes.
NAME_PROPERTIES = (RDFS.label, SKOS.altLabel, "http://www.geneontology.org/formats/oboInOwl#hasDbXref")
_GREEK = {"a": "α", "b": "β", "g": "γ", "d": "δ", "e": "ε", "k": "κ", "l": "λ"}


class Endpoint(Protocol):
    """The SPARQL protocol as the plans use it (:class:`cd38kg.store.remote.RemoteStore`)."""

    def select(self, query: str, terms: bool = False) -> list[dict[str, Any]]: ...

    def quads(self, query: str) -> Iterator[Any]: ...


def fetch_schema(endpoint: Endpoint, store: pyoxigraph.Store) -> None:
    """The vocabulary fact selection reads: classes, relations, evidence and expression levels."""
    kinds = " ".join(f"<{k}>" for k in SCHEMA_CLASSES)
    store.bulk_extend(endpoint.quads(f"""SELECT ?g ?s ?p ?o ?p2 ?o2 WHERE {{
  VALUES ?kind {{ {kinds} }} GRAPH ?t {{ ?s <{RDF.type}> ?kind }}
  GRAPH ?g {{ {DESCRIBED} }} }}"""))


def fetch_for_every_question(endpoint: Endpoint, store: pyoxigraph.Store, hops: int) -> None:
    """The neighbourhood of every antibody, resistance and mechanism, ``hops`` steps both ways."""
    fetch_schema(endpoint, store)
    seeds = " ".join(f"<{k}>" for k in SEED_CLASSES)
    nodes = {row["x"] for row in endpoint.select(
        f"SELECT DISTINCT ?x WHERE {{ VALUES ?kind {{ {seeds} }} GRAPH ?h {{ ?c <{RDFS.subClassOf}>* ?kind }} "
        f"GRAPH ?g {{ ?x <{RDF.type}> ?c }} FILTER(isIRI(?x)) }}")}
    frontier = set(nodes)
    skip = ", ".join(f"<{p}>" for p in NOT_FOLLOWED)
    for _ in range(hops):
        reached: set[str] = set()
        for batch in batches(frontier):
            reached |= {row["n"] for row in endpoint.select(f"""SELECT DISTINCT ?n WHERE {{
  VALUES ?x {{ {batch} }}
  GRAPH ?g {{ {{ ?x ?p ?n }} UNION {{ ?n ?p ?x }} }} GRAPH ?h {{ ?p <{RDF.type}> <{OWL.ObjectProperty}> }}
  FILTER(isIRI(?n) && ?p NOT IN ({skip})) }}""")}
        frontier = reached - nodes
        nodes |= frontier
        if not frontier:
            break
    records: set[str] = set()
    for batch in batches(nodes):
        records |= {row["f"] for row in endpoint.select(f"""SELECT DISTINCT ?f WHERE {{
  VALUES ?x {{ {batch} }} GRAPH ?g {{ {{ ?f <{CD38.subject}> ?x }} UNION {{ ?f <{CD38.object}> ?x }} }} }}""")}
    _describe_with_references(endpoint, store, nodes | records)


def fetch_for_question(endpoint: Endpoint, store: pyoxigraph.Store, names: Sequence[str], hops: int) -> None:
    """The forward neighbourhood, ``hops`` steps, of the entities ``names`` mean and of every
    anti-CD38 antibody, with what the engine reads beside the paths (see the module)."""
    fetch_schema(endpoint, store)
    schema = _Schema(store)
    seeds = find_named(endpoint, names) | _subjects(endpoint, RDF.type, schema.below(CD38.AntiCD38Antibody))
    closed = set().union(*(schema.below(kind) for kind in CLOSED_KINDS))
    seen, frontier, records = set(seeds), set(seeds), set()
    for depth in range(hops + 1):
        describe(endpoint, store, frontier)
        if depth == hops or not frontier:
            break
        local = _Local(store, frontier)
        walked = {v for v in frontier if v in seeds or not local.types(v) & closed}
        stand_ins = set(walked)
        for node in walked:
            stand_ins |= schema.above(local.types(node)) | local.values(node, CD38.ofMolecule)
        reached: set[str] = set()
        causal_targets: set[str] = set()
        for finding, predicate, target in _findings_from(endpoint, stand_ins, schema.reverse):
            records.add(finding)
            (causal_targets if predicate in schema.causal else reached).add(target)
        reached |= causal_targets | _subjects(endpoint, CD38.ofMolecule, causal_targets)
        reached |= _subjects(endpoint, RDF.type, set().union(*(schema.below(t) for t in causal_targets & schema.classes)))
        for node in walked:  # a context's molecule and cell (their lineage decides who escapes)
            reached |= local.values(node, CD38.ofMolecule) | local.values(node, CD38.inCell)
        frontier = reached - seen
        seen |= frontier
    local = _Local(store, seen)
    contexts, expressed = _expression_records(endpoint, {m for v in seen for m in local.values(v, CD38.ofMolecule)})
    records |= expressed
    records |= _subjects(endpoint, CD38.conflictsWith, records)
    describe(endpoint, store, records | (contexts - seen))
    held = seen | contexts | records
    _describe_with_references(endpoint, store, _negative_member_findings(endpoint, store, records, schema), held)


def fetch_named(endpoint: Endpoint, store: pyoxigraph.Store, names: Sequence[str]) -> None:
    """The entities ``names`` may mean, with the vocabulary that says what kind each is: enough
    to resolve a query's parameters, and no neighbourhood."""
    fetch_schema(endpoint, store)
    describe(endpoint, store, find_named(endpoint, names))


def find_named(endpoint: Endpoint, names: Sequence[str]) -> set[str]:
    """The IRIs of the server's entities that ``names`` may mean: every entity the name index
    would match, perhaps a few more (the local copy's own index then decides exactly).

    A knowledge base loaded by cd38kg carries its names graph, where each key the name index
    looks a name up under is one index lookup; names it does not hold (or a server without
    that graph) are matched by scanning every name that contains the name's longest word."""
    found: set[str] = set()
    pending: dict[str, Iterator[str]] = {}
    for name in names:
        iri = expand(name)
        if iri is not None:  # an IRI or CURIE names one entity exactly
            found.add(iri)
        elif len(name) <= MAX_NAME_LENGTH:  # longer ones are refused when the name is resolved
            pending[name] = _distinct(lookup_keys(name))
    unmatched = []
    while pending:  # key by key, as the name index looks up: an identifier's standard spelling
        asked = {name: key for name, keys in pending.items() if (key := next(keys, None)) is not None}
        unmatched += [name for name in pending if name not in asked]  # (a registry lookup) only when needed
        held = _held_keys(endpoint, set(asked.values()))
        for name, key in asked.items():
            if held.get(key):
                found |= held[key]
                del pending[name]
        pending = {name: keys for name, keys in pending.items() if name in asked}
    return found | _scan_names(endpoint, unmatched)


def _distinct(keys: Iterator[str]) -> Iterator[str]:
    """``keys`` without repeats, still lazily (a name is often its own singular)."""
    seen: set[str] = set()
    for key in keys:
        if key not in seen:
            seen.add(key)
            yield key


def _held_keys(endpoint: Endpoint, keys: set[str]) -> dict[str, set[str]]:
    """Name key -> the entities the server's names graph holds under it."""
    import pyoxigraph as ox

    held: dict[str, set[str]] = defaultdict(set)
    wanted = sorted(keys)
    for start in range(0, len(wanted), BATCH):
        values = " ".join(str(ox.Literal(key)) for key in wanted[start:start + BATCH])  # written by Oxigraph
        for row in endpoint.select(f"SELECT ?e ?k WHERE {{ VALUES ?k {{ {values} }} "
                                   f"GRAPH <{NAMES_GRAPH}> {{ ?e <{CD38.nameKey}> ?k }} }}"):
            held[row["k"]].add(row["e"])
    return held


def _scan_names(endpoint: Endpoint, names: Sequence[str]) -> set[str]:
    """Entities named ``names``, found without the names graph: the server is asked for every
    name containing each name's longest word (Greek letters and case folded), and the exact
    match is made locally. For a name that matches nothing, the nearest names found are fetched
    too, so the error can say what was meant ("daratumumabb": daratumumab)."""
    patterns = set()
    for name in names:
        words = re.findall(r"\w+", normalize(name))
        if words:
            words[-1] = _without_plural(words[-1])
            patterns.add("".join(f"[{c}{_GREEK[c]}]" if c in _GREEK else c for c in max(words, key=len)))
    if not patterns:
        return set()
    properties = " ".join(f"<{p}>" for p in NAME_PROPERTIES)
    rows = endpoint.select(f"""SELECT DISTINCT ?e ?p ?n WHERE {{ VALUES ?p {{ {properties} }}
  GRAPH ?g {{ ?e ?p ?n }} FILTER(isIRI(?e) && REGEX(STR(?n), "{'|'.join(sorted(patterns))}", "i")) }}""")
    written: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        written[row["e"]][row["p"]].append(row["n"])
    index = NameIndex(Entity(iri=iri, label=min(by[RDFS.label], default=""), synonyms=tuple(by[SKOS.altLabel]),
                             types=(), xrefs=tuple(by[NAME_PROPERTIES[2]]), curie="")
                      for iri, by in written.items())
    found: set[str] = set()
    for name in names:
        exact = index.candidates(name)
        suggested = set() if exact else set(index.suggest(name))
        found |= exact | {iri for iri in written if index.entities[iri].label in suggested}
    return found


def _without_plural(word: str) -> str:
    """A word's stem that a singular or plural spelling both contain (``therapies``/``therapy``)."""
    return word[:-3] if len(word) > 5 else word[:-1] if len(word) > 3 else word


def _findings_from(endpoint: Endpoint, stand_ins: Iterable[str],
                   reverse: set[str]) -> Iterator[tuple[str, str, str]]:
    """(finding, predicate, the node it leads to) for the findings out of ``stand_ins``: theirs
    as subjects, and those of reverse relations naming them as objects."""
    flipped = " ".join(f"<{p}>" for p in sorted(reverse))
    backwards = (f"UNION {{ VALUES ?p {{ {flipped} }} GRAPH ?h {{ ?f <{CD38.object}> ?x ; <{CD38.predicate}> ?p ; "
                 f"<{CD38.subject}> ?n }} }}") if flipped else ""
    for batch in batches(stand_ins):
        for row in endpoint.select(f"""SELECT DISTINCT ?f ?p ?n WHERE {{ VALUES ?x {{ {batch} }}
  {{ GRAPH ?g {{ ?f <{CD38.subject}> ?x ; <{CD38.predicate}> ?p ; <{CD38.object}> ?n }} }} {backwards}
  FILTER(isIRI(?n)) }}"""):
            yield row["f"], row["p"], row["n"]


def _subjects(endpoint: Endpoint, predicate: str, objects: Iterable[str]) -> set[str]:
    """The IRIs with ``predicate`` to any of ``objects``: the findings marked as conflicting with
    some (the mark is stated on one of the two, and an answer reports it beside either), the
    cell contexts of molecules (a finding on a bare molecule holds in each), the members of
    classes (given with their subclasses)."""
    found: set[str] = set()
    for batch in batches(objects):
        found |= {row["x"] for row in endpoint.select(
            f"SELECT DISTINCT ?x WHERE {{ VALUES ?o {{ {batch} }} GRAPH ?g {{ ?x <{predicate}> ?o }} FILTER(isIRI(?x)) }}")}
    return found


def _expression_records(endpoint: Endpoint, molecules: Iterable[str]) -> tuple[set[str], set[str]]:
    """The contexts of ``molecules`` with an expression level recorded, and those records."""
    nodes: set[str] = set()
    records: set[str] = set()
    for batch in batches(molecules):
        for row in endpoint.select(f"""SELECT DISTINCT ?c ?f WHERE {{ VALUES ?m {{ {batch} }}
  GRAPH ?g {{ ?c <{CD38.ofMolecule}> ?m }}
  GRAPH ?h {{ ?f <{CD38.subject}> ?c ; <{CD38.predicate}> <{CD38.expressionLevel}> }} }}"""):
            nodes.add(row["c"])
            records.add(row["f"])
    return nodes, records


def _negative_member_findings(endpoint: Endpoint, store: pyoxigraph.Store, records: set[str],
                              schema: _Schema) -> set[str]:
    """Findings of no effect with the predicate and object of a class-level finding among
    ``records``: a member's own such finding disputes the class claim for every member."""
    claims = set()
    local = _Local(store, records)
    for finding in records:
        if local.values(finding, CD38.subject) & schema.classes:
            for predicate in local.values(finding, CD38.predicate) & schema.causal:
                claims |= {(predicate, o) for o in local.values(finding, CD38.object)}
    found: set[str] = set()
    predicates = ", ".join(sorted({f"<{p}>" for p, _ in claims}))
    for batch in batches({o for _, o in claims}):
        # From the findings of no effect (few) to their objects: starting from the claims' objects
        # (hubs with thousands of findings) costs a second on a million-statement server.
        negative = " UNION ".join(f"""{{ GRAPH ?g {{ ?f <{CD38.magnitude}> "{m}" . ?f <{CD38.object}> ?o .
  ?f <{CD38.predicate}> ?p }} }}""" for m in ("none", "unknown"))
        found |= {row["f"] for row in endpoint.select(f"""SELECT ?f ?p ?o WHERE {{ {negative}
  FILTER(?o IN ({batch.replace(" ", ", ")}) && ?p IN ({predicates})) }}""") if (row["p"], row["o"]) in claims}
    return found


def describe(endpoint: Endpoint, store: pyoxigraph.Store, subjects: Iterable[str]) -> None:
    """Every quad of ``subjects`` into ``store`` (a blank object with its own quads)."""
    for batch in batches(subjects):
        store.bulk_extend(endpoint.quads(f"""SELECT ?g ?s ?p ?o ?p2 ?o2 WHERE {{
  VALUES ?s {{ {batch} }} GRAPH ?g {{ {DESCRIBED} }} }}"""))


def _describe_with_references(endpoint: Endpoint, store: pyoxigraph.Store, subjects: set[str],
                              already: set[str] | None = None) -> None:
    """``subjects`` described (but those ``already`` were), then one more level without walking
    on: the sources, evidence levels and boundary entities their statements name, so that each
    has its label."""
    already = already or set()
    described = subjects | already
    describe(endpoint, store, subjects - already)
    named: set[str] = set()
    subjects_held: set[str] = set()
    for quad in store.quads_for_pattern(None, None, None, None):
        if type(quad.subject).__name__ == "NamedNode":
            subjects_held.add(quad.subject.value)
        if type(quad.object).__name__ == "NamedNode":
            named.add(quad.object.value)
    describe(endpoint, store, named - subjects_held - described)


def batches(iris: Iterable[str]) -> Iterator[str]:
    """``VALUES`` blocks of at most :data:`BATCH` IRIs, in a stable order."""
    ordered = sorted(iris)
    for start in range(0, len(ordered), BATCH):
        yield " ".join(f"<{iri}>" for iri in ordered[start:start + BATCH])


class _Schema:
    """The fetched ontology as the walk reads it: the class hierarchy and the relations."""

    def __init__(self, store: pyoxigraph.Store) -> None:
        import pyoxigraph as ox

        def pairs(predicate: str) -> Iterator[tuple[str, str]]:
            for quad in store.quads_for_pattern(None, ox.NamedNode(predicate), None, None):
                if isinstance(quad.subject, ox.NamedNode):
                    yield quad.subject.value, getattr(quad.object, "value", "")

        self._up: dict[str, set[str]] = defaultdict(set)
        self._down: dict[str, set[str]] = defaultdict(set)
        for sub, sup in pairs(RDFS.subClassOf):
            self._up[sub].add(sup)
            self._down[sup].add(sub)
        self.classes = {s for s, kind in pairs(RDF.type) if kind == OWL.Class}
        self.causal = {p for p, sign in pairs(CD38.causalSign) if sign not in ("0", "")}
        self.causal |= {p for p, aspect in pairs(CD38.causalAspect) if aspect == "part-of"}
        self.reverse = {p for p, direction in pairs(CD38.causalDirection) if direction == "reverse"}

    def above(self, classes: Iterable[str]) -> set[str]:
        """``classes`` and every class above them."""
        return set().union(*(reachable(c, self._up) for c in classes))

    def below(self, cls: str) -> set[str]:
        """``cls`` and every class below it."""
        return reachable(cls, self._down)


class _Local:
    """The IRI-valued statements the local copy holds about some nodes."""

    def __init__(self, store: pyoxigraph.Store, nodes: Iterable[str]) -> None:
        import pyoxigraph as ox

        self._values: dict[tuple[str, str], set[str]] = defaultdict(set)
        for node in nodes:
            for quad in store.quads_for_pattern(ox.NamedNode(node), None, None, None):
                if isinstance(quad.object, ox.NamedNode):
                    self._values[(node, quad.predicate.value)].add(quad.object.value)

    def values(self, node: str, predicate: str) -> set[str]:
        return self._values.get((node, predicate), set())

    def types(self, node: str) -> set[str]:
        return self.values(node, RDF.type)
