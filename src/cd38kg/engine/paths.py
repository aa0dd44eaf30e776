"""Bounded path search over the signed causal graph: pure functions, no knowledge-base state.

Search limits (``max_length``) are parameters; blocked nodes keep a path from walking
through, say, another drug. :class:`PathIndex` is the search the engine uses (rustworkx over
the region a path can reach); :func:`reference_simple_paths` is networkx, kept as the
reference the index is checked against. A path is as strong as its weakest step (:func:`strength`,
following the rule documented in :mod:`cd38kg.engine.scoring`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from math import prod
from typing import TYPE_CHECKING, Any

from ..knowledge.names import curie
from .graph import Edge

if TYPE_CHECKING:
    import networkx as nx


@dataclass(frozen=True)
class Path:
    """A causal chain of edges, read from its source to its target."""

    edges: tuple[Edge, ...]
    #: computed once, as every classification of the path reads them
    nodes: tuple[str, ...] = field(init=False, repr=False, compare=False)
    sign: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", (self.edges[0].source, *(e.target for e in self.edges)))
        object.__setattr__(self, "sign", prod(e.sign for e in self.edges))

    def sign_at(self, node: str) -> int:
        """The sign of the path's influence on ``node`` (which must lie on it, after the start)."""
        sign = 1
        for edge in self.edges:
            sign *= edge.sign
            if edge.target == node:
                return sign
        raise ValueError(f"{node} is not on the path")

    def aspect_at(self, node: str) -> str:
        """What the path changes in ``node``: the aspect of the last signed edge reaching it
        (a change in a subpopulation passes unchanged to the population it is part of)."""
        aspect = ""
        for edge in self.edges:
            if not edge.relation.is_part_of:
                aspect = edge.aspect
            if edge.target == node:
                return aspect
        raise ValueError(f"{node} is not on the path")

    def prefix_to(self, node: str) -> tuple[Edge, ...]:
        """The edges from the start up to ``node``."""
        out = []
        for edge in self.edges:
            out.append(edge)
            if edge.target == node:
                return tuple(out)
        raise ValueError(f"{node} is not on the path")


def reference_simple_paths(graph: nx.MultiDiGraph, source: str, target: str, max_length: int,
                           blocked: Iterable[str] = ()) -> list[Path]:
    """Every simple path from ``source`` to ``target`` of at most ``max_length`` edges, by networkx.

    The plain reference :class:`PathIndex` is checked against (tests/test_paths_compliance.py);
    it walks the whole ball around ``source``, which explodes through hubs at scale.
    """
    import networkx as nx

    if source not in graph or target not in graph or source == target:
        return []
    hidden = set(blocked) - {source, target}
    view = nx.restricted_view(graph, hidden, []) if hidden else graph
    return _ordered(Path(tuple(graph.edges[u, v, k]["edge"] for u, v, k in edge_path))
                    for edge_path in nx.all_simple_edge_paths(view, source, target, cutoff=max_length))


def _ordered(paths: Iterable[Path]) -> list[Path]:
    """Shortest first, then by statement, so ties between equally strong paths break the same way."""
    return sorted(paths, key=lambda p: (len(p.edges), [(e.source, e.relation.iri, e.target) for e in p.edges]))


class PathIndex:
    """Bounded simple-path search over one causal graph, built once and reused for every question.

    A search first bounds the region a path can use: nodes reachable from ``source`` and
    reaching ``target`` within ``max_length`` edges in total, avoiding blocked nodes (the
    distances to a target are cached, as the engine asks many sources about the same
    mechanisms). rustworkx then enumerates the simple paths of that small subgraph; its
    ``cutoff`` counts nodes, so it is ``max_length + 1``. Parallel edges (two relations,
    possibly of opposite signs, between the same nodes) are expanded so every combination
    is its own path, as networkx does over a multigraph.
    """

    def __init__(self, edges: Iterable[Edge]) -> None:
        self._succ: Mapping[str, Sequence[str]] = {}
        self._pred: Mapping[str, Sequence[str]] = {}
        #: the edges between two nodes, one per relation (as the multigraph keys them)
        self._between: Mapping[tuple[str, str], dict[str, Edge]] = {}
        succ: dict[str, list[str]] = {}
        pred: dict[str, list[str]] = {}
        between: dict[tuple[str, str], dict[str, Edge]] = {}
        self._succ, self._pred, self._between = succ, pred, between
        for edge in edges:
            u, v = edge.source, edge.target
            parallel = between.get((u, v))
            if parallel is None:
                parallel = between[(u, v)] = {}
                succ.setdefault(u, []).append(v)
                pred.setdefault(u, [])
                succ.setdefault(v, [])
                pred.setdefault(v, []).append(u)
            parallel[edge.relation.iri] = edge
        self._to_target: dict[tuple[str, int, frozenset[str]], Mapping[str, int]] = {}

    @classmethod
    def stored(cls, succ: Mapping[str, Sequence[str]], pred: Mapping[str, Sequence[str]],
               between: Mapping[tuple[str, str], dict[str, Edge]]) -> PathIndex:
        """An index over adjacency and edges kept elsewhere (:mod:`cd38kg.engine.stored` reads
        them from disk as the search reaches them)."""
        index = cls(())
        index._succ, index._pred, index._between = succ, pred, between
        return index

    def __contains__(self, node: str) -> bool:
        return node in self._succ

    def nodes(self) -> Iterable[str]:
        return iter(self._succ)

    def successors(self, node: str) -> Sequence[str]:
        return self._succ.get(node, ())

    def predecessors(self, node: str) -> Sequence[str]:
        return self._pred.get(node, ())

    def edges(self) -> list[Edge]:
        """Every edge, in statement order (as :func:`cd38kg.engine.graph.build_edges` made them)."""
        return sorted((e for node in self.nodes() for e in self.out_edges(node)), key=lambda e: e.key)

    def out_edges(self, node: str) -> list[Edge]:
        """The edges leaving ``node`` (none when it is not in the graph)."""
        return [e for after in self._succ.get(node, ()) for e in self._between[(node, after)].values()]

    def in_edges(self, node: str) -> list[Edge]:
        """The edges reaching ``node`` (none when it is not in the graph)."""
        return [e for before in self._pred.get(node, ()) for e in self._between[(before, node)].values()]

    def distances_to(self, target: str, max_length: int, excluded: frozenset[str]) -> Mapping[str, int]:
        """Edges from each node to ``target`` (at most ``max_length``), never walking *through*
        an excluded node (one may still start a path: it gets its distance). Cached. A walk may
        pass through a path's own start here, so this is a lower bound: it prunes, never drops."""
        key = (target, max_length, excluded)
        if key not in self._to_target:
            dist = {target: 0}
            frontier = [target]
            for depth in range(1, max_length + 1):
                ahead = []
                for node in frontier:
                    for before in self._pred.get(node, ()):
                        if before not in dist:
                            dist[before] = depth
                            if before not in excluded:
                                ahead.append(before)
                frontier = ahead
            self._to_target[key] = dist
        return self._to_target[key]

    def remember_distances(self, target: str, max_length: int, excluded: frozenset[str],
                           distances: Mapping[str, int]) -> None:
        """Seed :meth:`distances_to` with distances computed before (stored with the engine)."""
        self._to_target[(target, max_length, excluded)] = distances

    def simple_paths(self, source: str, target: str, max_length: int, blocked: frozenset[str] = frozenset(),
                     bound: frozenset[str] | None = None) -> list[Path]:
        """Every simple path from ``source`` to ``target`` of at most ``max_length`` edges that
        passes through no blocked node. The ends may be in ``blocked``: a question about one
        agent passes the same set of all agents as every other, and shares its cached distances.
        ``bound``, a subset of ``blocked``, is what the cached distances avoid (a coarser bound
        shared by more questions prunes less but is computed once)."""
        import rustworkx as rx

        if source not in self or target not in self or source == target:
            return []
        to_target = self.distances_to(target, max_length, blocked if bound is None else bound)
        if source not in to_target:
            return []
        region = self._region(source, target, max_length, blocked, to_target)
        if target not in region:
            return []  # the bound let the walk start; the blocked nodes stopped it
        sub = rx.PyDiGraph(multigraph=False)
        index = {node: sub.add_node(node) for node in region}
        sub.add_edges_from_no_data([(index[u], index[v]) for u in region if u != target
                                    for v in self._succ[u] if v in index and v != source])
        paths = []
        for nodes in rx.digraph_all_simple_paths(sub, index[source], index[target], cutoff=max_length + 1):
            names = [region[i] for i in nodes]
            hops = [self._between[pair].values() for pair in zip(names, names[1:])]
            paths.extend(Path(edges) for edges in product(*hops))
        return _ordered(paths)

    def _region(self, source: str, target: str, max_length: int, blocked: frozenset[str],
                to_target: dict[str, int]) -> list[str]:
        """The nodes some walk of at most ``max_length`` edges from ``source`` to ``target``
        can use, in the order they were found (so rustworkx index i is ``region[i]``)."""
        depth = {source: 0}
        frontier = [source]
        for step in range(1, max_length + 1):
            ahead = []
            for node in frontier:
                for after in self._succ[node]:
                    if after in depth or to_target.get(after, max_length + 1) + step > max_length:
                        continue
                    if after in blocked and after != target:
                        continue
                    depth[after] = step
                    if after != target:
                        ahead.append(after)
            frontier = ahead
        return list(depth)


def strength(path: Path) -> float:
    """A path's strength: its weakest edge's weight."""
    return min(e.weight for e in path.edges)


def path_factors(path: Path) -> dict[str, Any]:
    """How a path's strength was built, edge by edge (for the paths an answer shows)."""
    weakest = min(path.edges, key=lambda e: e.weight)
    return {
        "edges": [{"statement": f"{curie(e.subject)} {e.relation.label} {curie(e.object)}", "weight": round(e.weight, 4),
                   "evidence_level": e.level, "contested": bool(e.counter), "extrapolated": e.extrapolated}
                  for e in path.edges],
        "weakest_edge": f"{curie(weakest.subject)} {weakest.relation.label} {curie(weakest.object)}",
        "weakest_weight": round(weakest.weight, 4),
    }
