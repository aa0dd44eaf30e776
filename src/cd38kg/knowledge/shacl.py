"""SHACL shapes checked in time linear in the data: every constraint compiled to one SPARQL query.

pyshacl visits the focus nodes one at a time in Python: at 100,000 user statements (672,000
triples) it took 338 s and 2.45 GiB for ``ontology/shapes.ttl``. Compiled, each constraint of
a shape is one set-at-a-time query over all its focus nodes, which Oxigraph answers in under
half a second. The compiler knows the SHACL features ``shapes.ttl`` uses (class and SPARQL
targets, predicate paths, ``sh:minCount``, ``sh:maxCount``, ``sh:nodeKind``, ``sh:class``,
``sh:in``, and ``sh:or`` on node shapes) and refuses anything else with
:class:`UnsupportedShape`, because a rule silently skipped would look like a rule that holds.
pyshacl stays the reference: ``tests/test_validate_shapes.py`` holds both to the same results.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyoxigraph as ox

from ..errors import Cd38kgError
from ..vocab import OWL, RDF, RDFS, SH, SHAPES
from .names import curie

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

Term = ox.NamedNode | ox.BlankNode | ox.Literal

#: Predicates of a shape that do not constrain anything (or whose values the compiler reads itself).
_DESCRIPTIVE = {SH.message, SH.name, SH.description, SH.order, SH.group, SH.path, SH.targetClass, SH.target,
                SH.property}
_UNSUPPORTED_TARGETS = (SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
#: sh:nodeKind value -> the SPARQL condition a value node must meet.
_NODE_KINDS = {
    SH.IRI: "isIRI(?value)",
    SH.Literal: "isLiteral(?value)",
    SH.BlankNode: "isBlank(?value)",
    SH.BlankNodeOrIRI: "(isBlank(?value) || isIRI(?value))",
    SH.BlankNodeOrLiteral: "(isBlank(?value) || isLiteral(?value))",
    SH.IRIOrLiteral: "(isIRI(?value) || isLiteral(?value))",
}


class UnsupportedShape(Cd38kgError):
    """The shapes use a SHACL feature the compiler does not evaluate."""

    def __init__(self, shape: str, feature: str) -> None:
        super().__init__(f"SHACL shape {shape}: {feature} is not supported by cd38kg's shape checker "
                         "(cd38kg.knowledge.shacl); add it there before using it in the shapes")


@dataclass(frozen=True)
class Violation:
    """One focus node that does not meet one constraint, as pyshacl would report it."""

    focus: Term
    shape: Term
    component: str  # the sh:...ConstraintComponent IRI
    path: str | None  # the property shape's predicate; None for a node shape
    value: Term | None  # the offending value node; None for a count
    message: str


@dataclass(frozen=True)
class Check:
    """One constraint of one shape: a SELECT of the focus nodes (``?this``) that violate it."""

    shape: Term
    component: str
    path: str | None
    message: str
    query: str
    per_value: bool  # whether the query also selects the offending ``?value``


@dataclass(frozen=True)
class Shape:
    """A shape with targets: how to select its focus nodes (into ``focus_graph``), and its constraints."""

    node: Term
    targets: tuple[tuple[str, str], ...]
    checks: tuple[Check, ...]
    focus_graph: str


def compile_shapes(path: Path) -> list[Shape]:
    """Every shape of the Turtle file ``path`` that has targets, compiled; raises :class:`UnsupportedShape`."""
    graph = _ShapesGraph(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
    for node in graph.subjects(RDF.type, SH.NodeShape) | graph.subjects(RDF.type, SH.PropertyShape):
        if {OWL.Class, RDFS.Class} & {str(t.value) for t in graph.objects(node, RDF.type)}:
            raise UnsupportedShape(graph.name(node), "an implicit class target (a shape that is also a class)")
    targeted = set().union(*(graph.subjects(p) for p in (SH.targetClass, SH.target, *_UNSUPPORTED_TARGETS)))
    shapes = []
    for number, node in enumerate(sorted(targeted, key=str)):
        focus = SHAPES.term(f"focus-{number}")
        shapes.append(Shape(node, _targets(graph, node), _checks(graph, node, focus), focus))
    return shapes


def violations(shapes: Sequence[Shape], store: ox.Store, graph: str) -> list[Violation]:
    """Every violation of ``shapes`` by the triples in the graph named ``graph`` of ``store``.

    A shape's focus nodes are written to a graph of their own in ``store`` (the queries join
    with it) while its constraints run, and removed afterwards.
    """
    data = ox.NamedNode(graph)
    found: dict[Violation, None] = {}
    for shape in shapes:
        focus = f"<{shape.focus_graph}>"
        for prologue, pattern in shape.targets:  # in Oxigraph, without a round trip through Python
            store.update(f"{prologue}INSERT {{ GRAPH {focus} {{ {focus} <{SH.focusNode}> ?this }} }} "
                         f"USING {data} WHERE {{ {pattern} }}")
        try:
            for check in shape.checks:
                found.update(dict.fromkeys(Violation(row["this"], check.shape, check.component, check.path,
                                                     row["value"] if check.per_value else None, check.message)
                                           for row in store.query(check.query, default_graph=data)))
        finally:
            store.remove_graph(ox.NamedNode(shape.focus_graph))
    return list(found)


def _targets(graph: _ShapesGraph, shape: Term) -> tuple[tuple[str, str], ...]:
    """The focus nodes of ``shape``: (PREFIX lines, a pattern binding ``?this``) for each target."""
    for predicate in _UNSUPPORTED_TARGETS:
        if graph.objects(shape, predicate):
            raise UnsupportedShape(graph.name(shape), curie(predicate))
    targets = [("", f"?this <{RDF.type}>/<{RDFS.subClassOf}>* {cls}") for cls in graph.objects(shape, SH.targetClass)]
    for target in graph.objects(shape, SH.target):
        kinds = {str(t.value) for t in graph.objects(target, RDF.type)}
        extra = set(graph.predicates(target)) - {RDF.type, SH.select, SH.prefixes}
        select = graph.objects(target, SH.select)
        if kinds != {SH.SPARQLTarget} or extra or len(select) != 1:
            raise UnsupportedShape(graph.name(shape), "a sh:target other than a sh:SPARQLTarget with one sh:select")
        targets.append((_prefixes(graph, target), f"{{ {select[0].value} }}"))
    return tuple(targets)


def _prefixes(graph: _ShapesGraph, node: Term) -> str:
    """The PREFIX lines for ``node``'s ``sh:prefixes`` (their ``sh:declare`` entries)."""
    lines = []
    for holder in graph.objects(node, SH.prefixes):
        for declaration in graph.objects(holder, SH.declare):
            prefix, namespace = graph.objects(declaration, SH.prefix), graph.objects(declaration, SH.namespace)
            lines.append(f"PREFIX {prefix[0].value}: <{namespace[0].value}>\n")
    return "".join(sorted(lines))


def _checks(graph: _ShapesGraph, shape: Term, focus: str) -> tuple[Check, ...]:
    """The constraints of ``shape`` (and of its property shapes) over the focus nodes in graph ``focus``."""
    name = graph.name(shape)
    paths = graph.objects(shape, SH.path)
    if len(paths) > 1 or (paths and not isinstance(paths[0], ox.NamedNode)):
        raise UnsupportedShape(name, "a sh:path other than one predicate IRI")
    path = paths[0].value if paths else None
    messages = graph.objects(shape, SH.message)
    message = messages[0].value if messages else None
    this = f"GRAPH <{focus}> {{ <{focus}> <{SH.focusNode}> ?this }}"
    value = f"?this <{path}> ?value ." if path else "BIND (?this AS ?value)"

    def check(component: str, parameter: str, query: str, per_value: bool = True) -> Check:
        default = f"does not satisfy {parameter}" + (f" on {curie(path)}" if path else "")
        return Check(shape, SH.term(component), path, message or default, query, per_value)

    def values_where(condition: str) -> str:
        return f"SELECT ?this ?value WHERE {{ {this} {value} FILTER ({condition}) }}"

    checks: list[Check] = []
    for predicate in sorted(set(graph.predicates(shape))):
        if not predicate.startswith(SH) or predicate in _DESCRIPTIVE:
            continue
        local = predicate[len(SH):]
        for parameter in graph.objects(shape, predicate):
            shown = f"sh:{local} {curie(parameter.value) if isinstance(parameter, ox.NamedNode) else parameter}"
            if predicate in (SH.minCount, SH.maxCount) and path:
                count = int(parameter.value)
                if predicate == SH.minCount and count == 1:  # the usual case, twice as fast as counting
                    query = f"SELECT ?this WHERE {{ {this} FILTER NOT EXISTS {{ {value} }} }}"
                elif predicate == SH.minCount:
                    query = (f"SELECT ?this WHERE {{ {this} OPTIONAL {{ {value} }} }} "
                             f"GROUP BY ?this HAVING (COUNT(DISTINCT ?value) < {count})")
                else:
                    query = f"SELECT ?this WHERE {{ {this} {value} }} GROUP BY ?this HAVING (COUNT(DISTINCT ?value) > {count})"
                checks.append(check(f"{local[0].upper()}{local[1:]}ConstraintComponent", shown, query, per_value=False))
            elif predicate == SH.nodeKind and parameter.value in _NODE_KINDS:
                checks.append(check("NodeKindConstraintComponent", shown, values_where(f"!{_NODE_KINDS[parameter.value]}")))
            elif predicate == SH.term("class"):
                query = (f"SELECT ?this ?value WHERE {{ {this} {value} "
                         f"FILTER NOT EXISTS {{ ?value <{RDF.type}>/<{RDFS.subClassOf}>* {parameter} }} }}")
                checks.append(check("ClassConstraintComponent", shown, query))
            elif predicate == SH.term("in"):
                allowed = " || ".join(f"sameTerm(?value, {item})" for item in graph.items(parameter)) or "false"
                checks.append(check("InConstraintComponent", "sh:in", values_where(f"!({allowed})")))
            elif predicate == SH.term("or") and not path:
                members = [_checks(graph, member, focus) for member in graph.items(parameter)]
                if all(members):  # a member without constraints holds for every node, and so does the sh:or
                    violating = "".join("{ SELECT DISTINCT ?this WHERE { "
                                        + " UNION ".join(f"{{ {c.query} }}" for c in member) + " } } "
                                        for member in members)  # those violating every member: a join
                    query = f"SELECT ?this ?value WHERE {{ {this} {violating} BIND (?this AS ?value) }}"
                    checks.append(check("OrConstraintComponent", "sh:or", query))
            else:
                raise UnsupportedShape(name, shown + (" on a property shape" if path else ""))
    for prop in graph.objects(shape, SH.property):
        if path or not graph.objects(prop, SH.path):
            raise UnsupportedShape(name, "a sh:property without a sh:path, or on a property shape")
        checks += _checks(graph, prop, focus)
    return tuple(checks)


class _ShapesGraph:
    """The shapes file as subject -> predicate -> objects (small: read once per validation)."""

    def __init__(self, triples: Iterable[ox.Triple]) -> None:
        self._edges: dict[Term, dict[str, list[Term]]] = defaultdict(lambda: defaultdict(list))
        for triple in triples:
            self._edges[triple.subject][triple.predicate.value].append(triple.object)

    def objects(self, node: Term, predicate: str) -> list[Term]:
        return self._edges[node].get(predicate, []) if node in self._edges else []

    def predicates(self, node: Term) -> list[str]:
        return list(self._edges[node]) if node in self._edges else []

    def subjects(self, predicate: str, value: str | None = None) -> set[Term]:
        return {s for s, edges in self._edges.items()
                if predicate in edges and (value is None or any(o.value == value for o in edges[predicate]))}

    def items(self, head: Term) -> list[Term]:
        """The members of the RDF list starting at ``head``."""
        items = []
        while head.value != RDF.nil:
            items += self.objects(head, RDF.first)
            rest = self.objects(head, RDF.rest)
            if len(rest) != 1:
                raise UnsupportedShape(str(head), "a malformed RDF list")
            head = rest[0]
        return items

    def name(self, shape: Term) -> str:
        """A shape's CURIE, or for a blank node the property shape's path or its message."""
        if isinstance(shape, ox.NamedNode):
            return curie(shape.value)
        described = self.objects(shape, SH.path) or self.objects(shape, SH.message)
        return f"[{curie(described[0].value)}]" if described else "a blank-node shape"
