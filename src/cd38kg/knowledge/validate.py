"""Checking the knowledge base and user files before anyone reasons with them (``cd38kg validate``).

Curation mistakes are otherwise silent: a finding without its source still loads, a typo in
an id quietly creates a node nobody defined, and an individual put into two disjoint
classes makes the reasoner reject the whole ontology without saying which statement is
wrong. :func:`validate` runs every check and returns all problems, each naming the entity
and the file and line where it is written:

* SHACL shapes (``ontology/shapes.ttl``, compiled to SPARQL by :mod:`cd38kg.knowledge.shacl`):
  provenance on findings, trials, arms and literature claims, a label on every entity, no
  dangling ``kb:``/``user:`` references;
* a disjointness scan that explains an inconsistency as "kb:x is both A and B";
* the consistency verdict without a tableau over the data: HermiT proves the classes consistent
  and classifies them (cached by their fingerprint), :mod:`cd38kg.knowledge.materialise` finds clashes
  among the individuals in linear time, and HermiT confirms a clash on the statements of the
  clashing individuals alone (:func:`cd38kg.knowledge.reasoning.infer`, :func:`cd38kg.knowledge.reasoning.module`).
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations_with_replacement
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputFileError
from ..progress import step
from ..resources import claims_file, ontology_files, shapes_file
from ..vocab import ASSERTED_GRAPH, CD38, CURATED_GRAPH, KB, OWL, RDF, RDFS, SHAPES, SKOS, USER
from .facts import select_facts
from .materialise import reachable
from .names import curie, normalize

if TYPE_CHECKING:
    import pyoxigraph
    from rdflib import Graph
    from rdflib.term import Node

    from .materialise import Clash

_PREFIX_DECL = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.IGNORECASE | re.MULTILINE)
_TSV_FINDING = re.compile(re.escape(USER) + r"finding-([0-9a-f]{8})-(\d+)")


@dataclass(frozen=True)
class Problem:
    """One problem: what is wrong, with which entity (a CURIE), and where it is written."""

    message: str
    entity: str | None = None
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        """``file:line: message`` (or less, when the place is not known)."""
        if self.file:
            return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"
        return self.message

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "entity": self.entity, "file": self.file, "line": self.line}


@dataclass
class ValidationReport:
    """Everything :func:`validate` found, and how much it checked."""

    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    triples: int = 0
    findings: int = 0
    entities: int = 0
    inferred: int = 0
    consistent: bool | None = None  # HermiT's verdict; None when the input could not be read

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def summary(self) -> str:
        """One line: what was checked and the verdict."""
        if self.consistent is None and not self.triples:
            return f"{len(self.problems)} problem(s); nothing else was checked because an input could not be read"
        checked = (f"{self.triples} triples, {self.findings} findings and {self.entities} entities "
                   f"in {len(self.files)} files")
        verdict = f"consistent (HermiT, {self.inferred} inferred triples)" if self.consistent else "inconsistent (HermiT)"
        if self.ok:
            return f"OK: {checked} checked; {verdict}"
        return f"{len(self.problems)} problem(s) in {checked}; {verdict}"

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "consistent": self.consistent, "triples": self.triples, "findings": self.findings,
                "entities": self.entities, "inferred": self.inferred, "files": self.files,
                "problems": [p.to_json() for p in self.problems], "summary": self.summary()}


def validate(extras: Sequence[Path | str] = ()) -> ValidationReport:
    """Check the bundled knowledge base plus ``extras`` (Turtle or TSV) and report every problem.

    A file that cannot be read or parsed stops the check at that file (reported with its
    line); otherwise the shapes, the disjointness scan and the consistency check all run, so
    one report lists everything. Raises :class:`cd38kg.errors.ReasonerUnavailable` when Java cannot
    run HermiT: that is the machine's problem, not the input's.
    """
    from rdflib import URIRef

    from .reasoning import InconsistentOntology

    paths = [Path(p) for p in extras]
    report = ValidationReport()
    try:
        inputs = _read_inputs(paths)
    except InputFileError as err:
        report.problems.append(Problem(err.reason, file=err.path, line=err.line))
        return report
    files = [path for path, _ in inputs.sources]
    search = [*paths, *(p for p in files if p not in paths)]  # user files first: errors are likelier there
    report.files = [str(p) for p in files]
    report.entities = len(select_facts(inputs.data).entities)  # counted as `info` counts them: claims apart
    clashes: list[Clash] = []
    inconsistent: InconsistentOntology | None = None
    try:
        report.inferred, clashes = _reason(inputs.data, paths)
    except InconsistentOntology as err:
        inconsistent = err
    report.consistent = inconsistent is None and not clashes
    inputs.add_claims()
    report.triples = len(inputs.store)  # the union is the one graph in it
    report.findings = len(set(inputs.data.subjects(URIRef(RDF.type), URIRef(CD38.Finding))))

    report.problems += check_shapes(inputs.data, inputs.sources, search)
    explained = check_disjointness(inputs.data, inputs.sources, search)
    report.problems += explained
    if inconsistent is not None and not explained:
        report.problems.append(Problem(f"{inconsistent} (no pair of disjoint classes explains it; look for a "
                                       "functional, irreflexive or asymmetric property used against its rules)"))
    if clashes and not explained:
        report.problems += [_clash_problem(clash, inputs.data, search) for clash in clashes]
    return report


def _reason(knowledge: Graph, paths: list[Path]) -> tuple[int, list[Clash]]:
    """The inferences and the clashes among the individuals, without a tableau over them: HermiT
    checks and classifies the classes (cached), the materialiser the individuals; a clash it
    finds is confirmed by HermiT on the clashing individuals' statements alone."""
    import pyoxigraph
    from rdflib import URIRef

    from ..store.base import dataset_over
    from .loader import project_findings
    from .reasoning import infer, module, run_hermit

    store, name = pyoxigraph.Store(), pyoxigraph.NamedNode(ASSERTED_GRAPH)  # the loader's layers, apart
    store.bulk_extend(pyoxigraph.Quad(s, p, o, name)
                      for s, p, o in project_findings(knowledge, pyoxigraph.NamedNode, pyoxigraph.BlankNode))
    asserted = dataset_over(store).graph(URIRef(ASSERTED_GRAPH))
    what = "the knowledge base" + "".join(f" + {p.name}" for p in paths)
    result = infer(knowledge, asserted, what, strict=False)
    if result.clashes:
        with step(f"Confirming with HermiT on the {len(result.clashes)} clashing individual(s)"):
            run_hermit(module(knowledge, asserted, {c.individual for c in result.clashes}))
    return len(result.inferred), result.clashes


def _clash_problem(clash: Clash, data: Graph, files: Sequence[Path]) -> Problem:
    """A clash HermiT did not confirm on its module (it needs more of the data): still a problem."""
    from .reasoning import describe

    name = curie(clash.individual)
    return _problem(f"the ontology is inconsistent: {describe(clash)}", name, _uri(clash.individual), data, files)


# -- reading -----------------------------------------------------------------------------------


@dataclass
class _Inputs:
    """Every input file's triples in a named graph of its own (``sources``, to trace a problem
    to the file that states it), and their union in one graph of another store (``data``).

    Until :meth:`add_claims`, ``data`` is the knowledge the loader reads (claims apart); the
    union is built by Oxigraph itself, never triple by triple through rdflib. It is the graph the
    loader calls curated, so the reasoner's functions read it as they read the loader's.
    """

    files: pyoxigraph.Store
    store: pyoxigraph.Store
    sources: list[tuple[Path, Graph]]
    data: Graph

    def add(self, path: Path) -> None:
        """Copy the triples of ``path`` (already in its own graph) into ``data``."""
        import pyoxigraph

        triples = self.files.dump(format=pyoxigraph.RdfFormat.N_TRIPLES, from_graph=pyoxigraph.NamedNode(_graph(path)))
        self.store.bulk_load(triples, pyoxigraph.RdfFormat.N_TRIPLES, to_graph=pyoxigraph.NamedNode(CURATED_GRAPH))

    def add_claims(self) -> None:
        """Add the literature claims to ``data``: the shapes and the disjointness scan check them too."""
        self.add(claims_file())


def _read_inputs(extras: list[Path]) -> _Inputs:
    """Every input file: bundled Turtle, user files, then claims (kept out of ``data`` for now).

    Mirrors the loader (a TSV file's names resolve against everything read before it) but
    keeps each file's triples apart, so a problem can be traced to the file that states it.
    Refuses RDF/XML and JSON-LD (see :func:`cd38kg.store.rdf_format`) and fetches nothing.
    """
    import pyoxigraph
    from rdflib import URIRef

    from ..store.base import add_triples, dataset_over
    from ..store.files import load_into
    from .extend import read_tsv_extension
    from .names import NameIndex

    files, store = pyoxigraph.Store(), pyoxigraph.Store()
    inputs = _Inputs(files, store, [], dataset_over(store).graph(URIRef(CURATED_GRAPH)))
    by_file = dataset_over(files)
    for path in [*ontology_files(), *extras, claims_file()]:
        if path.suffix.lower() == ".tsv":
            facts = select_facts(inputs.data)
            extension = read_tsv_extension(path, NameIndex(facts.entities.values()), facts.relations, facts.classes)
            add_triples(files, extension.triples, _graph(path))
        else:
            load_into(files, path, _graph(path))
        inputs.sources.append((path, by_file.graph(URIRef(_graph(path)))))
        if path != claims_file():
            inputs.add(path)
    return inputs


def _graph(path: Path) -> str:
    """The name of the graph holding the triples of the file ``path``."""
    return path.resolve().as_uri()


# -- SHACL -------------------------------------------------------------------------------------


def check_shapes(data: Graph, sources: Sequence[tuple[Path, Graph]], files: Sequence[Path]) -> list[Problem]:
    """Violations of ``ontology/shapes.ttl`` in ``data`` (the union of ``sources``), located in ``files``.

    The shapes are compiled to SPARQL and run on Oxigraph (:mod:`cd38kg.knowledge.shacl`), in
    time linear in the data; pyshacl, the reference they are tested against, took 338 s at
    100,000 user statements.
    """
    import pyoxigraph
    from rdflib import URIRef

    from .shacl import compile_shapes, violations

    found = violations(compile_shapes(shapes_file()), *_oxigraph(data))
    is_dangling = {v: v.shape == pyoxigraph.NamedNode(SHAPES.DefinedReference) for v in found}
    dangling = {v.focus for v in found if is_dangling[v]}
    defined: list[str] = []
    problems = set()
    for violation in found:
        if violation.focus in dangling and not is_dangling[violation]:
            continue  # "has no rdfs:label" adds nothing to "is used but never defined"
        message, iri = violation.message, violation.focus.value
        if is_dangling[violation]:
            defined = defined or _defined(data)
            message += _did_you_mean(defined, iri)
        if isinstance(violation.focus, pyoxigraph.BlankNode):  # a record: name and place it by what it is about
            focus = _rdflib(violation.focus)
            about = data.value(focus, URIRef(CD38.subject))
            kind = data.value(focus, URIRef(RDF.type))
            name = f"a blank-node {curie(str(kind)) if kind else 'resource'}" + (f" about {curie(str(about))}"
                                                                                 if about else "")
            stating = [path for path in files for source, graph in sources
                       if source == path and (focus, None, None) in graph]
            place = next((hit for path in stating or files if about and (hit := _locate_phrase(
                path, CD38.subject, str(about)))), None)
            problems.add(Problem(f"{name} {message}", None, str(place[0]) if place else None,
                                 place[1] if place else None))
        else:
            problems.add(_problem(f"{curie(iri)} {message}", curie(iri), URIRef(iri), data, files))
    return sorted(problems, key=_order)


def _oxigraph(graph: Graph) -> tuple[pyoxigraph.Store, str]:
    """The Oxigraph store under ``graph`` and the name of ``graph`` in it, when ``graph`` is a named
    graph of such a store (and the only graph in it), else a copy of ``graph`` in a new store."""
    import pyoxigraph
    from rdflib import URIRef

    from ..store.base import to_ox

    inner = getattr(graph.store, "_inner", None)
    if inner is not None and isinstance(graph.identifier, URIRef):
        return inner, str(graph.identifier)
    store, name = pyoxigraph.Store(), pyoxigraph.NamedNode(CURATED_GRAPH)
    store.bulk_extend(pyoxigraph.Quad(to_ox(s), to_ox(p), to_ox(o), name) for s, p, o in graph)
    return store, CURATED_GRAPH


def _defined(data: Graph) -> list[str]:
    """The kb: and user: ids that have a label or a type, sorted."""
    from rdflib import URIRef

    return sorted({str(s) for p in (RDFS.label, RDF.type) for s in data.subjects(URIRef(p))
                   if isinstance(s, URIRef) and str(s).startswith((KB, USER))})


def _did_you_mean(defined: list[str], iri: str) -> str:
    """"; did you mean kb:x?" for the defined id (of the same namespace) closest to a dangling one, if any is close."""
    namespace = next(ns for ns in (KB, USER) if iri.startswith(ns))
    close = difflib.get_close_matches(iri, [d for d in defined if d.startswith(namespace)], n=1, cutoff=0.9)
    return f"; did you mean {curie(close[0])}?" if close else ""


# -- disjointness ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Membership:
    """One reason an individual belongs to a class, and the statement that gives it (Oxigraph terms)."""

    cls: str
    how: str
    anchor: str
    statement: tuple[Any, Any, Any]


#: Positive findings (not reporting an absence), which the loader turns into triples.
_POSITIVE_FINDINGS = f"PREFIX cd38: <{CD38}>\n" + """SELECT ?finding ?s ?p ?o WHERE {
  ?finding a cd38:Finding ; cd38:subject ?s ; cd38:predicate ?p ; cd38:object ?o .
  FILTER NOT EXISTS { ?finding cd38:magnitude ?magnitude FILTER (STR(?magnitude) IN ("none", "unknown")) }
}"""


def check_disjointness(data: Graph, sources: Sequence[tuple[Path, Graph]], files: Sequence[Path]) -> list[Problem]:
    """Individuals that belong to two disjoint classes, found without a reasoner.

    An individual's classes come from its ``rdf:type`` statements and from the domain and
    range of the object properties it is used with (in triples, or in positive findings,
    which the loader turns into triples); each class brings its superclasses. Two of those
    declared disjoint (``owl:AllDisjointClasses``, ``owl:disjointWith``,
    ``owl:disjointUnionOf``) make the ontology inconsistent, and naming the two and the
    statements behind them is the explanation HermiT's verdict lacks. The data is read from
    Oxigraph directly, only the statements that can give a class: rdflib would convert every
    triple (most of the time at 100,000 statements).
    """
    import pyoxigraph
    from rdflib import URIRef

    disjoint = _disjoint_pairs(data)
    if not disjoint:
        return []
    ancestors = _ancestors(data)
    in_pairs = set().union(*disjoint)
    relevant = in_pairs | {c for c, ups in ancestors.items() if ups & in_pairs}
    domains, ranges = _domains_and_ranges(data)
    classes = {str(c) for c in data.subjects(URIRef(RDF.type), URIRef(OWL.Class))} | set(ancestors)
    member: dict[str, list[_Membership]] = defaultdict(list)

    def add(individual: Any, cls: str, how: str, anchor: str, statement: tuple[Any, Any, Any]) -> None:
        if isinstance(individual, pyoxigraph.NamedNode) and cls in relevant and individual.value not in classes:
            member[individual.value].append(_Membership(cls, how, anchor, statement))

    store, _ = _oxigraph(data)
    rdf_type = pyoxigraph.NamedNode(RDF.type)
    for quad in store.quads_for_pattern(None, rdf_type, None, None):
        add(quad.subject, quad.object.value, "", quad.subject.value, (quad.subject, rdf_type, quad.object))
    for p in set(domains) | set(ranges):
        for quad in store.quads_for_pattern(None, pyoxigraph.NamedNode(p), None, None):
            statement = (quad.subject, quad.predicate, quad.object)
            for cls in domains.get(p, ()):
                add(quad.subject, cls, f" as subject of {curie(p)}", quad.subject.value, statement)
            for cls in ranges.get(p, ()):
                add(quad.object, cls, f" as object of {curie(p)}", quad.subject.value, statement)
    finding_type = pyoxigraph.NamedNode(CD38.Finding)
    for finding, s, p, o in store.query(_POSITIVE_FINDINGS, use_default_graph_as_union=True):
        statement = (finding, rdf_type, finding_type)
        for cls in domains.get(p.value, ()):
            add(s, cls, f" as subject of {curie(p.value)} in {curie(finding.value)}", finding.value, statement)
        for cls in ranges.get(p.value, ()):
            add(o, cls, f" as object of {curie(p.value)} in {curie(finding.value)}", finding.value, statement)

    bundled = {*ontology_files(), claims_file()}
    disjoint_with: dict[str, set[str]] = defaultdict(set)
    for a, b in disjoint:
        disjoint_with[a].add(b)
        disjoint_with[b].add(a)
    problems = []
    for individual in sorted(member):
        reached = set().union(*(ancestors.get(m.cls, {m.cls}) for m in member[individual]))
        if not any(disjoint_with[c] & reached for c in reached if c in disjoint_with):
            continue  # no two of its classes are disjoint: the common case, decided without pairing them
        clash = _first_clash(sorted(set(member[individual]), key=lambda m: (m.cls, m.how)), ancestors, disjoint)
        if clash is None:
            continue
        first, second, a, b = clash
        places = [_place(m, data, sources, files) for m in (first, second)]
        reasons = [f"a {curie(m.cls)}{m.how}" + (f" at {_where(place)}" if place else "")
                   for m, place in zip((first, second), places)]
        detail = "; ".join(reasons) if first != second else f"{reasons[0]}, a subclass of both"
        blamed = next((pl for pl in reversed(places) if pl and pl[0] not in bundled), places[1] or places[0])
        name = curie(individual)
        problems.append(Problem(f"{name} is both {curie(a)} and {curie(b)}, which are disjoint ({detail})",
                                name, str(blamed[0]) if blamed else None, blamed[1] if blamed else None))
    return problems


def _first_clash(memberships: list[_Membership], ancestors: dict[str, set[str]],
                 disjoint: set[frozenset[str]]) -> tuple[_Membership, _Membership, str, str] | None:
    for first, second in combinations_with_replacement(memberships, 2):
        for a in sorted(ancestors.get(first.cls, {first.cls})):
            for b in sorted(ancestors.get(second.cls, {second.cls})):
                if frozenset((a, b)) in disjoint:
                    return first, second, a, b
    return None


def _disjoint_pairs(data: Graph) -> set[frozenset[str]]:
    from rdflib import URIRef
    from rdflib.collection import Collection

    def pairwise(items: list[Node]) -> set[frozenset[str]]:
        named = [str(i) for i in items if isinstance(i, URIRef)]
        return {frozenset((a, b)) for i, a in enumerate(named) for b in named[i + 1:] if a != b}

    pairs: set[frozenset[str]] = set()
    for node in data.subjects(URIRef(RDF.type), URIRef(OWL.AllDisjointClasses)):
        members = data.value(node, URIRef(OWL.members))
        if members is not None:
            pairs |= pairwise(list(Collection(data, members)))
    for _, members in data.subject_objects(URIRef(OWL.disjointUnionOf)):
        pairs |= pairwise(list(Collection(data, members)))
    for a, b in data.subject_objects(URIRef(OWL.disjointWith)):
        pairs |= pairwise([a, b])
    return pairs


def _ancestors(data: Graph) -> dict[str, set[str]]:
    """Each named class with itself and all its named superclasses (and equivalents)."""
    from rdflib import URIRef

    parents: dict[str, set[str]] = defaultdict(set)
    for sub, sup in data.subject_objects(URIRef(RDFS.subClassOf)):
        if isinstance(sub, URIRef) and isinstance(sup, URIRef):
            parents[str(sub)].add(str(sup))
    for a, b in data.subject_objects(URIRef(OWL.equivalentClass)):
        if isinstance(a, URIRef) and isinstance(b, URIRef):
            parents[str(a)].add(str(b))
            parents[str(b)].add(str(a))
    starts = set(parents) | {c for ups in parents.values() for c in ups}
    return {start: reachable(start, parents) for start in starts}


def _domains_and_ranges(data: Graph) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Object properties' domains and ranges, with inverses and super-properties folded in."""
    from rdflib import URIRef

    def named(p: str, axiom: str) -> set[str]:
        return {str(c) for c in data.objects(URIRef(p), URIRef(axiom)) if isinstance(c, URIRef)}

    properties = {str(p) for p in data.subjects(URIRef(RDF.type), URIRef(OWL.ObjectProperty))}
    domain = {p: named(p, RDFS.domain) for p in properties}
    range_ = {p: named(p, RDFS.range) for p in properties}
    for p, q in data.subject_objects(URIRef(OWL.inverseOf)):
        p, q = str(p), str(q)
        if p in properties and q in properties:
            domain[q] |= named(p, RDFS.range)
            range_[q] |= named(p, RDFS.domain)
            domain[p] |= named(q, RDFS.range)
            range_[p] |= named(q, RDFS.domain)
    for p in data.subjects(URIRef(RDF.type), URIRef(OWL.SymmetricProperty)):
        if str(p) in properties:
            both = domain[str(p)] | range_[str(p)]
            domain[str(p)], range_[str(p)] = set(both), set(both)
    supers: dict[str, set[str]] = defaultdict(set)
    for sub, sup in data.subject_objects(URIRef(RDFS.subPropertyOf)):
        supers[str(sub)].add(str(sup))
    out_domain, out_range = {}, {}
    for p in properties:
        seen = reachable(p, supers)
        out_domain[p] = set().union(*(domain.get(s, set()) for s in seen))
        out_range[p] = set().union(*(range_.get(s, set()) for s in seen))
    return ({p: c for p, c in out_domain.items() if c}, {p: c for p, c in out_range.items() if c})


def _place(membership: _Membership, data: Graph, sources: Sequence[tuple[Path, Graph]],
           files: Sequence[Path]) -> tuple[Path, int] | None:
    """The file that states a membership's statement, and the line of its anchor there."""
    from rdflib import URIRef

    statement = tuple(_rdflib(term) for term in membership.statement)
    stating = [path for path, graph in sources if statement in graph]
    ordered = [p for p in files if p in stating] or list(files)
    value = str(statement[2]) if str(statement[0]) == membership.anchor else None
    return locate(membership.anchor, ordered, _names(data, URIRef(membership.anchor)), value)


# -- locating ----------------------------------------------------------------------------------


def locate(iri: str, files: Iterable[Path], names: Iterable[str] = (),
           value: str | None = None) -> tuple[Path, int] | None:
    """The file and line where ``iri`` is written, searching ``files`` in order.

    Turtle and N-Triples files are searched for the full ``<IRI>`` and for every CURIE the
    file's own ``@prefix`` lines allow, as a whole token (``kb:cd38`` does not match
    ``kb:cd38-on-mm``); comment lines are skipped. A line that starts with the entity (its
    definition) wins over a mention anywhere; with ``value``, the line of that statement
    which mentions ``value`` wins (``kb:x a cd38:Agent`` rather than ``kb:x``'s first line).
    TSV files name entities by label, so ``names`` are matched against their cells; a TSV
    finding's IRI ends in ``<file tag>-<line>``.
    """
    keys = {normalize(n) for n in names if n}
    mention: tuple[Path, int] | None = None
    for path in files:
        found = _locate_in(Path(path), str(iri), keys, value)
        if found is None:
            continue
        line, defines = found
        if defines:
            return Path(path), line
        mention = mention or (Path(path), line)
    return mention


def _locate_in(path: Path, iri: str, keys: set[str], value: str | None) -> tuple[int, bool] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    lines = text.splitlines()
    if path.suffix.lower() == ".tsv":
        return _locate_in_tsv(path, lines, iri, keys)
    pattern = _token(iri, text)
    in_statement = _token(value, text) if value else None
    definition = mention = None
    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith("#"):
            continue
        match = pattern.search(line)
        if match is None:
            continue
        if match.start() == 0:
            if in_statement is None:
                return number, True
            definition = definition or number
            for later in range(number, len(lines) + 1):  # the statement's lines, up to its final dot
                if in_statement.search(lines[later - 1], match.end() if later == number else 0):
                    return later, True
                if re.search(r"\.\s*(#.*)?$", lines[later - 1]):
                    break
        mention = mention or number
    if definition:
        return definition, True
    return (mention, False) if mention else None


def _locate_in_tsv(path: Path, lines: list[str], iri: str, keys: set[str]) -> tuple[int, bool] | None:
    finding = _TSV_FINDING.fullmatch(iri)
    if finding:
        tag = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]  # as extend.py names findings
        return (int(finding.group(2)), True) if finding.group(1) == tag else None
    mention = None
    for number, row in enumerate(lines, 1):
        cells = [normalize(cell) for cell in row.split("\t")]
        if cells[0] in keys:
            return number, True
        if mention is None and keys.intersection(cells[1:3]):
            mention = (number, False)
    return mention


def _locate_phrase(path: Path, first: str, second: str) -> tuple[Path, int] | None:
    """The first line of ``path`` where ``first`` is followed by ``second`` (e.g. a predicate and its value)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    pattern = re.compile(f"(?:{_token(first, text).pattern})\\s+(?:{_token(second, text).pattern})")
    for number, line in enumerate(text.splitlines(), 1):
        if not line.lstrip().startswith("#") and pattern.search(line):
            return path, number
    return None


def _token(iri: str, text: str) -> re.Pattern[str]:
    """A pattern for ``iri`` as written in ``text``: ``<IRI>`` or a whole CURIE of its prefixes."""
    spellings = [re.escape(f"<{iri}>")]
    for prefix, namespace in _PREFIX_DECL.findall(text):
        if iri.startswith(namespace) and len(iri) > len(namespace):
            spellings.append(r"(?<![\w:.-])" + re.escape(f"{prefix}:{iri[len(namespace):]}")
                             + r"(?![\w:%/#-]|\.[\w-])")
    return re.compile("|".join(spellings))


# -- helpers -----------------------------------------------------------------------------------


def _names(data: Graph, node: Node) -> list[str]:
    """How a TSV file may name ``node``: its label, synonyms and CURIE."""
    from rdflib import URIRef

    names = [str(o) for p in (RDFS.label, SKOS.altLabel) for o in data.objects(node, URIRef(p))]
    return [*names, curie(str(node))]


def _problem(message: str, entity: str, anchor: Node, data: Graph, files: Sequence[Path]) -> Problem:
    from rdflib import URIRef

    place = locate(str(anchor), files, _names(data, anchor)) if isinstance(anchor, URIRef) else None
    return Problem(message, entity, str(place[0]) if place else None, place[1] if place else None)


def _rdflib(term: Any) -> Node:
    """An Oxigraph term as an rdflib term."""
    import pyoxigraph
    from rdflib import BNode, Literal, URIRef

    if isinstance(term, pyoxigraph.NamedNode):
        return URIRef(term.value)
    if isinstance(term, pyoxigraph.BlankNode):
        return BNode(term.value)
    return Literal(term.value, lang=term.language, datatype=None if term.language else URIRef(term.datatype.value))


def _uri(iri: str) -> Node:
    from rdflib import URIRef

    return URIRef(iri)


def _where(place: tuple[Path, int]) -> str:
    return f"{place[0]}:{place[1]}"


def _order(problem: Problem) -> tuple[str, int, str]:
    return (problem.file or "", problem.line or 0, problem.message)


__all__ = ["Problem", "ValidationReport", "check_disjointness", "check_shapes", "locate", "validate"]
