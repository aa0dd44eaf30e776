"""OWL reasoning: HermiT for the classes, linear materialisation for the individuals, and the cache.

Class-level knowledge must hold for members: a fact stated on ``cd38:IMiD`` becomes a
``hasValue`` restriction that lenalidomide, pomalidomide and any IMiD a user adds later
inherit, and an antibody that targets CD38 is an anti-CD38 antibody. HermiT does this with
a tableau over every individual, which costs minutes and gigabytes at 100,000 user
statements. So the work is split:

* HermiT classifies the TBox (classes, properties, class-level facts and the individuals
  they name) and proves it consistent: :func:`classify`, seconds, and only when the
  classes change (an extension adding classes or class-level facts); the bundled
  classification ships in ``ontology/inferred/classes.nt``;
* :mod:`cd38kg.knowledge.materialise` applies that classification to the individuals in time linear
  in the statements, and the compliance test proves it adds exactly what HermiT adds;
* inputs that use OWL beyond the materialiser's fragment go to HermiT whole, as before.

The bundled knowledge base ships HermiT's own inferences (``ontology/inferred/hermit.nt``),
and inferences for user extensions are cached under ``$XDG_CACHE_HOME/cd38kg``, keyed by a
fingerprint of every input file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from ..errors import Cd38kgError, ReasonerUnavailable
from ..progress import say, step
from ..resources import bundled_inferences_file
from ..vocab import CD38, OWL, RDF, RDFS
from .materialise import (
    UNSUPPORTED_PREDICATES,
    UNSUPPORTED_TYPES,
    Clash,
    Materialised,
    Schema,
    Triple,
    is_class_iri,
    materialise,
    read_schema,
)

if TYPE_CHECKING:
    from rdflib import Graph

    from .written import WrittenTriples

#: Bump when the projection of findings to OWL or the derivation changes, so stale caches are not reused.
PROJECTION_VERSION = "2"
_HEADER = "# cd38kg HermiT inferences; input fingerprint: "
_CLASSES_HEADER = "# cd38kg HermiT classification; TBox fingerprint: "
#: What makes a subject part of the TBox rather than the data it describes.
TBOX_KINDS = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, OWL.AllDisjointClasses)
TBOX_PREDICATES = (RDFS.subClassOf, OWL.equivalentClass, OWL.disjointWith, OWL.disjointUnionOf, RDFS.subPropertyOf,
                   OWL.inverseOf, OWL.equivalentProperty, RDFS.domain, RDFS.range)
RECORD_KINDS = (CD38.Finding, CD38.LiteratureClaim)


class InconsistentOntology(Cd38kgError):
    """HermiT found the ontology inconsistent."""

    exit_code = 1


@dataclass
class TBox:
    """The classes and what HermiT needs to classify them, as rdflib triples and as strings."""

    graph: Graph
    triples: list[Triple]
    lists: dict[str, list[str]]
    key: str


def fingerprint(inputs: Iterable[tuple[str, bytes]]) -> str:
    """A stable hash of the reasoner's inputs (file names and contents) and code version."""
    digest = hashlib.sha256(f"{__version__}/{PROJECTION_VERSION}".encode())
    for name, content in inputs:
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()


def cache_dir() -> Path:
    """Where inferences for user extensions are cached."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cd38kg"


def bundled_classes_file() -> Path:
    """HermiT's classification of the bundled classes, shipped beside the bundled inferences."""
    return bundled_inferences_file().with_name("classes.nt")


def cached_inferences(key: str) -> str | None:
    """The cached inference N-Triples for ``key``, bundled or per-user, if present."""
    return _cached(_HEADER + key, (bundled_inferences_file(), cache_dir() / f"inferences-{key}.nt"))


def cached_classification(key: str) -> str | None:
    """The cached classification N-Triples for a TBox fingerprint, bundled or per-user, if present."""
    return _cached(_CLASSES_HEADER + key, (bundled_classes_file(), cache_dir() / f"classes-{key}.nt"))


def _cached(header: str, paths: Iterable[Path]) -> str | None:
    for path in paths:
        try:
            with path.open(encoding="utf-8") as handle:
                if handle.readline().strip() == header:
                    return handle.read()
        except OSError:
            continue
    return None


def store_inferences(key: str, ntriples: str, path: Path | None = None, *, header: str = _HEADER,
                     name: str = "inferences") -> Path:
    """Write inferences atomically (a crash never leaves a half-written cache)."""
    target = path or cache_dir() / f"{name}-{key}.nt"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=target.parent, delete=False,
                                     suffix=".tmp") as handle:
        handle.write(header + key + "\n")
        handle.write(ntriples)
        tmp = Path(handle.name)
    tmp.replace(target)
    return target


# -- the pipeline the loader and validate call -------------------------------------------------


def infer(curated: Graph, asserted: Graph, what: str, strict: bool = True,
          written: WrittenTriples | None = None) -> Materialised:
    """Everything the reasoner adds to ``curated`` + ``asserted`` (the loader's two layers).

    HermiT classifies the TBox only when its classification is not cached; the individuals
    are materialised in linear time. Inputs using OWL the materialiser does not implement are
    reasoned over whole by HermiT (said on stderr), with no clash list: HermiT raised if any.
    ``strict`` raises :class:`InconsistentOntology` on a clash, as HermiT would; ``validate``
    asks for the clashes instead, to explain them. ``written`` holds the triples the loader has
    just written to the two layers (:func:`abox`).
    """
    beyond = unsupported_in(curated, asserted)
    if beyond:
        names = ", ".join(iri.rsplit("#", 1)[-1] for iri in beyond)
        say(f"{what} uses OWL that the linear reasoning does not cover ({names}): running HermiT over everything")
        with step(f"Reasoning with HermiT over {what}"):
            return Materialised(run_hermit(owl_input(curated, asserted)), {}, [])
    schema = load_schema(curated, asserted, what)
    with step(f"Materialising class knowledge for the members of {what}"):
        types, edges = abox(curated, asserted, schema, written)
        result = materialise(schema, types, edges)
    if strict and result.clashes:
        clash = result.clashes[0]
        raise InconsistentOntology(f"the ontology is inconsistent: {describe(clash)}")
    return result


def describe(clash: Clash) -> str:
    """One clause naming a clash by CURIEs."""
    from .names import curie

    who, terms = curie(clash.individual), [curie(t) for t in clash.terms]
    if clash.kind == "disjoint":
        return f"{who} is both {terms[0]} and {terms[1]}, which are disjoint"
    if clash.kind == "irreflexive":
        return f"{who} {terms[0]} itself, but {terms[0]} is irreflexive"
    if clash.kind == "asymmetric":
        return f"{who} {terms[0]} {terms[1]} and back, but {terms[0]} is asymmetric"
    if clash.kind == "unsatisfiable":
        return f"{who} is a {terms[0]}, a class nothing can belong to"
    return f"{who} has two {terms[0]} values that would have to be one thing, both {terms[1]} and {terms[2]}"


def module(curated: Graph, asserted: Graph, individuals: Iterable[str]) -> Graph:
    """The TBox plus every statement about ``individuals``: a bounded input on which HermiT can
    confirm a clash the materialiser found, without a tableau over the whole data."""
    from rdflib import URIRef

    graph = read_tbox(curated, asserted).graph
    skip = records(curated)
    for iri in individuals:
        node = URIRef(iri)
        for source in (curated, asserted):
            for triple in (*source.triples((node, None, None)), *source.triples((None, None, node))):
                if triple[0] not in skip:
                    graph.add(triple)
    return graph


def load_schema(curated: Graph, asserted: Graph, what: str) -> Schema:
    """The classified TBox of these graphs: from the cache, else from a HermiT run over the classes."""
    tbox = read_tbox(curated, asserted)
    text = cached_classification(tbox.key)
    if text is None:
        with step(f"Reasoning with HermiT over the classes of {what}"):
            classification = classify(tbox.graph)
        store_inferences(tbox.key, inferences_ntriples(classification), header=_CLASSES_HEADER, name="classes")
    else:
        classification = parse_inferences(text)
    return read_schema(tbox.triples, tbox.lists, classification)


def unsupported_in(*graphs: Graph) -> list[str]:
    """OWL vocabulary in ``graphs`` beyond the materialiser's fragment (index lookups, not a scan)."""
    from rdflib import URIRef

    found = set()
    for graph in graphs:
        for p in UNSUPPORTED_PREDICATES:
            if next(iter(graph.triples((None, URIRef(p), None))), None) is not None:
                found.add(p)
        for kind in UNSUPPORTED_TYPES:
            if next(iter(graph.triples((None, URIRef(RDF.type), URIRef(kind)))), None) is not None:
                found.add(kind)
    return sorted(found)


def records(graph: Graph) -> set[object]:
    """Finding and literature-claim records: provenance, not individuals the reasoner sees."""
    from rdflib import URIRef

    return {s for kind in RECORD_KINDS for s in graph.subjects(URIRef(RDF.type), URIRef(kind))}


def abox(curated: Graph, asserted: Graph, schema: Schema,
         written: WrittenTriples | None = None) -> tuple[list[tuple[str, str]], list[Triple]]:
    """Asserted class memberships and object-property triples between named individuals.

    Read as plain strings, a :class:`~cd38kg.knowledge.pattern.Pattern` per predicate over each
    layer, from ``written`` (the triples the loader has just written) where it holds them, else
    by SPARQL; never as an rdflib term per triple: at 100,000 statements that conversion was
    most of the materialiser's time.
    """
    from .facts import select_in, select_together
    from .pattern import Pattern

    store = getattr(curated.store, "_inner", None)

    def read(graph: Graph, patterns: list[Pattern]) -> dict[object, list[tuple[str, ...]]]:
        if store is None:  # a graph on another rdflib store: its own layer alone
            return {pattern: select_in(graph, pattern.query) for pattern in patterns}
        return select_together(store, patterns, written, (str(graph.identifier),))

    records = [Pattern(RDF.type, iri_subject=True, value=kind) for kind in RECORD_KINDS]
    memberships = Pattern(RDF.type, iri_subject=True, objects="iri")
    relations = [Pattern(p, iri_subject=True, objects="iri") for p in sorted(schema.properties)]
    of_curated, of_asserted = read(curated, [*records, memberships, *relations]), read(asserted, relations)
    skip = {s for pattern in records for (s,) in of_curated[pattern]}
    types = [(s, o) for s, o in of_curated[memberships] if s not in skip and o not in RECORD_KINDS and is_class_iri(o)]
    edges = [(s, pattern.predicate, o) for rows in (of_curated, of_asserted) for pattern in relations
             for s, o in rows[pattern] if s not in skip]
    return types, edges


def read_tbox(curated: Graph, asserted: Graph) -> TBox:
    """The TBox: classes, properties and disjointness axioms with their blank-node structure,
    the class-level facts (restrictions in ``asserted``), and the class memberships of the
    individuals those facts name (HermiT's nominals). Its fingerprint ignores blank-node ids."""
    from rdflib import BNode, URIRef

    from ..store import new_graph

    subjects = {s for kind in TBOX_KINDS for s in curated.subjects(URIRef(RDF.type), URIRef(kind))}
    subjects |= {s for p in TBOX_PREDICATES for s in curated.subjects(URIRef(p)) if isinstance(s, URIRef)}
    restricted = {s for s in asserted.subjects(URIRef(RDFS.subClassOf)) if isinstance(s, URIRef)}
    graph = new_graph()
    seen: set[object] = set()
    for source, starts in ((curated, subjects), (asserted, restricted)):
        pending = list(starts)
        while pending:
            node = pending.pop()
            if (source, node) in seen:
                continue
            seen.add((source, node))
            for triple in source.triples((node, None, None)):
                if triple[1] == URIRef(OWL.imports):
                    continue
                graph.add(triple)
                if isinstance(triple[2], BNode):
                    pending.append(triple[2])
    for nominal in {o for o in graph.objects(None, URIRef(OWL.hasValue)) if isinstance(o, URIRef)}:
        for cls in curated.objects(nominal, URIRef(RDF.type)):
            graph.add((nominal, URIRef(RDF.type), cls))
    triples = [(_id(s), str(p), _id(o)) for s, p, o in graph]
    lists = _lists(triples)
    return TBox(graph, triples, lists, _tbox_key(triples))


def _id(node: object) -> str:
    from rdflib import BNode

    return f"_:{node}" if isinstance(node, BNode) else str(node)


def _lists(triples: list[Triple]) -> dict[str, list[str]]:
    first = {s: o for s, p, o in triples if p == RDF.first}
    rest = {s: o for s, p, o in triples if p == RDF.rest}
    out = {}
    for head in first:
        items, node = [], head
        while node in first and len(items) <= len(first):
            items.append(first[node])
            node = rest.get(node, RDF.nil)
        out[head] = items
    return out


def _tbox_key(triples: list[Triple]) -> str:
    """A fingerprint of the TBox in which each blank node is replaced by its own content."""
    by_subject: dict[str, list[tuple[str, str]]] = {}
    for s, p, o in triples:
        by_subject.setdefault(s, []).append((p, o))
    memo: dict[str, str] = {}

    def canon(node: str, depth: int = 0) -> str:
        if not node.startswith("_:"):
            return node
        if node not in memo:
            inner = sorted(f"{p} {canon(o, depth + 1) if depth < 50 else '_'}" for p, o in by_subject.get(node, []))
            memo[node] = "[" + "; ".join(inner) + "]"
        return memo[node]

    lines = sorted(f"{s} {p} {canon(o)}" for s, p, o in triples if not s.startswith("_:"))
    return fingerprint([("tbox", "\n".join(lines).encode())])


def owl_input(curated: Graph, asserted: Graph) -> Graph:
    """The graph handed to HermiT when it reasons over everything: ontology and entities,
    without finding and claim records."""
    from ..store import new_graph

    skip = records(curated)
    graph = new_graph()
    for triple in curated:
        if triple[0] not in skip:
            graph.add(triple)
    for triple in asserted:
        graph.add(triple)
    return graph


# -- HermiT ------------------------------------------------------------------------------------


def run_hermit(owl_input: Graph) -> list[Triple]:
    """Reason over ``owl_input`` with HermiT and return the new (subject, predicate, object) IRIs
    about individuals: their new types and property values.

    Only triples between named resources are returned; blank-node scaffolding, schema
    triples and ``owl:Thing`` typings are dropped.
    """
    new, _ = _hermit(owl_input)
    owl_thing = OWL.Thing
    schema = (str(RDFS), str(OWL))
    return sorted((s, p, o) for s, p, o in new
                  if o != owl_thing and (p == RDF.type or not p.startswith(schema)))


def classify(tbox: Graph) -> list[Triple]:
    """HermiT's classification of ``tbox``: every named ``rdfs:subClassOf`` and
    ``owl:equivalentClass`` edge (stated or inferred) and ``C owl:equivalentClass owl:Nothing``
    for unsatisfiable classes. Raises :class:`InconsistentOntology` if the TBox is."""
    _, after = _hermit(tbox)
    return sorted((s, p, o) for s, p, o in after if p in (RDFS.subClassOf, OWL.equivalentClass)
                  and o != OWL.Thing and not s.startswith("_:") and not o.startswith("_:"))


def _hermit(owl_input: Graph) -> tuple[set[Triple], set[Triple]]:
    """Run HermiT (with property values) and return the new triples between named resources,
    and all triples between named resources after reasoning."""
    import owlready2
    from owlready2 import OwlReadyInconsistentOntologyError, World, sync_reasoner_hermit

    owlready2.reasoning.JAVA_MEMORY = int(os.environ.get("CD38KG_JAVA_MEMORY_MB", "2000"))
    with tempfile.TemporaryDirectory(prefix="cd38kg-reason-") as tmp:
        source = Path(tmp) / "input.nt"
        source.write_text(_named_ntriples(owl_input), encoding="utf-8")
        world = World()
        ontology = world.get_ontology(source.as_uri()).load()
        before = set(world.as_rdflib_graph().triples((None, None, None)))
        try:
            with ontology:
                sync_reasoner_hermit(world, infer_property_values=True, debug=0)
        except OwlReadyInconsistentOntologyError:
            raise InconsistentOntology(
                "the reasoner (HermiT) found the ontology inconsistent: some individual is given "
                "classes that cannot overlap, or breaks a property's domain, range or characteristics"
            ) from None
        except FileNotFoundError:
            raise ReasonerUnavailable(
                "Java was not found; the HermiT reasoner needs it (install a JRE, e.g. "
                "'apt-get install default-jre-headless')"
            ) from None
        except owlready2.OwlReadyJavaError as err:
            raise ReasonerUnavailable(f"the HermiT reasoner failed to run: {str(err).splitlines()[0]}") from None
        after = set(world.as_rdflib_graph().triples((None, None, None)))
        world.close()

    def named(triples: set) -> set[Triple]:
        return {(str(s), str(p), str(o)) for s, p, o in triples
                if type(s).__name__ != "BNode" and type(o).__name__ not in ("BNode", "Literal")}

    return named(after - before), named(after)


def _named_ntriples(graph: Graph) -> str:
    """N-Triples for the reasoner, without ``owl:imports`` (never followed)."""
    from rdflib import URIRef

    imports = URIRef(OWL.imports)
    return "".join(
        f"{s.n3()} {p.n3()} {o.n3()} .\n" for s, p, o in graph.triples((None, None, None)) if p != imports
    )


def inferences_ntriples(triples: Iterable[Triple]) -> str:
    """Serialise inferred IRI triples as N-Triples lines."""
    return "".join(f"<{s}> <{p}> <{o}> .\n" for s, p, o in triples)


def parse_inferences(text: str) -> list[Triple]:
    """Read back the cache written by :func:`inferences_ntriples`."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.rstrip(" .").split(" ")
        if len(parts) == 3:
            out.append(tuple(part.strip("<>") for part in parts))  # type: ignore[arg-type]
    return out


def ship_classification(tbox: TBox) -> Path:
    """Classify the bundled classes with HermiT and ship the result for the materialiser."""
    with step("Reasoning with HermiT over the bundled classes"):
        classification = classify(tbox.graph)
    return store_inferences(tbox.key, inferences_ntriples(classification), bundled_classes_file(), header=_CLASSES_HEADER)
