"""Selecting the facts with one scan per property, joined in Python, gives exactly what one
SPARQL query per kind of fact gives (the plain queries, kept here as the reference, took most
of a large load's time on the on-disk store)."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest

from cd38kg import KnowledgeBase
from cd38kg.knowledge.facts import Q_SUPERS, Q_TYPED, _superclasses, _types, finding_rows, name_rows, select

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
    first_label: dict[str, str] = {}
    for e, label, *_ in reference:
        first_label.setdefault(e, label)
    assert {e: label for e, label, *_ in reversed(rows)} == first_label  # the same label wins


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
    assert {e: cs for e, cs in _types(select(dataset, Q_TYPED), _superclasses(select(dataset, Q_SUPERS))).items() if cs} == dict(expected)


def test_named_superclasses_equal_the_subclass_query(dataset):
    from cd38kg.knowledge.facts import select_facts

    expected: dict[str, set[str]] = defaultdict(set)
    for c, sup in select(dataset, "SELECT DISTINCT ?c ?super WHERE { ?c rdfs:subClassOf+ ?super . "
                                  "FILTER(isIRI(?c) && isIRI(?super)) }"):
        expected[c].add(sup)
    assert len(expected) > 50
    assert dict(select_facts(dataset).superclasses) == dict(expected)


@pytest.mark.parametrize(("extras", "scanned"), [
    (("examples/my_findings.tsv", "tests/fixtures/projection/edge_cases.ttl"), 1),
    (("examples/my_findings.tsv", "tests/fixtures/extend/new_imid.tsv"), 0),
], ids=["edge cases", "tsv"])
def test_a_fresh_load_selects_the_facts_a_reread_of_its_store_selects(cache_home, monkeypatch, extras, scanned):
    """A load reads the names once, to write the names graph, and hands them on to the facts. It
    takes the finding rows from the triples on their way into the store when Oxigraph gives them
    back unchanged (TSV findings: IRIs and plain literals), and scans them back once otherwise
    (the edge cases' blank nodes and typed literals)."""
    from cd38kg.knowledge import loader
    from cd38kg.knowledge.facts import select_facts

    scans = []
    monkeypatch.setattr(loader, "finding_rows", lambda graph: scans.append(graph) or finding_rows(graph))
    kb = KnowledgeBase.load(extras=[ROOT / extra for extra in extras], reason="always")
    assert len(scans) == scanned
    assert any("user" in f.iri or "proj-" in f.iri for f in kb.facts.findings)
    assert kb.facts == select_facts(kb.dataset)


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


def test_finding_triples_only_oxigraph_can_write_send_the_loader_back_to_the_store():
    """Typed literals (written in canonical form) and blank nodes (renamed on loading) make the
    gathered rows inexact; a literal that spells the Finding class is no finding."""
    from rdflib import BNode, Literal, URIRef
    from rdflib.namespace import XSD

    from cd38kg.knowledge.facts import FindingScans
    from cd38kg.store import new_graph
    from cd38kg.vocab import CD38, RDF, RDFS

    def gathered(*triples):
        scans = FindingScans(new_graph())  # nothing in the store yet
        assert list(scans.passing(triples)) == list(triples), "every triple passes on unchanged"
        return scans

    f, drug = "https://example.org/f1", URIRef("https://example.org/drug")
    plain = gathered((f, str(RDF.type), str(CD38.Finding)), (f, str(CD38.subject), drug),
                     (f, str(CD38.predicate), str(CD38.inhibits)), (f, str(CD38.object), drug),
                     (f, str(RDFS.comment), Literal("a note", lang="en")),
                     (f, str(CD38.section), Literal("Results", datatype=XSD.string)))
    assert plain.exact and plain.rows() == [(f, str(drug), str(CD38.inhibits), str(drug), "", "Results", "", "a note", "", "")]
    assert not gathered((f, str(CD38.quantity), Literal("1.50", datatype=XSD.decimal))).exact
    assert not gathered((BNode(), str(CD38.subject), drug)).exact
    assert not gathered((f, str(CD38.object), BNode())).exact
    spelt = gathered((f, str(RDF.type), Literal(str(CD38.Finding))))
    assert spelt.exact and spelt.rows() == []
