"""Self-contained, offline HTML pictures of the knowledge graph, an explanation or ranked hypotheses.

Public API::

    graph_html(kb, focus=None, depth=2) -> str         # the whole graph, or a neighbourhood
    explanation_html(kb, result) -> str                 # kb.explain(...) drawn as paths
    hypotheses_html(kb, resistance, hypotheses) -> str  # kb.hypotheses(...) as a ranked table
    write_html(text, out_path) -> Path                  # atomic write

Each page is one file with every script and style in-line: the vis-network build that ships
inside the pyvis package, our own script (``templates/cd38kg.js``) and the data as JSON. A
Content-Security-Policy allows only those exact scripts (by hash), so the page can fetch
nothing and an injected event handler cannot run. We do not use pyvis's own ``write_html``:
its template links Bootstrap and vis-network from CDNs, switches every tooltip to innerHTML
once a title contains "href", and prints the heading unescaped.

Safety: node and edge data go into the page as JSON with ``<``, ``>`` and ``&`` escaped, so
no label can close the script element; tooltips are built as DOM text nodes; the side panel
is rendered by Jinja with autoescaping. Positions are computed here (stress majorization,
deterministic, so exports are reproducible) and the browser runs no physics: even a graph of
~1,500 nodes opens in about a second and never moves on its own.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Cd38kgError
from ..knowledge.facts import select
from ..knowledge.names import curie
from ..model import Entity, ExplainResult, Finding, Hypothesis, Step, Support
from ..store import write_text as write_html
from ..vocab import CD38, OWL

if TYPE_CHECKING:
    from ..kb import KnowledgeBase

TEMPLATES = Path(__file__).resolve().parent / "templates"
VIS_JS = ("templates", "lib", "vis-9.1.2", "vis-network.min.js")
SEED = 38
UNIT = 150.0  # typical distance between neighbouring nodes, in pixels
STRESS_LIMIT = 3000  # largest component given a stress layout (memory grows with the square)
COLUMN, ROW = 1.3, 0.55  # explanation paths: spacing of steps and of paths, in layout units

#: Visual grammar of node kinds: legend text, vis-network shape, fill colour, border colour.
KIND_STYLE: dict[str, tuple[str, str, str, str]] = {
    "antibody": ("anti-CD38 antibody", "star", "#f2b701", "#8a6800"),
    "agent": ("other therapeutic agent", "diamond", "#ef6c00", "#8f4100"),
    "cell": ("cell population", "dot", "#26a69a", "#00695c"),
    "molecule": ("molecule", "square", "#1565c0", "#0b3c74"),
    "molecule-context": ("molecule on or in a cell", "square", "#90caf9", "#1565c0"),
    "mechanism": ("mechanism of action", "hexagon", "#7b1fa2", "#4a0072"),
    "process": ("biological process", "hexagon", "#ce93d8", "#7b1fa2"),
    "resistance": ("resistance mechanism", "triangleDown", "#6d4c41", "#3e2723"),
    "patient-factor": ("patient factor", "triangle", "#ec407a", "#9c1e4c"),
    "trial": ("clinical trial", "box", "#78909c", "#455a64"),
}
#: Label size by kind: the entities a question turns on stay legible when zoomed out.
FONT_SIZE = {"antibody": 22, "mechanism": 19, "resistance": 19, "agent": 16, "cell": 16}
#: Edge colour by causal sign: +1 increases, -1 decreases, 0 a non-causal link.
SIGN_STYLE: dict[int, tuple[str, str]] = {
    1: ("increases", "#2e7d32"),
    -1: ("decreases", "#c62828"),
    0: ("other link (binds, targets, indicates, part of, tested in, is a)", "#9e9e9e"),
}
VERDICT_COLOUR = {"overcomes": "#2e7d32", "partial": "#f9a825", "mixed": "#7b1fa2",
                  "does-not": "#c62828", "unknown": "#757575"}
#: Non-causal links drawn from the graph itself (not from findings): predicate -> sentence.
STRUCTURE = {
    CD38.ofMolecule: "{subject} is a form of {object}",
    CD38.inCell: "{subject} is found on or in {object}",
    CD38.targets: "{subject} targets {object}",
    CD38.binds: "{subject} binds {object}",
    CD38.indicates: "{subject} points to {object}",
}
_VALUES = " ".join(f"<{p}>" for p in STRUCTURE)
Q_STRUCTURE = f"SELECT DISTINCT ?s ?p ?o WHERE {{ VALUES ?p {{ {_VALUES} }} ?s ?p ?o . FILTER(isIRI(?o)) }}"
Q_TRIAL_AGENTS = """SELECT DISTINCT ?t ?a WHERE {
  ?t cd38:hasArm ?arm . ?arm cd38:regimen ?r . ?r cd38:hasComponent ?a }"""


# -- the drawable graph -------------------------------------------------------------------


@dataclass
class Link:
    """One drawn edge: a causal triple, a finding, a structural link or a derived link."""

    source: str
    target: str
    relation: str
    sign: int
    sentence: str
    supports: tuple[Support, ...] = ()
    counter: tuple[Support, ...] = ()
    inferred: bool = False
    note: str = ""
    level: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.relation, self.target)


@dataclass
class Graph:
    """Entities to draw (IRI -> visual kind) and the links between them."""

    kinds: dict[str, str] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)

    def neighbourhood(self, start: str, depth: int) -> Graph:
        """The entities within ``depth`` links of ``start`` (either direction) and their links."""
        around: dict[str, set[str]] = defaultdict(set)
        for link in self.links:
            around[link.source].add(link.target)
            around[link.target].add(link.source)
        seen, frontier = {start}, {start}
        for _ in range(depth):
            frontier = {n for f in frontier for n in around[f]} - seen
            seen |= frontier
        return Graph({iri: k for iri, k in self.kinds.items() if iri in seen},
                     [x for x in self.links if x.source in seen and x.target in seen])


def sentence(template: str, subject: str, obj: str) -> str:
    """Fill a relation's sentence template (no str.format: labels may hold braces)."""
    return template.replace("{subject}", subject).replace("{object}", obj)


def visual_kind(kb: KnowledgeBase, entity: Entity) -> str | None:
    """The legend entry an entity is drawn as, or None for things we do not draw."""
    types = set(entity.types)
    if OWL.Class in types:  # a class is drawn like its members
        types = {entity.iri, *kb.facts.superclasses.get(entity.iri, ())}
    if CD38.AntiCD38Antibody in types:
        return "antibody"
    kind = kb.kind_of(Entity(entity.iri, entity.label, types=tuple(types)))
    return kind if kind in KIND_STYLE else None


def build_graph(kb: KnowledgeBase) -> Graph:
    """Everything drawable: causal triples, findings, structure, trial links and class membership.

    A causal triple that no finding states for its own subject came through the reasoner from
    a class-level finding, so it is marked inferred and credited to that class's findings.
    """
    facts = kb.facts
    graph = Graph()
    for iri, entity in facts.entities.items():
        if OWL.Class not in entity.types and (kind := visual_kind(kb, entity)):
            graph.kinds[iri] = kind
    stated: dict[tuple[str, str, str], list[Finding]] = defaultdict(list)
    for finding in facts.findings:
        stated[(finding.subject, finding.predicate, finding.object)].append(finding)

    def supports(findings: Iterable[Finding], negative: bool) -> tuple[Support, ...]:
        return tuple(Support(f) for f in findings if f.is_negative == negative)

    def add(s: str, p: str, o: str, text: str, found: list[Finding]) -> None:
        relation = facts.relations.get(p)
        sign = relation.sign if relation else 0
        source, target = (o, s) if relation and relation.reverse else (s, o)
        graph.links.append(Link(source, target, p, sign, sentence(text, facts.label(s), facts.label(o)),
                                supports(found, False), supports(found, True)))

    drawn = set(graph.kinds)
    for s, p, o in facts.triples:
        if s not in drawn or o not in drawn:
            continue
        direct = stated.get((s, p, o), [])
        if any(not f.is_negative for f in direct):
            add(s, p, o, facts.relations[p].template, direct)
            continue
        members_of = set(facts.entities[s].types)
        inherited = [Support(f, f.subject) for cls in sorted(members_of & facts.classes)
                     for f in stated.get((cls, p, o), []) if not f.is_negative]
        relation = facts.relations[p]
        source, target = (o, s) if relation.reverse else (s, o)
        graph.links.append(Link(source, target, p, relation.sign,
                                sentence(relation.template, facts.label(s), facts.label(o)),
                                tuple(inherited), supports(direct, True), inferred=True,
                                note="inferred by the OWL reasoner from a statement about a class"))
    # Class-level findings: draw the class node itself, plus "is a" links from its members.
    classes: set[str] = set()
    for (s, p, o), found in stated.items():
        ends = [n for n in (s, o) if n in facts.classes]
        if not ends or p not in facts.relations or not any(not f.is_negative for f in found):
            continue
        kinds = {n: graph.kinds.get(n) or visual_kind(kb, facts.entities[n]) for n in (s, o) if n in facts.entities}
        if len(kinds) == 2 and all(kinds.values()):
            classes.update(ends)
            graph.kinds.update({n: k for n, k in kinds.items() if k})
            add(s, p, o, facts.relations[p].template, found)
    for cls in sorted(classes):
        for member in sorted(facts.members.get(cls, set()) & drawn):
            graph.links.append(Link(member, cls, "is a", 0,
                                    f"{facts.label(member)} belongs to the class {facts.label(cls)}"))
    seen_pairs = set()
    for s, p, o in sorted(select(kb.dataset, Q_STRUCTURE)):
        if s not in graph.kinds or o not in graph.kinds or (o, p, s) in seen_pairs:
            continue
        seen_pairs.add((s, p, o))
        add(s, p, o, STRUCTURE[p], stated.get((s, p, o), []))
    for trial, agent in sorted(select(kb.dataset, Q_TRIAL_AGENTS)):
        if trial in graph.kinds and agent in graph.kinds:
            graph.links.append(Link(trial, agent, "tested", 0,
                                    f"{facts.label(trial)} tested a regimen containing {facts.label(agent)}",
                                    inferred=True, note="derived from the trial's arm results and regimens"))
    graph.links.sort(key=lambda x: (x.source, x.relation, x.target))
    return graph


# -- layout ------------------------------------------------------------------------------


def layout(nodes: Sequence[str], links: Iterable[Link], fixed: dict[str, tuple[float, float]] | None = None
           ) -> dict[str, tuple[float, float]]:
    """Pixel positions, computed here so that the browser needs no physics.

    Each connected component gets a stress-majorization layout (what Graphviz's neato does:
    distances on the page follow path lengths in the graph, deterministic, ~0.2 s for the
    bundled graph, a few seconds for 1,500 nodes) or, above ``STRESS_LIMIT`` nodes where its
    n-by-n matrices get too big, a seeded spring layout. The components holding ``fixed``
    nodes are laid out together around them; the others are packed in rows below.
    """
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((x.source, x.target) for x in links if x.source != x.target)
    components = sorted((sorted(c) for c in nx.connected_components(graph)), key=lambda c: (-len(c), c[0]))
    fixed = fixed or {}
    anchored = [n for c in components if any(n in fixed for n in c) for n in c]
    blocks = []
    if anchored:
        pos = nx.spring_layout(_ordered(graph, anchored), pos=dict(fixed), fixed=[n for n in anchored if n in fixed],
                               seed=SEED, k=0.45, iterations=100)
        blocks.append({n: (x * UNIT * 2, y * UNIT * 2) for n, (x, y) in pos.items()})
    for component in components:
        if any(n in fixed for n in component):
            continue
        sub = _ordered(graph, component)
        if len(component) <= STRESS_LIMIT:
            pos = stress_layout(sub)
            blocks.append({n: (x * UNIT, y * UNIT) for n, (x, y) in pos.items()})
        else:
            pos = nx.spring_layout(sub, seed=SEED, iterations=50)
            scale = UNIT * math.sqrt(len(component)) / 2
            blocks.append({n: (x * scale, y * scale) for n, (x, y) in pos.items()})
    return _pack(blocks)


def _ordered(graph: Any, nodes: Iterable[str]) -> Any:
    """A copy of the subgraph with nodes and edges in sorted order: networkx iterates subgraph
    views in set order, which changes between runs, and layouts depend on node order."""
    import networkx as nx

    keep = sorted(nodes)
    sub = nx.Graph()
    sub.add_nodes_from(keep)
    sub.add_edges_from(sorted(tuple(sorted(e)) for e in graph.subgraph(keep).edges()))
    return sub


def stress_layout(graph: Any, iterations: int = 100, tol: float = 1e-3) -> dict[str, tuple[float, float]]:
    """Stress majorization of one connected graph, one unit of distance per link.

    Starts from classical multidimensional scaling (so it needs no random seed) and then
    moves every node at once to its weighted best place given the others (Jacobi updates:
    two n-by-n products per round, no linear solve), until the stress stops falling.
    """
    import numpy as np
    from networkx import to_scipy_sparse_array
    from scipy.sparse.csgraph import shortest_path
    from scipy.sparse.linalg import eigsh
    from scipy.spatial.distance import cdist

    nodes = sorted(graph)
    n = len(nodes)
    if n < 3:
        return {node: (float(i), 0.0) for i, node in enumerate(nodes)}
    d = shortest_path(to_scipy_sparse_array(graph, nodelist=nodes), unweighted=True, directed=False)
    w = np.zeros_like(d)
    np.power(d, -2.0, out=w, where=d > 0)
    wd = w * d
    weight_sums = w.sum(axis=1)[:, None]
    centred = d ** 2
    centred -= centred.mean(axis=0)
    centred -= centred.mean(axis=1)[:, None]
    values, vectors = eigsh(-0.5 * centred, k=2, which="LA", v0=np.linspace(1.0, 2.0, n))
    # ARPACK's signs and last digits vary from call to call; fixing the sign of each axis and
    # rounding the noise away keeps exports reproducible.
    signs = np.sign(np.linspace(-1.0, 1.0, n) @ vectors)
    vectors *= np.where(signs == 0, 1.0, signs)
    x = np.round(vectors * np.sqrt(np.maximum(values, 1e-9)), 3)
    previous = np.inf
    for _ in range(iterations):
        dist = cdist(x, x)
        stress = float((w * (dist - d) ** 2).sum())
        if previous - stress <= tol * stress:
            break
        previous = stress
        pull = np.zeros_like(dist)
        np.divide(wd, dist, out=pull, where=dist > 1e-9)
        x = (w @ x + pull.sum(axis=1)[:, None] * x - pull @ x) / weight_sums
    return {node: (float(px), float(py)) for node, (px, py) in zip(nodes, separate(x), strict=True)}


def separate(x: Any, radius: float = 0.8, rounds: int = 40) -> Any:
    """Push apart nodes closer than ``radius`` (hubs pull their neighbours into a knot)."""
    import numpy as np
    from scipy.spatial import cKDTree

    x = x.copy()
    for _ in range(rounds):
        pairs = cKDTree(x).query_pairs(radius, output_type="ndarray")
        if not len(pairs):
            break
        delta = x[pairs[:, 0]] - x[pairs[:, 1]]
        dist = np.hypot(delta[:, 0], delta[:, 1])
        same = dist < 1e-9
        delta[same] = (0.01, 0.0)  # coincident nodes: split them sideways
        dist[same] = 0.01
        push = ((radius - dist) / (2 * dist))[:, None] * delta * 0.5
        np.add.at(x, pairs[:, 0], push)
        np.add.at(x, pairs[:, 1], -push)
    return x


def _pack(blocks: list[dict[str, tuple[float, float]]]) -> dict[str, tuple[float, float]]:
    """Shelf-pack laid-out components: the first on top, the rest in rows beneath it."""
    out: dict[str, tuple[float, float]] = {}
    if not blocks:
        return out
    boxes = []
    for block in blocks:
        xs = [x for x, _ in block.values()]
        ys = [y for _, y in block.values()]
        boxes.append((min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)))
    width = max(boxes[0][2], UNIT * 8)
    x = y = row_height = 0.0
    for n, (block, (left, top, w, h)) in enumerate(zip(blocks, boxes, strict=True)):
        if n and x + w > width:
            x, y, row_height = 0.0, y + row_height + UNIT, 0.0
        for node, (px, py) in block.items():
            out[node] = (round(px - left + x, 1), round(py - top + y, 1))
        x += w + UNIT
        row_height = max(row_height, h)
        if n == 0:
            x, y, row_height = 0.0, h + UNIT, 0.0
    return out


def reading_order(paths: Sequence[Sequence[Step]]) -> dict[str, tuple[float, float]]:
    """Place path nodes left to right in the order influence flows, one row per path."""
    cells: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for row, path in enumerate(paths):
        order: list[str] = []
        for step in path:
            for iri in _causal_ends(step):
                if iri not in order:
                    order.append(iri)
        for column, iri in enumerate(order):
            cells[iri].append((column, row))
    middle = (max(len(paths), 1) - 1) / 2
    return {iri: (sum(c for c, _ in at) / len(at) * COLUMN, (sum(r for _, r in at) / len(at) - middle) * ROW)
            for iri, at in cells.items()}


def _causal_ends(step: Step) -> tuple[str, str]:
    """(source, target) of a step in the direction influence flows."""
    if step.predicate.reverse:
        return step.object.iri, step.subject.iri
    return step.subject.iri, step.object.iri


# -- page data -----------------------------------------------------------------------------


@dataclass
class Page:
    """Everything one export needs: the graph to draw, what to highlight and the side panel."""

    mode: str
    title: str
    subtitle: str
    kinds: dict[str, str]
    links: list[Link]
    positions: dict[str, tuple[float, float]]
    groups: list[dict[str, Any]] = field(default_factory=list)
    default_group: int = -1
    panel: dict[str, Any] = field(default_factory=dict)
    focus: str = ""


def _support_json(kb: KnowledgeBase, support: Support) -> dict[str, str]:
    facts = kb.facts
    finding = support.finding
    return {
        "statement": sentence(facts.relations[finding.predicate].template if finding.predicate in facts.relations
                              else "{subject} " + curie(finding.predicate) + " {object}",
                              facts.label(finding.subject), facts.label(finding.object)),
        "source": facts.label(finding.source) if finding.source in facts.entities else curie(finding.source),
        "doi": finding.source.removeprefix("https://doi.org/") if finding.source.startswith("https://doi.org/") else "",
        "section": finding.section,
        "level": facts.evidence_label.get(finding.evidence_level, curie(finding.evidence_level)),
        "note": finding.note,
        "magnitude": finding.magnitude,
        "quantity": finding.quantity,
        "inherited": facts.label(support.inherited_from) if support.inherited_from else "",
        "id": curie(finding.iri),
    }


def _best_level(kb: KnowledgeBase, supports: Sequence[Support]) -> str:
    if not supports:
        return ""
    best = max(supports, key=lambda s: kb.facts.evidence_rank.get(s.finding.evidence_level, 0))
    return kb.facts.evidence_label.get(best.finding.evidence_level, "")


def _node_json(kb: KnowledgeBase, index: int, iri: str, kind: str, pos: tuple[float, float],
               focus: bool) -> dict[str, Any]:
    facts = kb.facts
    entity = facts.entities.get(iri) or Entity(iri, curie(iri), curie=curie(iri))
    legend, shape, fill, border = KIND_STYLE[kind]
    is_class = iri in facts.classes
    node: dict[str, Any] = {
        "id": index, "label": entity.label, "x": pos[0], "y": pos[1], "shape": shape,
        "size": (22 if kind == "antibody" else 13) * (2 if focus else 1),
        "color": {"background": fill, "border": border,
                  "highlight": {"background": fill, "border": "#000000"},
                  "hover": {"background": fill, "border": "#000000"}},
        "borderWidth": 3 if focus else 2.5 if is_class else 1.5,
        "font": {"color": "#ffffff", "size": 11, "strokeWidth": 0} if shape == "box"
        else {"color": "#1a1a1a", "size": 28 if focus else FONT_SIZE.get(kind, 13)},
        "tip": {"label": entity.label, "id": entity.curie or curie(iri),
                "kind": legend + (" (a class: its statements hold for every member)" if is_class else ""),
                "synonyms": list(entity.synonyms)},
    }
    if is_class:
        node["shapeProperties"] = {"borderDashes": [5, 4]}
    return node


def _edge_json(kb: KnowledgeBase, index: int, link: Link, ids: dict[str, int]) -> dict[str, Any]:
    colour = SIGN_STYLE[link.sign][1]
    relation = kb.facts.relations.get(link.relation)
    supports = [_support_json(kb, s) for s in link.supports]
    return {
        "id": index, "from": ids[link.source], "to": ids[link.target],
        "color": {"color": colour, "highlight": colour, "hover": colour, "opacity": 1.0},
        "width": 1.6 if link.sign else 1.0,
        "dashes": [6, 5] if link.inferred else False,
        "arrows": {"to": {"enabled": True, "scaleFactor": 0.55}},
        "tip": {"sentence": link.sentence,
                "relation": relation.label if relation else link.relation,
                "sign": {1: "increases", -1: "decreases"}.get(link.sign, "no causal sign"),
                "level": link.level or _best_level(kb, link.supports),
                "note": link.note, "supports": supports,
                "counter": [_support_json(kb, s) for s in link.counter]},
    }


def _spread_parallel(edges: list[dict[str, Any]]) -> None:
    """Curve edges that share a pair of nodes so that none hides another."""
    by_pair: dict[frozenset[int], list[dict[str, Any]]] = defaultdict(list)
    for edge in edges:
        by_pair[frozenset((edge["from"], edge["to"]))].append(edge)
    for group in by_pair.values():
        if len(group) > 1:
            for n, edge in enumerate(group):
                edge["smooth"] = {"enabled": True, "type": "curvedCW", "roundness": 0.15 + 0.15 * n}


def page_data(kb: KnowledgeBase, page: Page) -> dict[str, Any]:
    """The JSON the page script reads: vis-network nodes and edges, highlight groups, options."""
    order = sorted(page.kinds)
    ids = {iri: n for n, iri in enumerate(order)}
    nodes = [_node_json(kb, ids[iri], iri, page.kinds[iri], page.positions[iri], iri == page.focus) for iri in order]
    edges = [_edge_json(kb, n, link, ids) for n, link in enumerate(page.links)]
    _spread_parallel(edges)
    groups = [{"title": g["title"], "nodes": sorted(ids[i] for i in g["nodes"] if i in ids),
               "edges": sorted(g["edges"]), "labels": {str(k): v for k, v in g["labels"].items()}}
              for g in page.groups]
    return {"mode": page.mode, "nodes": nodes, "edges": edges, "groups": groups,
            "defaultGroup": page.default_group}


# -- rendering -----------------------------------------------------------------------------


def script_json(data: Any) -> str:
    """JSON safe inside a <script> element: no "</script>", "<!--" or "&" can appear in it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


@cache
def _vis_js() -> str:
    spec = find_spec("pyvis")  # locate without importing: pyvis imports IPython
    if spec is None or not spec.submodule_search_locations:
        raise Cd38kgError("the pyvis package is missing; reinstall cd38kg")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*VIS_JS)
    text = path.read_text(encoding="utf-8")
    if "</script" in text.lower() or "<!--" in text:
        raise Cd38kgError(f"{path} cannot be embedded in a <script> element")
    return text


@cache
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def _csp_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode() + "'"


def _legend(page: Page) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    present = set(page.kinds.values())
    kinds = [{"kind": k, "label": v[0], "shape": v[1], "fill": v[2], "border": v[3]}
             for k, v in KIND_STYLE.items() if k in present]
    signs = {x.sign for x in page.links}
    edges: list[dict[str, Any]] = [{"label": v[0], "colour": v[1], "dashed": False}
                                   for s, v in SIGN_STYLE.items() if s in signs]
    if any(x.inferred for x in page.links):
        edges.append({"label": "dashed: inferred from a class, or derived", "colour": "#616161",
                      "dashed": True})
    return kinds, edges


def render(kb: KnowledgeBase, page: Page) -> str:
    """The complete HTML document for one page."""
    from markupsafe import Markup

    app_js = (TEMPLATES / "cd38kg.js").read_text(encoding="utf-8")
    guard_js = (TEMPLATES / "guard.js").read_text(encoding="utf-8")
    vis_js = _vis_js()
    csp = ("default-src 'none'; script-src " + " ".join(_csp_hash(s) for s in (guard_js, vis_js, app_js))
           + "; style-src 'unsafe-inline'; img-src data:; font-src data:; base-uri 'none'; form-action 'none'")
    legend_kinds, legend_edges = _legend(page)
    labels = sorted({kb.facts.label(i) for i in page.kinds})
    template = _environment().get_template("export.html")
    return template.render(
        page=page, csp=csp, legend_kinds=legend_kinds, legend_edges=legend_edges, labels=labels,
        has_class=any(i in kb.facts.classes for i in page.kinds),
        guard_js=Markup(guard_js), vis_js=Markup(vis_js), app_js=Markup(app_js),  # noqa: S704 - our own files
        data_json=Markup(script_json(page_data(kb, page))),  # noqa: S704 - escaped by script_json
        verdict_colour=VERDICT_COLOUR,
    )


# -- the three exports ---------------------------------------------------------------------


def graph_html(kb: KnowledgeBase, focus: str | None = None, depth: int = 2) -> str:
    """The whole knowledge graph, or the neighbourhood within ``depth`` links of ``focus``."""
    graph = build_graph(kb)
    if focus is None:
        title = "What does the knowledge base say about anti-CD38 antibodies in multiple myeloma?"
        scope = "the whole knowledge base"
        centre = ""
    else:
        if depth < 0:
            raise Cd38kgError(f"--depth must be 0 or more (got {depth})")
        entity = kb.entity(focus)
        if entity.iri not in graph.kinds:
            raise Cd38kgError(f"{entity.label!r} is not drawn in the graph (its kind: {kb.kind_of(entity)}); "
                              "focus on an agent, cell, molecule, mechanism, resistance mechanism, "
                              "patient factor or trial")
        graph = graph.neighbourhood(entity.iri, depth)
        title = f"What is within {depth} link{'s' if depth != 1 else ''} of {entity.label}?"
        scope = f"the neighbourhood of {entity.label}"
        centre = entity.iri
    inferred = sum(x.inferred for x in graph.links)
    subtitle = (f"{scope}: {len(graph.kinds)} entities and {len(graph.links)} links, "
                f"{inferred} of them inferred or derived")
    positions = layout(sorted(graph.kinds), graph.links)
    page = Page("graph", title, subtitle, graph.kinds, graph.links, positions, focus=centre)
    return render(kb, page)


def _path_graph(kb: KnowledgeBase, paths: Sequence[tuple[str, Sequence[Step]]], anchors: Sequence[Entity],
                context: bool) -> tuple[Graph, list[dict[str, Any]]]:
    """Nodes and links for explanation paths: step links first, then what the anchor agents
    act through, then (when ``context``) every other link touching these nodes, to be dimmed.

    Returns the graph and one highlight group per path, with step numbers as edge labels.
    """
    whole = build_graph(kb)
    graph = Graph()
    index: dict[tuple[str, str, str], int] = {}
    groups = []
    for title, path in paths:
        group: dict[str, Any] = {"title": title, "nodes": set(), "edges": set(), "labels": {}}
        for number, step in enumerate(path, 1):
            source, target = _causal_ends(step)
            for entity in (step.subject, step.object):
                graph.kinds.setdefault(entity.iri, visual_kind(kb, entity) or "process")
            key = (source, step.predicate.iri, target)
            if key not in index:
                index[key] = len(graph.links)
                graph.links.append(Link(source, target, step.predicate.iri, step.sign, step.sentence,
                                        step.supports, step.counter, level=step.evidence_level,
                                        inferred=any(s.inherited_from for s in step.supports)
                                        and not any(not s.inherited_from for s in step.supports)))
            edge = index[key]
            group["nodes"].update((source, target))
            group["edges"].add(edge)
            group["labels"].setdefault(edge, str(number))
        groups.append(group)
    for entity in anchors:
        graph.kinds.setdefault(entity.iri, visual_kind(kb, entity) or "agent")
    core = set(graph.kinds)
    agents = {e.iri for e in anchors}
    for link in whole.links:
        if link.relation == CD38.induces and link.source in agents and link.target in core and link.key not in index:
            index[link.key] = len(graph.links)
            graph.links.append(link)
    if context:
        for link in whole.links:
            if link.relation == "tested" or link.key in index:
                continue
            if link.source in core or link.target in core:
                for iri in (link.source, link.target):
                    graph.kinds.setdefault(iri, whole.kinds[iri])
                graph.links.append(link)
    return graph, groups


def _acts_through(graph: Graph, agents: set[str], group: dict[str, Any]) -> None:
    """Add to a highlight group the links by which its agents act on its mechanisms."""
    for n, link in enumerate(graph.links):
        if link.relation == CD38.induces and link.source in agents and link.target in group["nodes"]:
            group["edges"].add(n)
            group["nodes"].add(link.source)


def _all_group(groups: list[dict[str, Any]], title: str, extra_nodes: Iterable[str]) -> dict[str, Any]:
    """One group holding every path, labelled with each edge's step numbers."""
    labels: dict[int, set[str]] = defaultdict(set)
    for g in groups:
        for edge, number in g["labels"].items():
            labels[edge].add(number)
    return {"title": title, "nodes": set().union(*(g["nodes"] for g in groups), extra_nodes),
            "edges": set().union(*(g["edges"] for g in groups)),
            "labels": {e: ", ".join(sorted(v, key=int)) for e, v in labels.items()}}


def _path_title(kb: KnowledgeBase, result: ExplainResult, path: Sequence[Step]) -> str:
    mechanism = next((s.mechanism for s in path if s.mechanism), "")
    via = f" ({kb.facts.label(mechanism)})" if mechanism else ""
    role = path[0].role if path else ""
    if role == "resistance":
        return f"how {result.resistance.label} impairs {result.antibody.label}{via}"
    partners = " + ".join(p.label for p in result.partners) or "the partner"
    return f"how {partners} acts{via}"


def _step_rows(kb: KnowledgeBase, path: Sequence[Step]) -> list[dict[str, Any]]:
    return [{"sentence": s.sentence, "level": s.evidence_level, "sign": s.sign, "weight": s.weight,
             "supports": [_support_json(kb, x) for x in s.supports],
             "counter": [_support_json(kb, x) for x in s.counter]} for s in path]


def _result_panel(kb: KnowledgeBase, result: ExplainResult, first_group: int) -> dict[str, Any]:
    paths = [{"group": first_group + n, "title": _path_title(kb, result, path), "steps": _step_rows(kb, path)}
             for n, path in enumerate(result.explanations)]
    breakdown = {k: v for k, v in result.score_breakdown.items() if not isinstance(v, dict | list)}
    return {
        "verdict": result.verdict.value, "outcome": result.outcome.value, "message": result.message,
        "score": result.score, "breakdown": breakdown, "mechanisms": result.mechanisms, "paths": paths,
        "extrapolated": result.extrapolated, "caveats": result.caveats,
        "combination": " + ".join(e.label for e in result.combination),
        "resistance": result.resistance.label, "antibody": result.antibody.label,
        "conflicts": [{"one": _support_json(kb, Support(c.finding)), "other": _support_json(kb, Support(c.other)),
                       "note": c.note} for c in result.conflicts],
    }


def explanation_html(kb: KnowledgeBase, result: ExplainResult) -> str:
    """Why a combination should (or should not) counter a resistance mechanism, drawn as paths.

    The paths are highlighted in reading order (step numbers on their edges) over the dimmed
    entities around them; the side panel gives the verdict, score and every step's sources.
    """
    combination = " + ".join(e.label for e in result.combination)
    paths = [(_path_title(kb, result, p), p) for p in result.explanations]
    anchors = [*result.combination, result.resistance]
    graph, groups = _path_graph(kb, paths, anchors, context=True)
    everything = _all_group(groups, "all paths", (e.iri for e in anchors))
    for group in (everything, *groups):
        _acts_through(graph, {result.antibody.iri}, group)
    mechanisms = {s.mechanism for path in result.explanations for s in path if s.mechanism}
    fixed = reading_order(result.explanations)
    if fixed and result.antibody.iri not in fixed:
        mechanism_places = [fixed[m] for m in mechanisms if m in fixed]
        right = max(x for x, _ in fixed.values())
        fixed[result.antibody.iri] = (right + 1.0, sum(y for _, y in mechanism_places) / max(len(mechanism_places), 1))
    positions = layout(sorted(graph.kinds), graph.links, fixed=fixed or None)
    title = f"Why might {combination} counter {result.resistance.label}?"
    subtitle = (f"verdict: {result.verdict.value} · score {result.score:.3f} · "
                f"{len(result.explanations)} path{'s' if len(result.explanations) != 1 else ''}")
    page = Page("explanation", title, subtitle, graph.kinds, graph.links, positions, [everything, *groups], 0,
                panel={"result": _result_panel(kb, result, 1)})
    return render(kb, page)


def hypotheses_html(kb: KnowledgeBase, resistance: Entity | str, hypotheses: Sequence[Hypothesis]) -> str:
    """Ranked partners (or antibody switches) against a resistance mechanism, with their paths.

    Each table row highlights that hypothesis's paths; the top-ranked one is shown first.
    """
    target = resistance if isinstance(resistance, Entity) else kb.entity(resistance, kind="resistance")
    paths: list[tuple[str, Sequence[Step]]] = []
    spans = []
    for h in hypotheses:
        start = len(paths)
        paths.extend((_path_title(kb, h.result, p), p) for p in h.result.explanations)
        spans.append((start, len(paths)))
    anchors = [target, *{e.iri: e for h in hypotheses for e in (h.antibody, h.partner)}.values()]
    graph, path_groups = _path_graph(kb, paths, anchors, context=False)
    groups = []
    rows = []
    for rank, (h, (start, end)) in enumerate(zip(hypotheses, spans, strict=True), 1):
        name = _hypothesis_name(h)
        group = _all_group(path_groups[start:end], f"#{rank} {name}", (target.iri, h.partner.iri, h.antibody.iri))
        _acts_through(graph, {h.partner.iri, h.antibody.iri}, group)
        groups.append(group)
        rows.append({"rank": rank, "group": rank - 1, "name": name, "kind": h.kind, "status": h.status,
                     "verdict": h.result.verdict.value, "score": h.score, "message": h.result.message,
                     "extrapolated": bool(h.result.extrapolated), "equivalents": [e.label for e in h.equivalents],
                     "paths": [{"title": t, "steps": _step_rows(kb, p)} for t, p in paths[start:end]]})
    fixed = reading_order([p for _, p in paths])
    positions = layout(sorted(graph.kinds), graph.links, fixed=fixed or None)
    title = f"Which partners or antibody switches could counter {target.label}?"
    subtitle = f"{len(rows)} ranked hypothes{'is' if len(rows) == 1 else 'es'}, best first; click a row to see its paths"
    page = Page("hypotheses", title, subtitle, graph.kinds, graph.links, positions, groups, 0 if groups else -1,
                panel={"rows": rows})
    return render(kb, page)


def _hypothesis_name(h: Hypothesis) -> str:
    if h.kind == "combination":
        return f"{h.antibody.label} + {h.partner.label}"
    return f"switch to {h.partner.label} (from {h.antibody.label})"


__all__ = ["graph_html", "explanation_html", "hypotheses_html", "write_html", "build_graph", "script_json"]
