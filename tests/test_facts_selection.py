"""Selecting the facts with one scan per property, joined in Python, gives exactly what one
SPARQL query per kind of fact gives (the plain queries, kept here as the reference, took most
of a large load's time on the on-disk store)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from cd38kg import KnowledgeBase
from cd38kg.knowledge.facts import _finding_rows, _superclasses, _types, select

ROOT = Path(__file__).resolve().parents[1]

REFERENCE_FINDINGS = """SELECT ?f ?s ?p ?o ?src ?sec ?lvl ?note ?mag ?qty WHERE {
  ?f rdf:type cd38:Finding ; cd38:subject ?s ; cd38:predicate ?p ; cd38:object ?o .
  OPTIONAL { ?f cd38:source ?src } OPTIONAL { ?f cd38:section ?sec }
  OPTIONAL { ?f cd38:evidenceLevel ?lvl } OPTIONAL { ?f rdfs:comment ?note }
  OPTIONAL { ?f cd38:magnitude ?mag } OPTIONAL { ?f cd38:quantity ?qty }
}"""
REFERENCE_TYPES = """SELECT DISTINCT ?e ?c WHERE { ?e rdf:type ?t . FILTER(isIRI(?e)) ?t rdfs:subClassOf* ?c . FILTER(isIRI(?c)) }"""


@pytest.fixture(scope="module", params=["bundled", "extended"])
def dataset(request, kb, cache_home):
    if request.param == "bundled":
        return kb.dataset
    return KnowledgeBase.load(extras=[ROOT / "examples" / "my_findings.tsv", ROOT / "tests" / "fixtures" / "extend" / "new_imid.tsv",
                                      ROOT / "tests" / "fixtures" / "reasoning" / "edge_cases.ttl"]).dataset


def test_findings_by_property_scans_equal_the_single_query(dataset):
    rows = _finding_rows(dataset)
    assert len(rows) > 300
    assert rows == sorted(set(select(dataset, REFERENCE_FINDINGS)))


def test_types_with_the_class_closure_equal_the_path_query(dataset):
    expected: dict[str, set[str]] = defaultdict(set)
    for e, c in select(dataset, REFERENCE_TYPES):
        expected[e].add(c)
    assert {e: cs for e, cs in _types(dataset, _superclasses(dataset)).items() if cs} == dict(expected)


def test_named_superclasses_equal_the_subclass_query(dataset):
    from cd38kg.knowledge.facts import select_facts

    expected: dict[str, set[str]] = defaultdict(set)
    for c, sup in select(dataset, "SELECT DISTINCT ?c ?super WHERE { ?c rdfs:subClassOf+ ?super . "
                                  "FILTER(isIRI(?c) && isIRI(?super)) }"):
        expected[c].add(sup)
    assert len(expected) > 50
    assert dict(select_facts(dataset).superclasses) == dict(expected)
