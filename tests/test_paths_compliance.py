"""The engine's path search (rustworkx over a bounded region) finds exactly the paths networkx finds.

networkx's ``all_simple_edge_paths`` is the reference: same edges, multigraph keys included,
in the same order, for every search the engine makes on the bundled knowledge base.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from cd38kg.engine.explain import Engine
from cd38kg.engine.graph import Edge, causal_graph
from cd38kg.engine.hypotheses import antibodies_with_mechanisms, rank_hypotheses
from cd38kg.engine.paths import PathIndex, reference_simple_paths, strength
from cd38kg.model import Relation
from cd38kg.vocab import CD38


class Recording(PathIndex):
    """A PathIndex that remembers every search it was asked to make."""

    def __init__(self, edges) -> None:
        super().__init__(edges)
        self.calls: list[tuple[str, str, int, frozenset[str], frozenset[str] | None]] = []

    def simple_paths(self, source, target, max_length, blocked=frozenset(), bound=None):
        self.calls.append((source, target, max_length, blocked, bound))
        return super().simple_paths(source, target, max_length, blocked, bound)


def keyed(paths):
    """Each path as its multigraph edges (source, target, key): what networkx yields."""
    return [[(e.source, e.target, e.relation.iri) for e in p.edges] for p in paths]


@pytest.fixture(scope="module")
def searches(kb):
    """Every search the engine makes ranking all agents (no pruning) with every antibody against
    every resistance mechanism: all (resistance, mechanism) and (agent, mechanism) pairs it asks."""
    engine = Engine(kb.facts)
    recording = Recording(engine.edges)
    engine.paths = recording
    for resistance in sorted(engine.resistances):
        for antibody in antibodies_with_mechanisms(engine):
            rank_hypotheses(kb, kb.entity_of(resistance), kb.entity_of(antibody), top=None, engine=engine, prune=False)
    return engine, sorted(set(recording.calls), key=lambda c: (c[0], c[1], sorted(c[3]), sorted(c[4] or ())))


def test_every_search_the_engine_makes_matches_networkx(searches):
    engine, calls = searches
    sources = {source for source, *_ in calls}
    assert sources & engine.resistances and sources & (engine.agents - engine.antibodies)
    found = 0
    assert any(bound is not None and bound < blocked for *_, blocked, bound in calls)  # shared distance bounds too
    for source, target, max_length, blocked, bound in calls:
        expected = reference_simple_paths(engine.graph, source, target, max_length, blocked)
        assert keyed(engine.paths.simple_paths(source, target, max_length, blocked, bound)) == keyed(expected), \
            (source, target)
        found += len(expected)
    assert found > 100


def test_paths_use_the_full_length_limit_and_parallel_edges(searches):
    """The cases an off-by-one cutoff or a merged multigraph would get wrong do occur."""
    engine, calls = searches
    lengths, parallel = set(), 0
    for source, target, max_length, blocked, bound in calls:
        for path in engine.paths.simple_paths(source, target, max_length, blocked, bound):
            lengths.add(len(path.edges))
            pairs = [(e.source, e.target) for e in path.edges]
            parallel += any(engine.graph.number_of_edges(u, v) > 1 for u, v in pairs)
    assert max(lengths) == engine.weights.max_path_length
    assert parallel > 0


def test_blocked_nodes_are_never_walked_through(searches):
    engine, calls = searches
    for source, target, max_length, blocked, bound in calls:
        for path in engine.paths.simple_paths(source, target, max_length, blocked, bound):
            assert not set(path.nodes[1:-1]) & blocked


def test_parallel_edges_of_opposite_sign_stay_distinct(kb):
    """An inhibiting twin beside every 'increases expression' edge doubles the routes through it;
    both searches keep the two relations apart and agree on every path."""
    engine = Engine(kb.facts)
    inhibits = kb.facts.relations[CD38.inhibits]
    twins = [replace(e, relation=inhibits, sign=-1) for e in engine.edges if e.relation.iri == CD38.increasesExpressionOf]
    assert twins
    graph = causal_graph([*engine.edges, *twins])
    index = PathIndex([*engine.edges, *twins])
    atra = kb.entity("ATRA").iri
    blocked = frozenset((engine.agents - {atra}) | engine.resistances | engine.patient_factors)
    signs = set()
    for mechanism in sorted({m for ab in engine.antibodies for m in engine.reliance(ab)}):
        expected = reference_simple_paths(graph, atra, mechanism, 5, blocked)
        got = index.simple_paths(atra, mechanism, 5, blocked)
        assert keyed(got) == keyed(expected)
        signs |= {p.sign for p in got}
    assert signs == {1, -1}


def test_walk_bounds_are_never_beaten_by_a_path_found(searches):
    """The walks ranking bounds a partner's score with are never beaten by a path the search
    finds (every path is a walk): none stronger than the strongest positive walk, and every
    node on a path reached, with the path's sign there, within the path's own length."""
    engine, calls = searches
    index = engine.paths
    reach: dict[tuple[str, int, str], object] = {}
    checked = 0
    for source, target, max_length, blocked, bound in calls:
        strongest = index.strongest_to(target, max_length, bound)
        to_target = index.distances_to(target, max_length, bound)
        for path in index.simple_paths(source, target, max_length, blocked, bound):
            if path.sign > 0:
                assert strength(path) <= strongest[index.number_of(source)], (source, target)
            for position, node in enumerate(path.nodes[1:-1], 1):
                key = (node, path.sign_at(node), target)
                if key not in reach:
                    reach[key] = index.signed_distances({key[:2]: to_target[node]}, max_length, bound)
                steps = reach[key].get(source, 1)
                assert steps is not None and steps <= position + to_target[node] <= len(path.edges)
                checked += 1
    assert checked > 100


def edge(source: str, target: str, sign: int, weight: float) -> Edge:
    relation = Relation(f"urn:{source}-{target}", "acts on", sign, False, "{subject} acts on {object}")
    return Edge(source, relation, target, source, target, sign, weight, (), (), "in vitro")


#: A hand-checkable graph: A reaches M directly (weak), through B (positive twice) and through
#: C (negative twice: positive in all); D -> A; Y reaches M only through X, which is excluded.
TINY = [edge("A", "M", 1, 0.2), edge("A", "B", 1, 0.5), edge("B", "M", 1, 0.9),
        edge("A", "C", -1, 0.9), edge("C", "M", -1, 0.8), edge("D", "A", 1, 1.0),
        edge("Y", "X", 1, 1.0), edge("X", "M", 1, 1.0)]
CLOSED = frozenset({"X"})


def test_strongest_walk_by_hand():
    index = PathIndex(TINY)
    rows = [index.strongest_to("M", length, CLOSED) for length in (1, 2, 3)]
    by_length = {name: tuple(row[index.number_of(name)] for row in rows) for name in "ABCDXY"}
    assert by_length["A"] == (0.2, 0.8, 0.8)  # min(0.9, 0.8) through C beats min(0.5, 0.9) through B
    assert by_length["B"] == (0.9, 0.9, 0.9)
    assert by_length["C"] == (0.0, 0.0, 0.0)  # its one path is negative
    assert by_length["D"] == (0.0, 0.2, 0.8)  # D -> A -> M, then D -> A -| C -| M
    assert by_length["X"] == (1.0, 1.0, 1.0)  # a walk may start at an excluded node
    assert by_length["Y"] == (0.0, 0.0, 0.0)  # but not pass through one


def test_signed_distances_by_hand():
    index = PathIndex(TINY)
    reach = index.signed_distances({("C", -1): 1}, 5, CLOSED)  # reach C with a negative sign, then 1 step
    assert reach.get("A", 1) == 2 and reach.get("A", -1) is None
    assert reach.get("D", 1) == 3 and reach.get("D", -1) is None  # D -> A -| C is negative too
    assert reach.get("C", -1) == 1 and reach.get("C", 1) is None  # the seed itself: an empty, positive walk
    assert index.signed_distances({("C", -1): 1}, 2, CLOSED).get("D", 1) is None  # beyond the limit
    to_m = index.signed_distances({("M", 1): 0}, 5, CLOSED)
    assert to_m.get("D", 1) == 2 and to_m.get("X", 1) == 1 and to_m.get("Y", 1) is None
