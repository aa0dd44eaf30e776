"""Bounded path search over the signed causal graph: pure functions, no knowledge-base state.

Search limits (``max_length``) are parameters; blocked nodes keep a path from walking
through, say, another drug. :class:`PathIndex` is the search the engine uses (rustworkx over
the region a path can reach); :func:`reference_simple_paths` is networkx, kept as the
reference the index is checked against. A path is as strong as its weakest step (:func:`strength`,
following the rule documented in :mod:`cd38kg.engine.scoring`). Walks, which may repeat
nodes, bound what a search could find without searching: how few edges reach a node with a
given sign, how strong a positive walk can be (every simple path is a walk).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, product
from math import inf, prod
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


class SignedDistances:
    """Node and sign -> edges of the shortest walk from the node to a seed of
    :meth:`PathIndex.signed_distances` (None: out of reach)."""

    def __init__(self, nodes: Sequence[str], number: Mapping[str, int], row: bytearray) -> None:
        self.nodes, self.number, self.row = nodes, number, row

    def get(self, node: str, sign: int) -> int | None:
        """Walks reaching a seed with the seed's own sign (``sign`` 1) or the opposite one (-1)."""
        i = self.number.get(node)
        steps = FAR if i is None else self.row[2 * i + (sign < 0)]
        return None if steps == FAR else steps


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
        between: dict[tuple[str, str], dict[str, Edge]] = {}
        for edge in edges:
            for node in (edge.source, edge.target):
                if node not in number:
                    number[node] = len(number)
            between.setdefault((edge.source, edge.target), {})[edge.relation.iri] = edge
        succ: list[list[int]] = [[] for _ in number]
        pred: list[list[int]] = [[] for _ in number]
        signs: list[list[int]] = [[] for _ in number]
        for (u, v), parallel in between.items():
            succ[number[u]].append(number[v])
            pred[number[v]].append(number[u])
            signs[number[v]].append(signs_of(parallel.values()))
        self._setup(list(number), number, Adjacency.of(succ), Adjacency.of(pred), bytes(chain.from_iterable(signs)),
                    between)

    def _setup(self, nodes: list[str], number: dict[str, int], succ: Adjacency, pred: Adjacency, pred_signs: bytes,
               between: Mapping[tuple[str, str], dict[str, Edge]]) -> None:
        self._nodes, self._number, self._succ, self._pred = nodes, number, succ, pred
        #: per entry of ``pred``, the signs of the edges behind it (:func:`signs_of`): signed walks
        #: back from a node need no edge read from disk
        self._pred_signs = pred_signs
        #: the edges between two nodes, one per relation (as the multigraph keys them)
        self._between = between
        self._to_target: dict[tuple[str, int, frozenset[str]], Distances] = {}
        self._strongest: dict[tuple[str, int, frozenset[str]], array] = {}
        self._weights: tuple[array, array] | None = None
        self._numbered: dict[frozenset[str], frozenset[int]] = {}

    @classmethod
    def stored(cls, nodes: list[str], number: dict[str, int], succ: Adjacency, pred: Adjacency, pred_signs: bytes,
               between: Mapping[tuple[str, str], dict[str, Edge]]) -> PathIndex:
        """An index over a topology and edges kept elsewhere (:mod:`cd38kg.engine.stored`);
        ``number`` maps each node to its place in ``nodes``."""
        index = cls.__new__(cls)
        index._setup(nodes, number, succ, pred, pred_signs, between)
        return index

    @property
    def topology(self) -> tuple[list[str], Adjacency, Adjacency, bytes]:
        """The nodes in number order, the successor and predecessor rows, and the signs behind
        each predecessor entry."""
        return self._nodes, self._succ, self._pred, self._pred_signs

    def __contains__(self, node: str) -> bool:
        return node in self._number

    def nodes(self) -> Iterable[str]:
        return iter(self._nodes)

    def number_of(self, node: str) -> int | None:
        """The node's place in the rows (:attr:`topology`), or None when it is not in the graph."""
        return self._number.get(node)

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

    def strongest_to(self, target: str, max_length: int, excluded: frozenset[str]) -> array:
        """Per node number, the strength (weakest edge weight) of the strongest *positive* walk of
        at most ``max_length`` edges from the node to ``target``, never walking through an
        excluded node (0.0: none). Every positive simple path is such a walk, so no path the
        search finds is stronger: an upper bound that lets ranking skip hopeless partners.
        Cached; walked back hop by hop, keeping per node and sign only the walks that are
        stronger than any with fewer edges (the engine cache stores the rows of the mechanisms)."""
        key = (target, max_length, excluded)
        if key not in self._strongest:
            size = len(self._nodes)
            # best[0]: positive walks, best[1]: negative ones (a negative edge turns one into the other)
            best = (array("d", bytes(8 * size)), array("d", bytes(8 * size)))
            start = self._number.get(target)
            if start is not None:
                positive, negative = self._pred_weights()
                closed = self._numbers(excluded)
                offsets, targets = self._pred.offsets, self._pred.targets
                frontier = {(start, 0): inf}
                for _ in range(max_length):
                    ahead: dict[tuple[int, int], float] = {}
                    for (node, flipped), value in frontier.items():
                        if node in closed and node != start:
                            continue  # a walk may start at an excluded node, never pass it
                        for k in range(offsets[node], offsets[node + 1]):
                            before = targets[k]
                            for weight, sign in ((positive[k], flipped), (negative[k], 1 - flipped)):
                                found = min(weight, value)
                                if found > best[sign][before]:
                                    best[sign][before] = ahead[(before, sign)] = found
                    frontier = ahead
            self._strongest[key] = best[0]
        return self._strongest[key]

    def _pred_weights(self) -> tuple[array, array]:
        """Per entry of the predecessor rows, the weight of the strongest positive and of the
        strongest negative edge behind it (-1.0: none); read from the edges on first use."""
        if self._weights is None:
            nodes, offsets, targets = self._nodes, self._pred.offsets, self._pred.targets
            positive, negative = array("d", [-1.0]) * len(targets), array("d", [-1.0]) * len(targets)
            for node, name in enumerate(nodes):
                for k in range(offsets[node], offsets[node + 1]):
                    for edge in self._between[(nodes[targets[k]], name)].values():
                        row = positive if edge.sign > 0 else negative
                        row[k] = max(row[k], edge.weight)
            self._weights = positive, negative
        return self._weights

    def remember_strongest(self, target: str, max_length: int, excluded: frozenset[str], row: array) -> None:
        """Seed :meth:`strongest_to` with a row computed before (stored with the engine)."""
        self._strongest[(target, max_length, excluded)] = row

    def signed_distances(self, seeds: Mapping[tuple[str, int], int], max_length: int,
                         excluded: frozenset[str]) -> SignedDistances:
        """Fewest edges of a walk from each node to a seed, by the sign the walk must have.

        A seed ``(node, sign): offset`` is reached by a walk that ends at ``node`` with that
        sign, and costs ``offset`` more edges; walks longer than ``max_length`` in all, or
        through an excluded node, do not count. Walked back over the predecessor rows and
        their signs (no edge is read). Every path is a walk, so this bounds the paths from below.
        """
        row = bytearray([FAR]) * (2 * len(self._nodes))
        levels: list[list[int]] = [[] for _ in range(max_length + 1)]
        for (node, sign), offset in seeds.items():
            i = self._number.get(node)
            if i is not None and offset <= max_length and sign:
                # state 2i: walks from node i with the seed's sign; 2i + 1: with the opposite sign
                state = 2 * i + (sign < 0)
                if offset < row[state]:
                    row[state] = offset
                    levels[offset].append(state)
        seeded = {state for level in levels for state in level}
        closed = self._numbers(excluded)
        offsets, targets, signs = self._pred.offsets, self._pred.targets, self._pred_signs
        for depth in range(max_length):
            for state in levels[depth]:
                node, flipped = divmod(state, 2)
                if row[state] != depth or (node in closed and state not in seeded):
                    continue  # reached sooner, or an excluded node a walk may end at but not pass
                for k in range(offsets[node], offsets[node + 1]):
                    before, mask = targets[k], signs[k]
                    for edge_sign, bit in ((0, 1), (1, 2)):
                        if mask & bit:
                            after = 2 * before + (flipped ^ edge_sign)
                            if row[after] > depth + 1:
                                row[after] = depth + 1
                                levels[depth + 1].append(after)
        return SignedDistances(self._nodes, self._number, row)

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


def signs_of(edges: Iterable[Edge]) -> int:
    """The signs among parallel edges as bits: 1 for a positive edge, 2 for a negative one."""
    signs = {edge.sign for edge in edges}
    return (1 in signs) | (-1 in signs) << 1


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
