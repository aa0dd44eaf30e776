"""Assembling the knowledge graph: bundled Turtle, user extensions, projection, inferences.

Named graphs keep the layers apart:

* ``graph/curated``  – the Turtle files and user extensions as written;
* ``graph/asserted`` – each finding projected onto its plain triple (or, for a class
  subject, onto a ``hasValue`` restriction) so OWL and SPARQL can use it;
* ``graph/inferred`` – what reasoning adds (from the cache unless inputs changed): HermiT's
  classification applied to the individuals by :func:`cd38kg.reasoning.infer`;
The literature claims (what the reviews propose) are parsed into a separate graph that
is not part of this dataset, so the derivation cannot read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .errors import Cd38kgError
from .facts import Facts, select_facts
from .io import check_extension_path, read_extension
from .progress import say
from .reasoning import cached_inferences, fingerprint, infer, inferences_ntriples, parse_inferences, store_inferences
from .resources import claims_file, ontology_files
from .store import new_dataset, new_graph, parse_into, read_text
from .vocab import ASSERTED_GRAPH, CD38, CURATED_GRAPH, INFERRED_GRAPH, OWL, RDF, RDFS

if TYPE_CHECKING:
    from rdflib import Dataset, Graph

ReasonMode = Literal["cache", "always", "never"]


@dataclass
class Loaded:
    """The assembled dataset and what was read into it."""

    dataset: Dataset
    claims: Graph
    facts: Facts
    files: list[Path]
    extras: list[Path]
    new_entities: list[str] = field(default_factory=list)
    inference_key: str = ""
    reasoned_now: bool = False
    notes: list[str] = field(default_factory=list)


def load(extras: list[Path] | None = None, reason: ReasonMode = "cache", bundled_data: bool = True) -> Loaded:
    """Load the bundled knowledge base plus ``extras`` and attach the reasoner's inferences.

    ``bundled_data=False`` keeps only the ontology (classes, relations, evidence levels)
    of the bundled files, so the extras alone supply the entities and findings (a KGX
    export read back, for instance).
    """
    extras = [Path(p) for p in extras or []]
    for path in extras:
        check_extension_path(path)
    dataset = new_dataset()
    curated = dataset.graph(_uri(CURATED_GRAPH))
    files = ontology_files()
    inputs = [] if bundled_data else [("bundled:schema-only", b"")]
    bundled = curated if bundled_data else new_graph()
    for path in files:
        text = read_text(path)
        parse_into(bundled, path, text)
        inputs.append((path.name, text.encode()))
    if not bundled_data:
        for triple in schema_triples(bundled):
            curated.add(triple)
    bundled_inputs, bundled_size = list(inputs), len(curated)
    claims = new_graph()
    parse_into(claims, claims_file())

    new_entities: list[str] = []
    notes: list[str] = []
    for path in extras:
        text = read_text(path)
        inputs.append((f"extra:{path.name}", text.encode()))
        extension = read_extension(path, text, curated)
        for triple in extension.triples:
            curated.add(triple)
        new_entities.extend(extension.new_entities)
        notes.extend(extension.notes)

    asserted = dataset.graph(_uri(ASSERTED_GRAPH))
    for triple in project_findings(curated):
        asserted.add(triple)

    # Extras that add no triple (an empty file, restatements) change nothing the reasoner sees.
    added = len(curated) > bundled_size
    key = fingerprint(inputs if added else bundled_inputs)
    inferred_text = None if reason == "always" else cached_inferences(key)
    reasoned_now = False
    what = "the knowledge base" + "".join(f" + {p.name}" for p in extras)
    if inferred_text is None:
        if reason == "never":
            raise Cd38kgError("no cached inferences for these inputs and reasoning was disabled")
        inferred = infer(curated, asserted, what).inferred
        say(f"Inferences cached in {store_inferences(key, inferences_ntriples(inferred))}")
        reasoned_now = True
    else:
        if added:
            say(f"Using the cached inferences for {what}")
        elif extras:
            say(f"{', '.join(p.name for p in extras)}: no new statements, so no reasoning needed")
        inferred = parse_inferences(inferred_text)
    inferred_graph = dataset.graph(_uri(INFERRED_GRAPH))
    from rdflib import URIRef

    for s, p, o in inferred:
        inferred_graph.add((URIRef(s), URIRef(p), URIRef(o)))
    facts = select_facts(dataset)
    return Loaded(dataset=dataset, claims=claims, facts=facts, files=files, extras=extras, new_entities=new_entities,
                  inference_key=key, reasoned_now=reasoned_now, notes=notes)


#: What the ontology is made of, as opposed to the data it describes.
SCHEMA_KINDS = (OWL.Ontology, OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty,
                OWL.AllDisjointClasses, CD38.EvidenceLevel, CD38.ExpressionLevel)


def schema_triples(graph: Graph) -> list[tuple[object, object, object]]:
    """The ontology in ``graph`` without its data: classes, relations, evidence and expression
    levels, and the blank nodes (restrictions, lists) they are written with."""
    from rdflib import BNode

    pending = [s for kind in SCHEMA_KINDS for s in graph.subjects(_uri(RDF.type), _uri(kind))]
    seen: set[object] = set()
    out: list[tuple[object, object, object]] = []
    while pending:
        subject = pending.pop()
        if subject in seen:
            continue
        seen.add(subject)
        for triple in graph.triples((subject, None, None)):
            out.append(triple)
            if isinstance(triple[2], BNode):
                pending.append(triple[2])
    return out


def project_findings(curated: Graph) -> list[tuple[object, object, object]]:
    """The OWL reading of every positive finding: a triple, or a class-level restriction.

    Findings with magnitude "none" or "unknown" report an absence and are not projected;
    findings whose object is a class (soluble CD38 inhibits every anti-CD38 antibody) are
    fanned out to members by the engine instead, since OWL cannot state them as triples.
    """
    from rdflib import BNode, URIRef

    facts = select_facts(curated)
    object_properties = {iri for iri in facts.relations}
    out: list[tuple[object, object, object]] = []
    for finding in facts.findings:
        if finding.is_negative or finding.predicate not in object_properties:
            continue
        if finding.object in facts.classes:
            continue
        s, p, o = URIRef(finding.subject), URIRef(finding.predicate), URIRef(finding.object)
        if finding.subject in facts.classes:
            restriction = BNode()
            out += [(s, URIRef(RDFS.subClassOf), restriction),
                    (restriction, URIRef(RDF.type), URIRef(OWL.Restriction)),
                    (restriction, URIRef(OWL.onProperty), p),
                    (restriction, URIRef(OWL.hasValue), o)]
        else:
            out.append((s, p, o))
    return out


def _uri(iri: str) -> object:
    from rdflib import URIRef

    return URIRef(iri)
