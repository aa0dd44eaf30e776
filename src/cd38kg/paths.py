"""Bounded path search over the signed causal graph: pure functions, no knowledge-base state.

Search limits (``max_length``) are parameters; blocked nodes keep a path from walking
through, say, another drug. A path's strength is scored by :func:`strength` following the
rule documented in :mod:`cd38kg.scoring`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING, Any

from .graph import Edge
from .scoring import ScoringWeights

if TYPE_CHECKING:
    import networkx as nx


@dataclass(frozen=True)
class Path:
    """A causal chain of edges, read from its source to its target."""

    edges: tuple[Edge, ...]

    @property
    def nodes(self) -> tuple[str, ...]:
        return (self.edges[0].source, *(e.target for e in self.edges))

    @property
    def sign(self) -> int:
        return prod(e.sign for e in self.edges)

    def sign_at(self, node: str) -> int:
        """The sign of the path's influence on ``node`` (which must lie on it, after the start)."""
        sign = 1
        for edge in self.edges:
            sign *= edge.sign
            if edge.target == node:
                return sign
        raise ValueError(f"{node} is not on the path")

    def prefix_to(self, node: str) -> tuple[Edge, ...]:
        """The edges from the start up to ``node``."""
        out = []
        for edge in self.edges:
            out.append(edge)
            if edge.target == node:
                return tuple(out)
        raise ValueError(f"{node} is not on the path")


def simple_paths(graph: nx.MultiDiGraph, source: str, target: str, max_length: int,
                 blocked: Iterable[str] = ()) -> list[Path]:
    """Every simple path from ``source`` to ``target`` of at most ``max_length`` edges."""
    import networkx as nx

    if source not in graph or target not in graph or source == target:
        return []
    hidden = set(blocked) - {source, target}
    view = nx.restricted_view(graph, hidden, []) if hidden else graph
    paths = [Path(tuple(graph.edges[u, v, k]["edge"] for u, v, k in edge_path))
             for edge_path in nx.all_simple_edge_paths(view, source, target, cutoff=max_length)]
    return sorted(paths, key=lambda p: (len(p.edges), [(e.source, e.relation.iri, e.target) for e in p.edges]))


def node_degrees(graph: nx.MultiDiGraph) -> dict[str, int]:
    """Number of distinct neighbours of each node, in either direction."""
    return {node: len(set(graph.successors(node)) | set(graph.predecessors(node))) for node in graph}


def strength(path: Path, degree: dict[str, int], weights: ScoringWeights) -> tuple[float, dict[str, Any]]:
    """A path's strength and how it was built, factor by factor."""
    edge_product = prod(e.weight for e in path.edges)
    decay = weights.length_decay ** (len(path.edges) - 1)
    inner = path.nodes[1:-1]
    hub = prod(max(degree.get(v, 1), 1) ** -weights.hub_damping for v in inner)
    factors = {
        "edges": [{"statement": f"{e.subject} {e.relation.label} {e.object}", "weight": round(e.weight, 4),
                   "evidence_level": e.level, "contested": bool(e.counter)} for e in path.edges],
        "edge_product": round(edge_product, 4),
        "length_decay": round(decay, 4),
        "hub_penalty": round(hub, 4),
        "hub_degrees": {v: degree.get(v, 1) for v in inner},
    }
    return edge_product * decay * hub, factors
