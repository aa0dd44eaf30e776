"""Reasoning: the shipped caches are current, and the linear materialiser adds exactly what HermiT adds.

The compliance test reasons over the same input twice, with HermiT over every individual
(the reference, as the knowledge base was reasoned before) and with HermiT's classification
of the classes plus :func:`cd38kg.knowledge.materialise.materialise`, and compares the inferred triples
the engine and the queries read (``graph/inferred``). No difference is tolerated: the fragment
the materialiser implements covers everything these inputs use, and inputs beyond it are
handed to HermiT whole (the last compliance case).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import URIRef

from cd38kg.knowledge.loader import load
from cd38kg.knowledge.materialise import Definition, Schema, materialise
from cd38kg.knowledge.reasoning import (
    cached_classification,
    cached_inferences,
    infer,
    owl_input,
    parse_inferences,
    read_tbox,
    run_hermit,
)
from cd38kg.resources import bundled_inferences_file
from cd38kg.vocab import ASSERTED_GRAPH, CD38, CURATED_GRAPH, KB, RDF

ROOT = Path(__file__).resolve().parents[1]
EDGE_CASES = ROOT / "tests" / "fixtures" / "reasoning" / "edge_cases.ttl"
EXTENSIONS = {
    "bundled": [],
    "my_findings": [ROOT / "examples" / "my_findings.tsv"],
    "new_imid": [ROOT / "tests" / "fixtures" / "extend" / "new_imid.tsv"],
    "edge_cases": [EDGE_CASES],
}


def layers(extras: list[Path]):
    loaded = load(extras, reason="always")
    return tuple(loaded.dataset.graph(URIRef(g)) for g in (CURATED_GRAPH, ASSERTED_GRAPH))


def test_bundled_cache_matches_the_bundled_ontology():
    loaded = load([], reason="never")  # fails if the shipped cache is stale (would need Java)
    header = bundled_inferences_file().read_text(encoding="utf-8").splitlines()[0]
    assert header.endswith(loaded.inference_key), "run 'cd38kg build-cache' after editing ontology/*.ttl"


def test_bundled_classification_is_shipped_for_the_bundled_classes():
    loaded = load([], reason="never")
    tbox = read_tbox(*(loaded.dataset.graph(URIRef(g)) for g in (CURATED_GRAPH, ASSERTED_GRAPH)))
    assert cached_classification(tbox.key), "run 'cd38kg build-cache' after editing ontology/*.ttl"


@pytest.mark.parametrize("name", EXTENSIONS)
def test_materialiser_adds_exactly_what_hermit_adds(name, cache_home):
    curated, asserted = layers(EXTENSIONS[name])
    hermit = set(run_hermit(owl_input(curated, asserted)))
    linear = infer(curated, asserted, name)
    assert set(linear.inferred) == hermit, (f"only HermiT: {sorted(hermit - set(linear.inferred))}\n"
                                            f"only the materialiser: {sorted(set(linear.inferred) - hermit)}")
    assert linear.clashes == []
    shipped = set(parse_inferences(cached_inferences(load([], reason="never").inference_key) or ""))
    if name in ("bundled", "my_findings"):  # my_findings.tsv declares nothing a class fact reaches
        assert hermit == shipped and hermit, "the shipped inferences are HermiT's, and not empty"
    else:
        assert hermit - shipped, "the extension should add inferences of its own"


def test_edge_cases_exercise_every_rule(cache_home):
    curated, asserted = layers([EDGE_CASES])
    inferred = set(infer(curated, asserted, "edge cases").inferred)
    expected = {
        (KB.term("mab-x"), RDF.type, CD38.AntiCD38Antibody),  # definition: a mAb that targets CD38
        (KB.term("mab-x"), CD38.induces, KB.adcc),  # ... inherits what anti-CD38 antibodies do
        (KB.term("anti-z"), CD38.targets, KB.CD38),  # the definition read backwards
        (KB.term("drug-n"), CD38.activates, KB.term("t-cell")),  # a class-level finding on a new class
        (KB.term("drug-n"), CD38.activates, KB.term("nk-cell")),  # inherited from cd38:IMiD through it
        (KB.term("untyped-u"), RDF.type, CD38.Agent),  # domain
        (KB.term("new-molecule"), RDF.type, CD38.Molecule),  # range, and the inverse statement
    }
    assert expected <= inferred, sorted(expected - inferred)
    assert (KB.term("agent-y"), RDF.type, CD38.AntiCD38Antibody) not in inferred  # not an antibody
    assert (KB.term("drug-n"), CD38.targets, KB.term("new-molecule")) not in inferred  # stated as targetedBy
    assert (KB.term("new-molecule"), CD38.binds, KB.CD38) not in inferred  # symmetric, stated the other way
    assert (KB.term("process-p"), CD38.requires, KB.term("nk-cell")) not in inferred  # held by the sub-property


def test_extension_within_the_classes_reuses_the_shipped_classification(cache_home):
    bundled = read_tbox(*layers([]))
    assert read_tbox(*layers(EXTENSIONS["new_imid"])).key == bundled.key  # new members, same classes
    assert read_tbox(*layers([EDGE_CASES])).key != bundled.key  # a new class: HermiT classifies again


def test_owl_beyond_the_fragment_goes_to_hermit(tmp_path, cache_home, capsys):
    extra = tmp_path / "same.ttl"
    extra.write_text("@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
                     "@prefix kb: <https://w3id.org/cd38kg/kb/> .\n"
                     "kb:lenalidomide owl:sameAs kb:revlimid-alias .\n", encoding="utf-8")
    curated, asserted = layers([extra])
    result = infer(curated, asserted, "same.ttl")
    assert "running HermiT over everything" in capsys.readouterr().err
    assert set(result.inferred) == set(run_hermit(owl_input(curated, asserted)))
    assert any(s == KB.term("revlimid-alias") for s, _, _ in result.inferred)  # HermiT merged the two


# -- clashes, on a hand-written schema --------------------------------------------------------

A, B, C, P, Q, X, Y = (f"urn:t:{n}" for n in "ABCPQXY")


def tiny_schema(**overrides) -> Schema:
    fields = dict(
        supers={A: frozenset({A}), B: frozenset({B}), C: frozenset({C, A})}, values={},
        definitions=(Definition(C, frozenset(), frozenset({((Q, False), Y)})),),
        role_supers={(P, False): frozenset({(P, False)}), (P, True): frozenset({(P, True)}),
                     (Q, False): frozenset({(Q, False)}), (Q, True): frozenset({(Q, True)})},
        domains={P: frozenset({B})}, ranges={}, owlready_inverse={}, disjoint=frozenset({frozenset({A, B})}),
        irreflexive=frozenset({P}), asymmetric=frozenset({Q}), functional=frozenset(), unsatisfiable=frozenset())
    fields.update(overrides)
    return Schema(**fields)


def test_clashes_are_found_without_a_tableau():
    # X q Y makes X a C (the definition), hence an A; X p X makes it a B (domain), disjoint with A,
    # and breaks p's irreflexivity; Y q X with X q Y breaks q's asymmetry.
    result = materialise(tiny_schema(), [], [(X, Q, Y), (X, P, X), (Y, Q, X)])
    kinds = {(c.kind, c.individual) for c in result.clashes}
    assert kinds == {("disjoint", X), ("irreflexive", X), ("asymmetric", X), ("asymmetric", Y)}
    assert (X, RDF.type, C) in result.inferred


def test_no_clash_without_the_offending_statement():
    result = materialise(tiny_schema(), [], [(X, Q, Y)])
    assert result.clashes == []
    assert {(X, RDF.type, C)} == {t for t in result.inferred if t[1] == RDF.type}
