"""Finding a question's entities on an endpoint: the names graph, and the scan without it.

Whatever the server, every entity the local name index would match must be among those
fetched (the local copy's index then decides exactly, ambiguity included). The server is
played by a local Oxigraph store answering the same SPARQL.
"""

from __future__ import annotations

from typing import Any

import pyoxigraph
import pytest

from cd38kg import KnowledgeBase
from cd38kg.knowledge.names import name_keys
from cd38kg.store.neighbourhood import find_named
from cd38kg.vocab import NAMES_GRAPH


class StoreEndpoint:
    """The endpoint protocol answered by a local store, as a server would answer it."""

    def __init__(self, store: pyoxigraph.Store) -> None:
        self.store = store
        self.asked: list[str] = []

    def select(self, query: str, terms: bool = False) -> list[dict[str, Any]]:
        self.asked.append(query)
        solutions = self.store.query(query)
        names = [v.value for v in solutions.variables]
        return [{name: (s[name] if terms else s[name].value) for name in names if s[name] is not None}
                for s in solutions]


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


@pytest.fixture(scope="module")
def with_names(kb: KnowledgeBase) -> StoreEndpoint:
    return StoreEndpoint(kb.store.oxigraph)


@pytest.fixture(scope="module")
def without_names(kb: KnowledgeBase) -> StoreEndpoint:
    """The same knowledge base on a server loaded without cd38kg's names graph."""
    store = pyoxigraph.Store()
    store.bulk_extend(q for q in kb.store.oxigraph.quads_for_pattern(None, None, None, None)
                      if q.graph_name != pyoxigraph.NamedNode(NAMES_GRAPH))
    return StoreEndpoint(store)


def spellings(kb: KnowledgeBase) -> list[str]:
    """Every name of every entity, and other spellings of it people type."""
    out = []
    for entity in kb.facts.entities.values():
        for name in (entity.label, *entity.synonyms):
            out += [name, name.upper(), name.replace("γ", "g").replace("α", "a"), name + "s", f" {name}-"]
    return sorted(set(out))


def test_the_names_graph_holds_every_key_of_the_name_index(kb: KnowledgeBase) -> None:
    held = {(q.subject.value, q.object.value) for q in kb.store.oxigraph.quads_for_pattern(
        None, None, None, pyoxigraph.NamedNode(NAMES_GRAPH))}
    for entity in kb.facts.entities.values():
        for key in name_keys(entity.label, entity.synonyms, entity.xrefs):
            assert (entity.iri, key) in held, (entity.iri, key)


def test_every_name_the_index_matches_is_found_by_lookup(kb: KnowledgeBase, with_names: StoreEndpoint) -> None:
    for name in spellings(kb):
        wanted = kb.names.candidates(name)
        with_names.asked.clear()
        found = find_named(with_names, [name])
        assert wanted <= found, name
        if wanted:
            assert len(found) <= len(wanted) + 2, f"{name}: {len(found)} fetched for {len(wanted)}"
            assert not any("REGEX" in q for q in with_names.asked), f"{name}: known, yet scanned for"


@pytest.mark.parametrize("name", ["FcgRIIIA", "fcγriiia (CD16)", "immune checkpoint inhibitors", "DARATUMUMAB",
                                  "all trans retinoic acid", "kb:atra", "NK cell fratricide", "no such drug at all"])
def test_without_the_names_graph_a_scan_finds_the_same(kb: KnowledgeBase, without_names: StoreEndpoint,
                                                       name: str) -> None:
    assert kb.names.candidates(name) <= find_named(without_names, [name])


def test_names_with_quotes_and_backslashes_are_sent_as_literals(with_names: StoreEndpoint) -> None:
    assert find_named(with_names, ['ATRA" } }  DROP ALL #', "back\\slash"]) == set()


@pytest.mark.parametrize(("typed", "meant"), [("daratumumabb", "daratumumab"), ("ATRAA", "ATRA")])
def test_a_misspelt_name_brings_what_was_meant_for_the_error_to_suggest(kb: KnowledgeBase, with_names: StoreEndpoint,
                                                                          typed: str, meant: str) -> None:
    assert not kb.names.candidates(typed)
    assert kb.entity(meant).iri in find_named(with_names, [typed])
