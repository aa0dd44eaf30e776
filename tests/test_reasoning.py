"""The shipped inference cache matches what HermiT derives now, and is used without Java."""

from __future__ import annotations

from cd38kg.loader import load
from cd38kg.reasoning import cached_inferences, parse_inferences, run_hermit
from cd38kg.resources import bundled_inferences_file


def test_bundled_cache_matches_the_bundled_ontology():
    loaded = load([], reason="never")  # fails if the shipped cache is stale (would need Java)
    header = bundled_inferences_file().read_text(encoding="utf-8").splitlines()[0]
    assert header.endswith(loaded.inference_key), "run 'cd38kg build-cache' after editing ontology/*.ttl"


def test_fresh_hermit_run_reproduces_the_shipped_inferences():
    loaded = load([], reason="never")
    from rdflib import URIRef

    from cd38kg.loader import owl_input
    from cd38kg.vocab import ASSERTED_GRAPH, CURATED_GRAPH

    fresh = run_hermit(owl_input(loaded.dataset.graph(URIRef(CURATED_GRAPH)),
                                 loaded.dataset.graph(URIRef(ASSERTED_GRAPH))))
    shipped = parse_inferences(cached_inferences(loaded.inference_key) or "")
    assert sorted(fresh) == sorted(shipped)
    assert fresh, "the reasoner should infer something (class-level knowledge for members)"
