"""Bounded path search over the signed causal graph: pure functions, no knowledge-base state.

Search limits (``max_length``) are parameters; blocked nodes keep a path from walking
through, say, another drug. A path is as strong as its weakest step (:func:`strength`,
following the rule documented in :mod:`cd38kg.scoring`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING, Any

from .graph import Edge
from .names import curie

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


def strength(path: Path) -> tuple[float, dict[str, Any]]:
    """A path's strength (its weakest edge's weight) and how it was built, edge by edge."""
    weakest = min(path.edges, key=lambda e: e.weight)
    factors = {
        "edges": [{"statement": f"{curie(e.subject)} {e.relation.label} {curie(e.object)}", "weight": round(e.weight, 4),
                   "evidence_level": e.level, "contested": bool(e.counter), "extrapolated": e.extrapolated}
                  for e in path.edges],
        "weakest_edge": f"{curie(weakest.subject)} {weakest.relation.label} {curie(weakest.object)}",
        "weakest_weight": round(weakest.weight, 4),
    }
    return weakest.weight, factors
