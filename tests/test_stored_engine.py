"""The engine read back from its cache answers exactly as the engine that was built."""

from __future__ import annotations

import pytest

from cd38kg.engine.explain import Engine
from cd38kg.engine.hypotheses import rank_hypotheses
from cd38kg.engine.stored import MAGIC, read_engine, write_engine
from cd38kg.vocab import CD38


@pytest.fixture(scope="module")
def built_and_stored(kb, tmp_path_factory):
    built = Engine(kb.facts)
    path = tmp_path_factory.mktemp("engine") / "ready.engine"
    write_engine(built, kb.names, path)
    stored = read_engine(path)
    assert stored is not None, "the cache was written and can be read"
    return built, stored[0], path


def test_stored_engine_holds_the_same_graph_and_facts(kb, built_and_stored):
    built, stored, _ = built_and_stored
    assert stored.edges == built.edges
    assert stored.facts == built.facts
    assert dict(stored.facts.entities) == kb.facts.entities


def test_stored_distances_to_the_mechanisms_are_the_walked_ones(built_and_stored):
    built, stored, _ = built_and_stored
    length = built.weights.max_path_length
    mechanisms = {m for antibody in built.antibodies for m in built.reliance(antibody)}
    assert len(mechanisms) >= 5
    for mechanism in mechanisms:
        remembered = stored.paths.distances_to(mechanism, length, stored.path_bound)
        assert type(remembered) is not dict, "read from the cache, not walked again"
        assert dict(remembered) == dict(built.paths.distances_to(mechanism, length, built.path_bound))
        assert (stored.paths.strongest_to(mechanism, length, stored.path_bound)
                == built.paths.strongest_to(mechanism, length, built.path_bound))
    assert stored.paths._weights is None, "the strongest walks are read from the cache, not walked again"
    assert stored.paths.topology[3] == built.paths.topology[3]  # the signs behind each predecessor


def test_stored_engine_ranks_every_resistance_as_the_built_one(kb, built_and_stored):
    built, stored, _ = built_and_stored
    resistances = sorted(built.resistances)
    assert len(resistances) >= 10
    for iri in resistances:
        resistance = kb.entity_of(iri)
        expected = rank_hypotheses(kb, resistance, top=None, engine=built)
        assert rank_hypotheses(kb, resistance, top=None, engine=stored) == expected, resistance.label


def test_stored_engine_reads_only_the_edges_a_question_walks(kb, built_and_stored):
    _, _, path = built_and_stored
    engine, _ = read_engine(path)
    engine.impairments(kb.entity("daratumumab").iri, kb.entity("CD38 downregulation").iri)
    read = engine.paths._between._read
    assert 0 < len(read) < len(list(engine.paths.nodes())), "some nodes' edges read, not all"
    assert engine.facts.findings._items is None, "no question needs the list of every finding"


@pytest.mark.parametrize("damage", ["truncate", "last byte", "garbage", "empty"])
def test_damaged_cache_is_a_miss(built_and_stored, tmp_path, damage):
    _, _, path = built_and_stored
    data = path.read_bytes()
    broken = tmp_path / "broken.engine"
    damaged = {"truncate": data[: len(data) // 3], "last byte": data[:-1],
               "garbage": b"\x80\x05not a cache" * 50, "empty": b""}
    broken.write_bytes(damaged[damage])
    assert read_engine(broken) is None


def test_antibody_and_class_facts_survive_the_round_trip(kb, built_and_stored):
    built, stored, _ = built_and_stored
    assert stored.own_findings == built.own_findings and stored.antibodies == built.antibodies
    assert stored.facts.is_a(kb.entity("lenalidomide").iri, CD38.IMiD)


def test_an_engine_rebuilt_from_cached_facts_stores_no_second_copy_of_the_names(cache_home, tmp_path):
    """The facts and the name index come from two caches, with equal strings that are not the
    same objects; the engine's cache, which holds both, must not store them twice."""
    import pickle

    from cd38kg import KnowledgeBase
    from cd38kg.resources import example_file

    def core_size(kb: KnowledgeBase) -> int:
        kb.engine()
        with kb._ready_path.open("rb") as handle:
            assert read_engine(kb._ready_path) is not None
            handle.seek(len(MAGIC))
            size = int.from_bytes(handle.read(8), "little")
            table = pickle.loads(handle.read(size))  # noqa: S301 - written by the test
            return sum(table[section][1] for section in ("core", "entities", "name keys"))

    extension = example_file("my_findings.tsv")
    first = KnowledgeBase.load(extras=[extension], with_engine=False)  # selects the facts, builds the engine
    built_with_facts = core_size(first)
    first._ready_path.unlink()
    again = KnowledgeBase.load(extras=[extension], with_engine=False)  # facts and names from their caches
    assert again._loaded._facts is None
    assert core_size(again) <= built_with_facts * 1.01


def test_the_stored_name_index_reads_only_the_names_asked_for(kb, built_and_stored):
    """A question resolves a few names: the stored index finds them by their keys' hashes and
    reads nothing else, and answers every name as the built index does."""
    _, _, path = built_and_stored
    _, names = read_engine(path)
    assert names.resolve("daratumumab").iri == kb.names.resolve("daratumumab").iri
    assert names.candidates("CD38") == kb.names.candidates("CD38")
    assert len(names._keys._found) <= 3 and names._keys._all is None and names.entities.rows._all is None
    assert names.candidates("no such thing here") == set()
    for entity in kb.facts.entities.values():
        for name in (entity.label, *entity.synonyms, *entity.xrefs):
            assert names.candidates(name) == kb.names.candidates(name), name
    assert names.suggest("daratumumb") == kb.names.suggest("daratumumb")
    assert dict(names.entities.rows) == dict(kb.names.entities.rows) and len(names.entities) == len(kb.names.entities)
    import pickle

    again = pickle.loads(pickle.dumps(names))  # noqa: S301 - pickled just above: a plain index, no file behind it
    assert type(again._keys) is dict and again.candidates("CD38") == kb.names.candidates("CD38")
