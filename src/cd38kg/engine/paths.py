"""Bounded path search over the signed causal graph: pure functions, no knowledge-base state.

Search limits (``max_length``) are parameters; blocked nodes keep a path from walking
through, say, another drug. :class:`PathIndex` is the search the engine uses (rustworkx over
the region a path can reach); :func:`reference_simple_paths` is networkx, kept as the
reference the index is checked against. A path is as strong as its weakest step (:func:`strength`,
following the rule documented in :mod:`cd38kg.engine.scoring`).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
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


#: A distance meaning "out of reach" (paths are a handful of steps long).
FAR = 255


class Adjacency:
    """Neighbours as compressed sparse rows over node numbers: row i is
    ``targets[offsets[i]:offsets[i + 1]]``. Flat integer arrays: built once, stored as bytes
    and read back in milliseconds, walked without making a string per step."""

    def __init__(self, offsets: array, targets: array) -> None:
        self.offsets, self.targets = offsets, targets

    @classmethod
    def of(cls, rows: Iterable[Iterable[int]]) -> Adjacency:
        offsets, targets = array("i", [0]), array("i")
        for row in rows:
            targets.extend(row)
            offsets.append(len(targets))
        return cls(offsets, targets)

    def __getitem__(self, i: int) -> array:
        return self.targets[self.offsets[i]:self.offsets[i + 1]]


class Distances(Mapping[str, int]):
    """Node -> edges from it to one target, one byte per node (:data:`FAR`: out of reach)."""

    def __init__(self, nodes: Sequence[str], number: Mapping[str, int], row: bytes | bytearray) -> None:
        self.nodes, self.number, self.row = nodes, number, row

    def get(self, node: str, default: Any = None) -> Any:
        i = self.number.get(node)
        steps = FAR if i is None else self.row[i]
        return default if steps == FAR else steps

    def __getitem__(self, node: str) -> int:
        steps = self.get(node)
        if steps is None:
            raise KeyError(node)
        return steps

    def __contains__(self, node: object) -> bool:
        return isinstance(node, str) and self.get(node) is not None

    def __iter__(self) -> Iterator[str]:
        nodes = self.nodes
        return (nodes[i] for i, steps in enumerate(self.row) if steps != FAR)

    def __len__(self) -> int:
        return len(self.row) - self.row.count(FAR)


class PathIndex:
    """Bounded simple-path search over one causal graph, built once and reused for every question.

    A search first bounds the region a path can use: nodes reachable from ``source`` and
    reaching ``target`` within ``max_length`` edges in total, avoiding blocked nodes (the
    distances to a target are cached, as the engine asks many sources about the same
    mechanisms). rustworkx then enumerates the simple paths of that small subgraph; its
    ``cutoff`` counts nodes, so it is ``max_length + 1``. Parallel edges (two relations,
    possibly of opposite signs, between the same nodes) are expanded so every combination
    is its own path, as networkx does over a multigraph. Walks run over node numbers
    (:class:`Adjacency`); the edges themselves are only looked up for the paths found, so
    they may live elsewhere (:mod:`cd38kg.engine.stored` reads them from disk on demand).
    """

    def __init__(self, edges: Iterable[Edge]) -> None:
        number: dict[str, int] = {}
        succ: list[list[int]] = []
        pred: list[list[int]] = []
        between: dict[tuple[str, str], dict[str, Edge]] = {}
        for edge in edges:
            u, v = edge.source, edge.target
            for node in (u, v):
                if node not in number:
                    number[node] = len(number)
                    succ.append([])
                    pred.append([])
            parallel = between.get((u, v))
            if parallel is None:
                parallel = between[(u, v)] = {}
                succ[number[u]].append(number[v])
                pred[number[v]].append(number[u])
            parallel[edge.relation.iri] = edge
        self._setup(list(number), number, Adjacency.of(succ), Adjacency.of(pred), between)

    def _setup(self, nodes: list[str], number: dict[str, int], succ: Adjacency, pred: Adjacency,
               between: Mapping[tuple[str, str], dict[str, Edge]]) -> None:
        self._nodes, self._number, self._succ, self._pred = nodes, number, succ, pred
        #: the edges between two nodes, one per relation (as the multigraph keys them)
        self._between = between
        self._to_target: dict[tuple[str, int, frozenset[str]], Distances] = {}
        self._numbered: dict[frozenset[str], frozenset[int]] = {}

    @classmethod
    def stored(cls, nodes: list[str], number: dict[str, int], succ: Adjacency, pred: Adjacency,
               between: Mapping[tuple[str, str], dict[str, Edge]]) -> PathIndex:
        """An index over a topology and edges kept elsewhere (:mod:`cd38kg.engine.stored`);
        ``number`` maps each node to its place in ``nodes``."""
        index = cls.__new__(cls)
        index._setup(nodes, number, succ, pred, between)
        return index

    @property
    def topology(self) -> tuple[list[str], Adjacency, Adjacency]:
        """The nodes in number order, and the successor and predecessor rows."""
        return self._nodes, self._succ, self._pred

    def __contains__(self, node: str) -> bool:
        return node in self._number

    def nodes(self) -> Iterable[str]:
        return iter(self._nodes)

    def successors(self, node: str) -> list[str]:
        i = self._number.get(node)
        return [] if i is None else [self._nodes[j] for j in self._succ[i]]

    def predecessors(self, node: str) -> list[str]:
        i = self._number.get(node)
        return [] if i is None else [self._nodes[j] for j in self._pred[i]]

    def edges(self) -> list[Edge]:
        """Every edge, in statement order (as :func:`cd38kg.engine.graph.build_edges` made them)."""
        return sorted((e for node in self.nodes() for e in self.out_edges(node)), key=lambda e: e.key)

    def out_edges(self, node: str) -> list[Edge]:
        """The edges leaving ``node`` (none when it is not in the graph)."""
        return [e for after in self.successors(node) for e in self._between[(node, after)].values()]

    def in_edges(self, node: str) -> list[Edge]:
        """The edges reaching ``node`` (none when it is not in the graph)."""
        return [e for before in self.predecessors(node) for e in self._between[(before, node)].values()]

    def _numbers(self, names: frozenset[str]) -> frozenset[int]:
        """The node numbers of a set of names (the same few sets are asked about again and again)."""
        numbered = self._numbered.get(names)
        if numbered is None:
            number = self._number
            numbered = self._numbered[names] = frozenset(number[n] for n in names if n in number)
        return numbered

    def distances_to(self, target: str, max_length: int, excluded: frozenset[str]) -> Distances:
        """Edges from each node to ``target`` (at most ``max_length``), never walking *through*
        an excluded node (one may still start a path: it gets its distance). Cached. A walk may
        pass through a path's own start here, so this is a lower bound: it prunes, never drops."""
        key = (target, max_length, excluded)
        if key not in self._to_target:
            row = bytearray([FAR]) * len(self._nodes)
            start = self._number.get(target)
            if start is not None and max_length < FAR:
                closed = self._numbers(excluded)
                pred = self._pred
                row[start] = 0
                frontier = [start]
                for depth in range(1, max_length + 1):
                    ahead = []
                    for node in frontier:
                        for before in pred[node]:
                            if row[before] == FAR:
                                row[before] = depth
                                if before not in closed:
                                    ahead.append(before)
                    frontier = ahead
            self._to_target[key] = Distances(self._nodes, self._number, row)
        return self._to_target[key]

    def remember_distances(self, target: str, max_length: int, excluded: frozenset[str], row: bytes) -> None:
        """Seed :meth:`distances_to` with a row computed before (stored with the engine)."""
        self._to_target[(target, max_length, excluded)] = Distances(self._nodes, self._number, row)

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
        s, t = self._number[source], self._number[target]
        if to_target.row[s] == FAR:
            return []
        region = self._region(s, t, max_length, self._numbers(blocked), to_target.row)
        if t not in region:
            return []  # the bound let the walk start; the blocked nodes stopped it
        sub = rx.PyDiGraph(multigraph=False)
        index = {node: sub.add_node(node) for node in region}
        succ = self._succ
        sub.add_edges_from_no_data([(index[u], index[v]) for u in region if u != t
                                    for v in succ[u] if v in index and v != s])
        nodes = self._nodes
        paths = []
        for found in rx.digraph_all_simple_paths(sub, index[s], index[t], cutoff=max_length + 1):
            names = [nodes[region[i]] for i in found]
            hops = [self._between[pair].values() for pair in zip(names, names[1:])]
            paths.extend(Path(edges) for edges in product(*hops))
        return _ordered(paths)

    def _region(self, source: int, target: int, max_length: int, blocked: frozenset[int],
                to_target: bytes | bytearray) -> list[int]:
        """The nodes some walk of at most ``max_length`` edges from ``source`` to ``target``
        can use, in the order they were found (so rustworkx index i is ``region[i]``)."""
        depth = {source: 0}
        frontier = [source]
        succ = self._succ
        for step in range(1, max_length + 1):
            ahead = []
            for node in frontier:
                for after in succ[node]:
                    if after in depth or to_target[after] + step > max_length:
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
