"""Selecting the facts with one scan per property, joined in Python, gives exactly what one
SPARQL query per kind of fact gives (the plain queries, kept here as the reference, took most
of a large load's time on the on-disk store)."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest

from cd38kg import KnowledgeBase
from cd38kg.knowledge.facts import Q_SUPERS, TYPED, _superclasses, _types, finding_rows, name_rows, select

ROOT = Path(__file__).resolve().parents[1]

REFERENCE_FINDINGS = """SELECT ?f ?s ?p ?o ?src ?sec ?lvl ?note ?mag ?qty WHERE {
  ?f rdf:type cd38:Finding ; cd38:subject ?s ; cd38:predicate ?p ; cd38:object ?o .
  OPTIONAL { ?f cd38:source ?src } OPTIONAL { ?f cd38:section ?sec }
  OPTIONAL { ?f cd38:evidenceLevel ?lvl } OPTIONAL { ?f rdfs:comment ?note }
  OPTIONAL { ?f cd38:magnitude ?mag } OPTIONAL { ?f cd38:quantity ?qty }
}"""
#: The projection's rule as one query (the loader's own, until it read the findings by scans).
REFERENCE_PROJECTION = """SELECT DISTINCT ?f ?s ?p ?o ?subject_is_class WHERE {
  ?f rdf:type cd38:Finding ; cd38:subject ?s ; cd38:predicate ?p ; cd38:object ?o .
  ?p rdf:type owl:ObjectProperty .
  FILTER(isIRI(?s) && isIRI(?o))
  OPTIONAL { ?f cd38:magnitude ?magnitude }
  FILTER(!BOUND(?magnitude) || STR(?magnitude) NOT IN ("none", "unknown"))
  FILTER NOT EXISTS { ?o rdf:type owl:Class }
  BIND(EXISTS { ?s rdf:type owl:Class } AS ?subject_is_class)
}"""
REFERENCE_NAMES = """SELECT ?e ?label ?alt ?xref WHERE {
  ?e rdfs:label ?label . FILTER(isIRI(?e))
  OPTIONAL { ?e skos:altLabel ?alt }
  OPTIONAL { ?e oboInOwl:hasDbXref ?xref }
}"""
REFERENCE_TYPES = """SELECT DISTINCT ?e ?c WHERE { ?e rdf:type ?t . FILTER(isIRI(?e)) ?t rdfs:subClassOf* ?c . FILTER(isIRI(?c)) }"""


@pytest.fixture(scope="module", params=["bundled", "extended"])
def dataset(request, kb, cache_home):
    if request.param == "bundled":
        return kb.dataset
    fixtures = ROOT / "tests" / "fixtures"
    return KnowledgeBase.load(extras=[ROOT / "examples" / "my_findings.tsv", fixtures / "extend" / "new_imid.tsv",
                                      fixtures / "reasoning" / "edge_cases.ttl",
                                      fixtures / "projection" / "edge_cases.ttl"]).dataset


def test_findings_by_property_scans_equal_the_single_query(dataset):
    rows = finding_rows(dataset)
    assert len(rows) > 300
    assert rows == sorted(set(select(dataset, REFERENCE_FINDINGS)))


def test_names_by_scans_equal_the_optional_query(dataset):
    rows = name_rows(dataset)
    reference = select(dataset, REFERENCE_NAMES)
    assert sum(1 for row in rows if row[2]) > 50 and sum(1 for row in rows if row[3]) > 50
    assert sorted(rows) == sorted(reference)


def test_projection_from_the_finding_rows_equals_the_single_query(dataset):
    from rdflib import BNode, URIRef

    from cd38kg.knowledge.loader import project_findings
    from cd38kg.vocab import OWL, RDFS

    projected = project_findings(dataset)
    restrictions: dict[BNode, dict[str, str]] = defaultdict(dict)
    readings: Counter[tuple[str, str, str, str]] = Counter()
    for s, p, o in projected:
        if isinstance(s, BNode):
            restrictions[s][str(p)] = str(o)
        elif isinstance(o, BNode):
            restrictions[o]["subject"] = str(s)
        else:
            readings[(str(s), str(p), str(o), "false")] += 1
    for parts in restrictions.values():
        readings[(parts["subject"], parts[OWL.onProperty], parts[OWL.hasValue], "true")] += 1
    assert all(isinstance(t, URIRef | BNode) for triple in projected for t in triple)
    expected = Counter(row[1:] for row in select(dataset, REFERENCE_PROJECTION))
    assert readings == expected
    assert sum(1 for _, p, _ in projected if str(p) == RDFS.subClassOf) > 0


def test_types_with_the_class_closure_equal_the_path_query(dataset):
    expected: dict[str, set[str]] = defaultdict(set)
    for e, c in select(dataset, REFERENCE_TYPES):
        expected[e].add(c)
    types = _types(select(dataset, TYPED.query), _superclasses(select(dataset, Q_SUPERS)))
    assert {e: cs for e, cs in types.items() if cs} == dict(expected)


def test_named_superclasses_equal_the_subclass_query(dataset):
    from cd38kg.knowledge.facts import select_facts

    expected: dict[str, set[str]] = defaultdict(set)
    for c, sup in select(dataset, "SELECT DISTINCT ?c ?super WHERE { ?c rdfs:subClassOf+ ?super . "
                                  "FILTER(isIRI(?c) && isIRI(?super)) }"):
        expected[c].add(sup)
    assert len(expected) > 50
    assert dict(select_facts(dataset).superclasses) == dict(expected)


@pytest.mark.parametrize(("extras", "from_store"), [
    (("examples/my_findings.tsv", "tests/fixtures/projection/edge_cases.ttl"), True),
    (("examples/my_findings.tsv", "tests/fixtures/extend/new_imid.tsv"), False),
], ids=["edge cases", "tsv"])
def test_a_fresh_load_selects_the_facts_and_inferences_a_reread_of_its_store_selects(cache_home, monkeypatch,
                                                                                    extras, from_store):
    """A load answers the reads after writing (findings, names, memberships, relations, types,
    causal triples) from the triples it wrote when Oxigraph gives them back unchanged (TSV
    findings: IRIs and plain literals), and reads the store for the reads the edge cases' blank
    nodes and typed literals could change; either way, what it selects and infers is what a
    reread of its store gives."""
    from rdflib import URIRef

    from cd38kg.knowledge import facts
    from cd38kg.knowledge.pattern import Pattern
    from cd38kg.knowledge.reasoning import infer
    from cd38kg.knowledge.written import WrittenTriples
    from cd38kg.vocab import ASSERTED_GRAPH, CURATED_GRAPH, INFERRED_GRAPH

    asked: dict[Pattern, bool] = {}  # pattern -> answered from the triples written
    rows = WrittenTriples.rows
    monkeypatch.setattr(WrittenTriples, "rows", lambda self, pattern, layers: (
        answer := rows(self, pattern, layers), asked.__setitem__(pattern, asked.get(pattern, True) and answer is not None))[0])
    read_back: list[str] = []  # patterns the store was asked (a second file's names resolved by a reader too)
    select = facts.select
    monkeypatch.setattr(facts, "select", lambda graph, query, *args: (
        read_back.append(query) if "WHERE { ?s <" in query else None) or select(graph, query, *args))
    kb = KnowledgeBase.load(extras=[ROOT / extra for extra in extras], reason="always")
    monkeypatch.undo()
    assert {*facts.FINDING_PATTERNS, *facts.NAME_PATTERNS, facts.TYPED} <= set(asked)
    assert (not all(asked.values())) == from_store == bool(read_back)
    assert any("user" in f.iri or "proj-" in f.iri for f in kb.facts.findings)
    assert kb.facts == facts.select_facts(kb.dataset)
    layer = {g: kb.dataset.graph(URIRef(g)) for g in (CURATED_GRAPH, ASSERTED_GRAPH, INFERRED_GRAPH)}
    stored = facts.select(kb.dataset, "SELECT ?s ?p ?o WHERE { ?s ?p ?o }", (INFERRED_GRAPH,))
    assert infer(layer[CURATED_GRAPH], layer[ASSERTED_GRAPH], "a reread").inferred == sorted(stored)


def test_rows_read_before_a_layer_are_read_again_when_that_layer_states_them():
    """The rows handed on are reused only when the layers added after them (the inferences)
    say nothing those rows are read from."""
    import pyoxigraph

    from cd38kg.knowledge.facts import states_findings, states_names
    from cd38kg.vocab import CD38, INFERRED_GRAPH, RDF, RDFS

    store = pyoxigraph.Store()
    inferred = pyoxigraph.NamedNode(INFERRED_GRAPH)
    thing = pyoxigraph.NamedNode("https://example.org/thing")
    store.add(pyoxigraph.Quad(thing, pyoxigraph.NamedNode(RDF.type), pyoxigraph.NamedNode(CD38.Agent), inferred))
    assert not states_names(store, (INFERRED_GRAPH,)) and not states_findings(store, (INFERRED_GRAPH,))
    store.add(pyoxigraph.Quad(thing, pyoxigraph.NamedNode(RDFS.label), pyoxigraph.Literal("a thing"), inferred))
    assert states_names(store, (INFERRED_GRAPH,)) and not states_findings(store, (INFERRED_GRAPH,))
    store.add(pyoxigraph.Quad(thing, pyoxigraph.NamedNode(RDF.type), pyoxigraph.NamedNode(CD38.Finding), inferred))
    assert states_findings(store, (INFERRED_GRAPH,))


def test_written_triples_answer_each_read_as_the_store_does_or_not_at_all():
    """Rows kept from the triples on their way into the store are the store's rows for every
    read, or None where Oxigraph would change a term (typed literals are written in canonical
    form, blank nodes renamed) and the read could see it; the store's own blank nodes are kept."""
    import pyoxigraph
    from rdflib import BNode, Literal
    from rdflib.namespace import XSD

    from cd38kg.knowledge.facts import FINDING_PATTERNS, NAME_PATTERNS
    from cd38kg.knowledge.pattern import Pattern
    from cd38kg.knowledge.written import WrittenTriples
    from cd38kg.store.base import add_triples
    from cd38kg.vocab import CD38, CURATED_GRAPH, OWL, RDF, RDFS

    ex = "https://example.org/"
    stored = [(ex + "drug", RDF.type, BNode("r")), (BNode("r"), RDF.type, OWL.Restriction),
              (ex + "drug", RDFS.label, Literal("drug b")), (ex + "drug", RDFS.label, Literal("drug a", lang="en"))]
    passing = [(ex + "f1", RDF.type, CD38.Finding), (ex + "f1", CD38.subject, ex + "drug"),
               (ex + "f1", CD38.predicate, CD38.inhibits), (ex + "f1", CD38.object, ex + "cd38"),
               (ex + "f1", RDFS.comment, Literal("a note", lang="en")),
               (ex + "f1", CD38.section, Literal("Results", datatype=XSD.string)),
               (ex + "f1", CD38.quantity, Literal("1.50", datatype=XSD.decimal)),
               (ex + "drug", CD38.inhibits, ex + "cd38"), (BNode(), CD38.inhibits, ex + "cd38"),
               (BNode(), RDF.type, OWL.Restriction), (ex + "spelt", RDF.type, Literal(CD38.Finding)),
               (ex + "drug", RDF.type, CD38.Agent), (ex + "drug", SKOS_ALT := str(NAME_PATTERNS[1].predicate), BNode())]
    store = pyoxigraph.Store()
    add_triples(store, stored, CURATED_GRAPH)
    written = WrittenTriples()
    written.take_stored(store, CURATED_GRAPH)
    assert list(written.passing(passing, CURATED_GRAPH)) == passing, "every triple passes on unchanged"
    add_triples(store, passing, CURATED_GRAPH)

    patterns = [*FINDING_PATTERNS, *NAME_PATTERNS, *(Pattern(RDF.type, iri_subject, objects)
                                                     for iri_subject in (False, True) for objects in ("any", "iri", "resource")),
                Pattern(CD38.inhibits, objects="iri"), Pattern(CD38.inhibits, iri_subject=True, objects="iri"),
                Pattern(CD38.inhibits), Pattern(RDF.type, value=OWL.Restriction),
                Pattern(RDF.type, iri_subject=True, value=OWL.Restriction)]
    answered = {pattern: written.rows(pattern, (CURATED_GRAPH,)) for pattern in patterns}
    for pattern, rows in answered.items():
        if rows is not None:
            assert sorted(set(rows)) == sorted(set(select(store, pattern.query, (CURATED_GRAPH,)))), pattern.query
    unknown = {pattern for pattern, rows in answered.items() if rows is None}
    assert unknown == {FINDING_PATTERNS[-1], NAME_PATTERNS[1], Pattern(CD38.inhibits, objects="iri"), Pattern(CD38.inhibits),
                       Pattern(RDF.type, value=OWL.Restriction), Pattern(RDF.type), Pattern(RDF.type, objects="iri"),
                       Pattern(RDF.type, objects="resource")}, SKOS_ALT
    assert answered[FINDING_PATTERNS[0]] == [(ex + "f1",)], "a literal that spells the Finding class is no finding"
    assert (ex + "drug", "_:r") in answered[Pattern(RDF.type, iri_subject=True, objects="resource")]
