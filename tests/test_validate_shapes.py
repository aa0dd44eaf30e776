"""The compiled shape checker (cd38kg.knowledge.shacl) reports exactly what pyshacl reports.

pyshacl is the reference implementation of SHACL; the compiled checker exists because pyshacl
took 338 s at 100,000 user statements. Both run ontology/shapes.ttl over the same data, and
every violation must agree on its focus node, path, constraint component, value and message:
on the bundled knowledge base (with and without the seeded curation errors) and on one small
fixture per constraint component the shapes use (tests/fixtures/shapes/), each of which must
really trigger that component.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pyshacl
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD

from cd38kg.knowledge.shacl import UnsupportedShape, compile_shapes, violations
from cd38kg.resources import claims_file, ontology_dir, ontology_files, shapes_file
from cd38kg.store.base import to_ox
from cd38kg.vocab import SH

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "shapes"
SEEDED = [ROOT / "tests" / "fixtures" / "bad" / name for name in ("missing_source.ttl", "dangling.ttl")]
#: Each fixture and the constraint components it must trigger.
TRIGGERS = {
    "min_count.ttl": {"MinCount"},
    "max_count.ttl": {"MaxCount"},
    "node_kind.ttl": {"NodeKind"},  # one value is a blank node: it must keep its identity
    "class.ttl": {"Class"},
    "in.ttl": {"In"},
    "or.ttl": {"Or", "MinCount"},
}

Row = tuple[str, str | None, str, str | None, str]


def read(*paths: Path) -> Graph:
    """The files' triples, with ``xsd:string`` literals plain (RDF 1.1: the same term; rdflib disagrees)."""
    graph = Graph()
    for path in paths:
        graph.parse(path, format="turtle")
    for s, p, o in list(graph):
        if isinstance(o, Literal) and o.datatype == XSD.string:
            graph.remove((s, p, o))
            graph.add((s, p, Literal(str(o))))
    return graph


def reference(data: Graph) -> set[Row]:
    """pyshacl's violations of the shapes in ``data``."""
    _, results, _ = pyshacl.validate(data, shacl_graph=Graph().parse(shapes_file(), format="turtle"), advanced=True,
                                     inference="none")
    rows = set()
    for result in results.subjects(URIRef(SH.focusNode), None):
        focus, path, component, value, message = (results.value(result, URIRef(SH.term(name))) for name in
                                                  ("focusNode", "resultPath", "sourceConstraintComponent", "value",
                                                   "resultMessage"))
        rows.add((str(focus), path and str(path), str(component), None if value is None else str(value), str(message)))
    return rows


def compiled(data: Graph) -> set[Row]:
    """The compiled checker's violations of the shapes in ``data`` (blank nodes keep their ids)."""
    store, graph = ox.Store(), ox.NamedNode("https://example.org/data")
    store.bulk_extend(ox.Quad(to_ox(s), to_ox(p), to_ox(o), graph) for s, p, o in data)
    return {(v.focus.value, v.path, v.component, None if v.value is None else v.value.value, v.message)
            for v in violations(compile_shapes(shapes_file()), store, graph.value)}


def bundled() -> list[Path]:
    return [*ontology_files(), claims_file()]


def test_bundled_knowledge_base_has_no_violations_in_either_checker():
    data = read(*bundled())
    assert reference(data) == compiled(data) == set()


def test_seeded_curation_errors_are_reported_alike():
    data = read(*bundled(), *SEEDED)
    expected = reference(data)
    assert {(focus.rsplit("/", 1)[1], component.rsplit("#", 1)[1]) for focus, _, component, _, _ in expected} == {
        ("f-user-no-source", "MinCountConstraintComponent"), ("nk-cel", "OrConstraintComponent"),
        ("nk-cel", "MinCountConstraintComponent")}
    assert compiled(data) == expected


@pytest.mark.parametrize("name", sorted(TRIGGERS))
def test_each_constraint_component_is_reported_alike(name):
    data = read(ontology_dir() / "core.ttl", FIXTURES / name)
    expected = reference(data)
    components = {component.removeprefix(SH).removesuffix("ConstraintComponent") for _, _, component, _, _ in expected}
    assert components == TRIGGERS[name], expected
    assert compiled(data) == expected


@pytest.mark.parametrize("shape", [
    "shape:S a sh:NodeShape ; sh:targetClass cd38:Finding ; sh:property [ sh:path cd38:note ; sh:pattern \"^x\" ] .",
    "shape:S a sh:NodeShape ; sh:targetNode kb:x ; sh:property [ sh:path rdfs:label ; sh:minCount 1 ] .",
    "shape:S a sh:NodeShape ; sh:targetClass cd38:Finding ; sh:property [ sh:path [ sh:inversePath cd38:subject ] ;"
    " sh:minCount 1 ] .",
    "shape:S a sh:NodeShape ; sh:targetClass cd38:Finding ; sh:minCount 1 .",
    "shape:S a sh:NodeShape , rdfs:Class ; sh:property [ sh:path rdfs:label ; sh:minCount 1 ] .",
])
def test_a_constraint_the_compiler_does_not_know_is_refused(tmp_path, shape):
    path = tmp_path / "shapes.ttl"
    path.write_text("@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
                    "@prefix shape: <https://w3id.org/cd38kg/shapes#> .\n"
                    "@prefix cd38: <https://w3id.org/cd38kg/vocab#> .\n"
                    "@prefix kb: <https://w3id.org/cd38kg/kb/> .\n"
                    "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n" + shape + "\n", encoding="utf-8")
    with pytest.raises(UnsupportedShape, match="is not supported"):
        compile_shapes(path)
