"""Class knowledge for members, in time linear in the statements: what HermiT's individual
reasoning added, without a tableau over every individual.

HermiT stays in charge of the classes (:mod:`cd38kg.knowledge.reasoning` classifies the TBox and
proves it consistent); this module takes that classification and the individuals' own
statements and derives, per individual, what the reasoner derives for the fragment of OWL
the ontology uses:

* types from ``rdf:type``, from the domain and range of every property an individual is
  used with (sub-properties and inverses included), from the classified hierarchy, and
  from definitions (``C ≡ A ⊓ … ⊓ ∃p.{o}``: an anti-CD38 antibody is a monoclonal
  antibody that targets CD38);
* property values from ``hasValue`` restrictions on any class of the individual (a fact
  stated on ``cd38:IMiD`` holds for every IMiD), with inverse and symmetric readings.

The output is exactly what ``run_hermit`` keeps of HermiT's answer (the compliance test,
``tests/test_reasoning.py``, proves it): an individual's *direct* types and the *direct*
instances of each property (a pair also held by a strict sub-property is left to it), minus
what the input already states, in either direction for inverse or symmetric properties
(owlready2's rule). It also reports the clashes that make the individuals inconsistent
(disjoint classes, irreflexive and asymmetric properties, members of unsatisfiable classes,
two values of a functional property that cannot be the same individual), so ``validate``
needs no tableau over the data. Anything outside this fragment is listed by
:func:`unsupported` so the caller can hand the input to HermiT instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..vocab import OWL, RDF, RDFS

#: A property read forwards (False) or as its inverse (True).
Role = tuple[str, bool]
Triple = tuple[str, str, str]

#: OWL vocabulary the materialiser does not implement; its presence sends the input to HermiT.
UNSUPPORTED_PREDICATES = tuple(OWL + name for name in (
    "someValuesFrom", "allValuesFrom", "unionOf", "complementOf", "oneOf", "cardinality", "minCardinality",
    "maxCardinality", "qualifiedCardinality", "minQualifiedCardinality", "maxQualifiedCardinality", "hasSelf",
    "propertyChainAxiom", "hasKey", "sameAs", "differentFrom", "distinctMembers", "sourceIndividual",
    "propertyDisjointWith", "onProperties", "datatypeComplementOf", "withRestrictions"))
UNSUPPORTED_TYPES = tuple(OWL + name for name in (
    "TransitiveProperty", "ReflexiveProperty", "InverseFunctionalProperty", "NegativePropertyAssertion",
    "AllDifferent", "AllDisjointProperties"))
_BUILTIN = (str(RDF), str(RDFS), str(OWL), "http://www.w3.org/2001/XMLSchema#")


@dataclass(frozen=True)
class Definition:
    """``defined ≡ named₁ ⊓ … ⊓ ∃role.{value} ⊓ …``: an individual with every part is a member."""

    defined: str
    named: frozenset[str]
    values: frozenset[tuple[Role, str]]


@dataclass
class Schema:
    """The TBox as the materialiser reads it: HermiT's classification plus the axioms it applies."""

    supers: dict[str, frozenset[str]]
    values: dict[str, frozenset[tuple[Role, str]]]
    definitions: tuple[Definition, ...]
    role_supers: dict[Role, frozenset[Role]]
    domains: dict[str, frozenset[str]]
    ranges: dict[str, frozenset[str]]
    owlready_inverse: dict[str, str]
    disjoint: frozenset[frozenset[str]]
    irreflexive: frozenset[str]
    asymmetric: frozenset[str]
    functional: frozenset[str]
    unsatisfiable: frozenset[str]
    strict_subroles: dict[str, frozenset[Role]] = field(default_factory=dict)

    @property
    def properties(self) -> frozenset[str]:
        return frozenset(p for p, _ in self.role_supers)

    def ancestors(self, cls: str) -> frozenset[str]:
        """``cls`` and its named superclasses (an undeclared class has only itself)."""
        return self.supers.get(cls) or frozenset((cls,))


@dataclass(frozen=True)
class Clash:
    """Why some individuals cannot exist as stated: ``kind`` names the rule, ``terms`` the parties."""

    kind: str  # "disjoint", "irreflexive", "asymmetric", "unsatisfiable" or "functional"
    individual: str
    terms: tuple[str, ...]


@dataclass
class Materialised:
    """The derived triples (what HermiT would add) and the entailed types, for checks."""

    inferred: list[Triple]
    types: dict[str, set[str]]
    clashes: list[Clash]


def read_schema(tbox: Iterable[Triple], lists: dict[str, list[str]], classification: Iterable[Triple]) -> Schema:
    """Build the schema from TBox triples (blank nodes as ``_:`` strings), their RDF lists, and
    HermiT's classification (named ``rdfs:subClassOf`` / ``owl:equivalentClass`` edges)."""
    by_subject: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for s, p, o in tbox:
        by_subject[s][p].append(o)

    parents: dict[str, set[str]] = defaultdict(set)
    unsatisfiable: set[str] = set()
    for s, p, o in classification:
        if o == OWL.Nothing:
            unsatisfiable.add(s)
        elif p == RDFS.subClassOf:
            parents[s].add(o)
        elif p == OWL.equivalentClass:
            parents[s].add(o)
            parents[o].add(s)
    classes = set(parents) | {c for ups in parents.values() for c in ups}
    classes |= {s for s, props in by_subject.items() if OWL.Class in props.get(RDF.type, ()) and not _blank(s)}
    supers = {c: frozenset(reachable(c, parents) - {OWL.Thing}) for c in classes if c != OWL.Thing}

    def role_of(node: str) -> Role | None:
        if not _blank(node):
            return (node, False)
        inverse = by_subject[node].get(OWL.inverseOf, [])
        return (inverse[0], True) if len(inverse) == 1 and not _blank(inverse[0]) else None

    def value_part(node: str) -> tuple[Role, str] | None:
        props = by_subject.get(node, {})
        on, value = props.get(OWL.onProperty, []), props.get(OWL.hasValue, [])
        role = role_of(on[0]) if len(on) == 1 else None
        return (role, value[0]) if role and len(value) == 1 and not _blank(value[0]) else None

    values: dict[str, set[tuple[Role, str]]] = defaultdict(set)
    definitions: list[Definition] = []
    for cls, props in by_subject.items():
        if _blank(cls):
            continue
        for sup in props.get(RDFS.subClassOf, []):
            if _blank(sup) and (part := value_part(sup)):
                values[cls].add(part)
        for equivalent in props.get(OWL.equivalentClass, []):
            if not _blank(equivalent):
                continue
            members = lists.get(by_subject[equivalent].get(OWL.intersectionOf, [""])[0])
            parts = members if members is not None else [equivalent]
            named = frozenset(p for p in parts if not _blank(p))
            restricted = [value_part(p) for p in parts if _blank(p)]
            if None in restricted:
                continue  # not this fragment: unsupported() reports it
            found = frozenset(r for r in restricted if r)
            values[cls] |= found
            definitions.append(Definition(cls, named, found))

    role_edges: dict[Role, set[Role]] = defaultdict(set)
    properties = {s for s, props in by_subject.items()
                  if OWL.ObjectProperty in props.get(RDF.type, ()) and not _blank(s)}
    owlready_inverse: dict[str, str] = {}
    for p in properties:
        props = by_subject[p]
        for q in props.get(RDFS.subPropertyOf, []):
            if not _blank(q):
                role_edges[(p, False)].add((q, False))
                role_edges[(p, True)].add((q, True))
        for q in props.get(OWL.inverseOf, []):
            if not _blank(q):
                for a, b in (((p, False), (q, True)), ((p, True), (q, False))):
                    role_edges[a].add(b)
                    role_edges[b].add(a)
                owlready_inverse.setdefault(p, q)
                owlready_inverse.setdefault(q, p)
        for q in props.get(OWL.equivalentProperty, []):
            if not _blank(q):
                for inverted in (False, True):
                    role_edges[(p, inverted)].add((q, inverted))
                    role_edges[(q, inverted)].add((p, inverted))
        if OWL.SymmetricProperty in props.get(RDF.type, ()):
            role_edges[(p, False)].add((p, True))
            role_edges[(p, True)].add((p, False))
            owlready_inverse[p] = p
    roles = {(p, inverted) for p in properties for inverted in (False, True)}
    role_supers = {role: frozenset(reachable(role, role_edges)) for role in roles}
    strict: dict[str, set[Role]] = defaultdict(set)
    for role, ups in role_supers.items():
        for up in ups:
            if not up[1] and role not in role_supers.get(up, frozenset()):
                strict[up[0]].add(role)

    def named_objects(p: str, axiom: str) -> frozenset[str]:
        return frozenset(o for o in by_subject[p].get(axiom, []) if not _blank(o))

    disjoint: set[frozenset[str]] = set()
    for s, props in by_subject.items():
        for members_node in props.get(OWL.members, []) if OWL.AllDisjointClasses in props.get(RDF.type, ()) else []:
            disjoint |= _pairs(lists.get(members_node, []))
        for members_node in props.get(OWL.disjointUnionOf, []):
            disjoint |= _pairs(lists.get(members_node, []))
        for other in props.get(OWL.disjointWith, []):
            disjoint |= _pairs([s, other])

    def typed(kind: str) -> frozenset[str]:
        return frozenset(p for p in properties if kind in by_subject[p].get(RDF.type, ()))

    return Schema(
        supers=supers, values={c: frozenset(v) for c, v in values.items()}, definitions=tuple(definitions),
        role_supers=role_supers, domains={p: named_objects(p, RDFS.domain) for p in properties},
        ranges={p: named_objects(p, RDFS.range) for p in properties}, owlready_inverse=owlready_inverse,
        disjoint=frozenset(disjoint), irreflexive=typed(OWL.IrreflexiveProperty),
        asymmetric=typed(OWL.AsymmetricProperty), functional=typed(OWL.FunctionalProperty),
        unsatisfiable=frozenset(unsatisfiable), strict_subroles={p: frozenset(r) for p, r in strict.items()})


def unsupported(triples: Iterable[Triple]) -> list[str]:
    """The OWL constructs in ``triples`` the materialiser does not implement (empty: it is exact)."""
    found = set()
    for _, p, o in triples:
        if p in UNSUPPORTED_PREDICATES:
            found.add(p)
        elif p == RDF.type and o in UNSUPPORTED_TYPES:
            found.add(o)
    return sorted(found)


def materialise(schema: Schema, types: Iterable[tuple[str, str]], edges: Iterable[Triple]) -> Materialised:
    """Derive types and property values for every individual, in time linear in the statements.

    ``types`` are the asserted ``(individual, class)`` pairs and ``edges`` the asserted
    object-property triples between named individuals (the class-level facts are in the
    schema's ``values``). Each individual is revisited only when it gains a type or an
    entailed property value, and each type or value is gained once.
    """
    asserted_types: dict[str, set[str]] = defaultdict(set)
    entailed: dict[str, set[str]] = defaultdict(set)
    out_values: dict[str, set[tuple[str, str]]] = defaultdict(set)  # entailed p(x, y), p named, as x: {(p, y)}
    asserted_edges: set[Triple] = set()
    todo: set[str] = set()  # individuals whose definitions need checking again (each once, however often it changed)
    definitions_on: dict[str, list[Definition]] = defaultdict(list)  # by a named part; [] when none
    for definition in schema.definitions:
        for part in definition.named or {""}:
            definitions_on[part].append(definition)

    def add_type(x: str, cls: str) -> None:
        if cls in entailed[x] or cls == OWL.Thing:
            return
        for up in schema.ancestors(cls):
            if up in entailed[x]:
                continue
            entailed[x].add(up)
            for role, value in schema.values.get(up, ()):
                add_edge(x, role, value)
        todo.add(x)

    def add_edge(x: str, role: Role, y: str) -> None:
        for prop, inverted in schema.role_supers.get(role, (role,)):
            a, b = (y, x) if inverted else (x, y)
            if (prop, b) in out_values[a]:
                continue
            out_values[a].add((prop, b))
            todo.update((a, b))
            for cls in schema.domains.get(prop, ()):
                add_type(a, cls)
            for cls in schema.ranges.get(prop, ()):
                add_type(b, cls)

    for x, cls in types:
        asserted_types[x].add(cls)
        add_type(x, cls)
    for s, p, o in edges:
        asserted_edges.add((s, p, o))
        add_edge(s, (p, False), o)
    while todo:
        x = todo.pop()
        candidates = {d for cls in entailed.get(x, ()) for d in definitions_on.get(cls, ())}
        for definition in candidates.union(definitions_on.get("", ())):
            if definition.defined not in entailed[x] and definition.named <= entailed[x] and all(
                    _holds(out_values, x, role, value) for role, value in definition.values):
                add_type(x, definition.defined)

    inferred: list[Triple] = []
    for x, classes in entailed.items():
        for cls in classes:
            if cls not in asserted_types[x] and _direct(schema, cls, classes):
                inferred.append((x, RDF.type, cls))
    for x, pairs in out_values.items():
        for prop, y in pairs:
            inverse = schema.owlready_inverse.get(prop)
            if (x, prop, y) in asserted_edges or (inverse and (y, inverse, x) in asserted_edges):
                continue
            if not any(_holds(out_values, x, sub, y) for sub in schema.strict_subroles.get(prop, ())):
                inferred.append((x, prop, y))
    return Materialised(sorted(inferred), dict(entailed), _clashes(schema, entailed, out_values))


def _holds(out_values: dict[str, set[tuple[str, str]]], x: str, role: Role, y: str) -> bool:
    prop, inverted = role
    return (prop, x) in out_values.get(y, ()) if inverted else (prop, y) in out_values.get(x, ())


def _direct(schema: Schema, cls: str, classes: set[str]) -> bool:
    """No other class of the individual is strictly below ``cls``."""
    below = (other for other in classes if other != cls and cls in schema.ancestors(other))
    return all(other in schema.ancestors(cls) for other in below)


def _clashes(schema: Schema, entailed: dict[str, set[str]],
             out_values: dict[str, set[tuple[str, str]]]) -> list[Clash]:
    found: list[Clash] = []
    by_class: dict[str, set[frozenset[str]]] = defaultdict(set)
    for pair in schema.disjoint:
        for cls in pair:
            by_class[cls].add(pair)

    def disjoint_in(classes: set[str]) -> tuple[str, ...] | None:
        for cls in sorted(classes):
            for pair in by_class.get(cls, ()):
                if pair <= classes:
                    return tuple(sorted(pair))
        return None

    for x in sorted(entailed):
        classes = entailed[x]
        if pair := disjoint_in(classes):
            found.append(Clash("disjoint", x, pair))
        for cls in sorted(classes & schema.unsatisfiable):
            found.append(Clash("unsatisfiable", x, (cls,)))
    for x in sorted(out_values):
        pairs = out_values[x]
        for prop, y in sorted(pairs):
            if y == x and prop in schema.irreflexive:
                found.append(Clash("irreflexive", x, (prop,)))
            elif prop in schema.asymmetric and (prop, x) in out_values.get(y, ()):
                found.append(Clash("asymmetric", x, (prop, y)))
        for prop in sorted(schema.functional):
            targets = sorted(y for p, y in pairs if p == prop)
            if len(targets) > 1 and (pair := disjoint_in(set().union(*(entailed.get(y, set()) for y in targets)))):
                found.append(Clash("functional", x, (prop, *pair)))
    return found


def reachable(start: object, edges: dict) -> set:
    """Everything reachable from ``start`` along ``edges`` (start included): a transitive closure."""
    seen, stack = {start}, [start]
    while stack:
        for nxt in edges.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _pairs(items: list[str]) -> set[frozenset[str]]:
    named = [i for i in items if not _blank(i)]
    return {frozenset((a, b)) for i, a in enumerate(named) for b in named[i + 1:] if a != b}


def _blank(node: str) -> bool:
    return node.startswith("_:")


def is_class_iri(iri: str) -> bool:
    """Whether an ``rdf:type`` object can be a class of individuals (not an RDF/OWL built-in)."""
    return not iri.startswith(_BUILTIN)
