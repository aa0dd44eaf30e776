"""Named SPARQL queries: the knowledge base's competency questions, runnable by name.

Each ``queries/NAME.rq`` is a plain SPARQL query (it runs as is in any SPARQL client) that
opens with a comment header saying what it answers and how to call it::

    # Which cells express a molecule, and at what level? ...
    #
    # @param molecule entity:molecule default=CD38  The molecule.
    # @column cell  the cell population

``@param NAME TYPE [default=VALUE] DESCRIPTION`` declares a parameter: the query variable
``?NAME``. TYPE is ``entity`` (any entity), ``entity:KIND`` (an entity of one kind, as
``--type`` accepts: agent, antibody, cell, molecule, resistance, class, ...) or ``literal``
(a plain string). VALUE may be double-quoted; a description may go on over the next comment
lines. A parameter without a default is optional: left unbound, the query answers for every
value. Entity values are names, synonyms or CURIEs resolved like everywhere else; every
value becomes an Oxigraph term bound by a trailing ``VALUES`` clause
(:func:`cd38kg.store.values_clause`), so user input never becomes query text.

Every query, named or the user's own, is checked before it runs (:func:`inspect_query`): it
must parse (syntax errors give line and column), must be a query rather than an update, and
may not use ``SERVICE`` or ``FROM`` (the first makes the engine fetch remote data, the second
would be silently ignored by Oxigraph), nor call functions other than SPARQL's own and XSD
casts. Query texts are capped at :data:`MAX_QUERY_CHARS` characters: rdflib's parser needs
seconds per hundred kilobytes. The CLI (``cd38kg query``) and the SPARQL server
(:mod:`cd38kg.interfaces.server`) share this module; both check and run user queries in a worker
process stopped at a deadline (:mod:`cd38kg.interfaces.workers`).
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Cd38kgError
from ..knowledge.names import curie
from ..resources import queries_dir
from ..store import read_text, values_clause
from ..vocab import PREFIXES, QUERIED_GRAPHS

if TYPE_CHECKING:
    import pyoxigraph
    from rdflib import Dataset
    from rdflib.term import Node

    from ..kb import KnowledgeBase
    from ..store.base import KnowledgeStore
    from ..store.remote import RemoteStore

    #: A term in a solution: what the engine returns (pyoxigraph), or an rdflib term.
    Term = Node | pyoxigraph.NamedNode | pyoxigraph.BlankNode | pyoxigraph.Literal

#: Output formats by the query forms they apply to (``xml`` is RDF/XML for graphs).
RESULT_FORMATS = ("table", "json", "xml", "csv", "tsv")
GRAPH_FORMATS = ("table", "turtle", "nt", "json-ld", "json", "xml", "csv", "tsv")
#: The longest query text accepted: parsing takes about 4 s per 100,000 characters.
MAX_QUERY_CHARS = 100_000
#: Seconds ``cd38kg query`` lets a query run by default.
DEFAULT_TIMEOUT = 60.0
#: Recursion depth allowed while parsing: rdflib's grammar recurses once per triple pattern
#: and bracket, so Python's default (1,000) fails at about 100 triple patterns.
_PARSE_DEPTH = 20_000
GRAPH_FORMS = ("CONSTRUCT", "DESCRIBE")
#: Result formats Oxigraph writes exactly as :func:`render` does (see :func:`write_results`).
NATIVE_FORMATS = ("json", "xml")
_RESULTS_NS = "http://www.w3.org/2005/sparql-results#"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_PARAM = re.compile(r"@param\s+(?P<name>[A-Za-z_]\w*)\s+(?P<type>entity(?::[\w-]+)?|literal)"
                    r'(?:\s+default=(?P<default>"[^"]*"|\S+))?(?:\s+(?P<description>.*))?$')
_COLUMN = re.compile(r"@column\s+(?P<name>[A-Za-z_]\w*)(?:\s+(?P<description>.*))?$")
_FORM_NAMES = {"SelectQuery": "SELECT", "AskQuery": "ASK", "ConstructQuery": "CONSTRUCT",
               "DescribeQuery": "DESCRIBE"}
_TABLE_CELL = 48
#: The derived graph and its terms (:meth:`cd38kg.kb.KnowledgeBase.derived_strategies`), by local name.
_DERIVED_VOCABULARY = re.compile(r"graph/derived|DerivedStrategy|strategy(?:Against|Antibody|Partner)"
                                 r"|derived(?:Kind|Verdict|Score|Rank|Status|Mechanism)")


class QueryError(Cd38kgError):
    """A query that cannot be run as given (unknown name or parameter, unsupported feature)."""


class QuerySyntaxError(QueryError):
    """The query does not parse; carries the 1-based line and column of the problem."""

    def __init__(self, message: str, line: int, column: int, text: str = "") -> None:
        super().__init__(f"SPARQL syntax error at line {line}, column {column}: {message}")
        self.line = line
        self.column = column
        self.text = text


class QueryRefused(QueryError):
    """A request the read-only endpoint will not carry out (an update, LOAD, SERVICE)."""


@dataclass(frozen=True)
class Param:
    """A declared query parameter: the variable ``?name`` and how to read its value."""

    name: str
    type: str
    default: str | None = None
    description: str = ""

    @property
    def entity_kind(self) -> str | None:
        """The entity kind of an ``entity:KIND`` parameter."""
        return self.type.partition(":")[2] or None

    def term(self, kb: KnowledgeBase, value: str) -> pyoxigraph.NamedNode | pyoxigraph.Literal:
        """The term for a value: a resolved entity's IRI, or a plain literal."""
        import pyoxigraph

        if self.type == "literal":
            return pyoxigraph.Literal(value)
        return pyoxigraph.NamedNode(kb.entity(value, kind=self.entity_kind, role=self.name).iri)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "default": self.default, "description": self.description}


@dataclass(frozen=True)
class Column:
    """A documented result column."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class NamedQuery:
    """A SPARQL query with the question it answers, its parameters and its result columns."""

    name: str
    text: str
    question: str = ""
    params: tuple[Param, ...] = ()
    columns: tuple[Column, ...] = ()
    origin: str = ""

    @classmethod
    def parse(cls, name: str, text: str, origin: str = "") -> NamedQuery:
        """Read the comment header of a query file (see the module docstring for its grammar)."""
        question: list[str] = []
        params: list[Param] = []
        columns: list[Column] = []
        last: list[Param] | list[Column] | None = None
        for number, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                break
            body = stripped.lstrip("#").strip()
            if last and body and not body.startswith("@"):
                # A continuation line of the last @param or @column description.
                last[-1] = replace(last[-1], description=f"{last[-1].description} {body}".strip())
            elif body.startswith("@param"):
                match = _PARAM.match(body)
                if not match:
                    raise QueryError(f"{origin or name}:{number}: bad @param line; write "
                                     "'@param NAME entity|entity:KIND|literal [default=VALUE] description'")
                default = match["default"]
                params.append(Param(match["name"], match["type"],
                                    default.strip('"') if default is not None else None,
                                    (match["description"] or "").strip()))
                last = params
            elif body.startswith("@column"):
                match = _COLUMN.match(body)
                if not match:
                    raise QueryError(f"{origin or name}:{number}: bad @column line; write '@column NAME description'")
                columns.append(Column(match["name"], (match["description"] or "").strip()))
                last = columns
            elif body and last is None:
                question.append(body)
        return cls(name=name, text=text, question=" ".join(question), params=tuple(params),
                   columns=tuple(columns), origin=origin)

    @property
    def summary(self) -> str:
        """The first sentence of the question."""
        match = re.match(r"(.+?[?.])(\s|$)", self.question)
        return match.group(1) if match else self.question

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "question": self.question,
                "params": [p.to_json() for p in self.params],
                "columns": [{"name": c.name, "description": c.description} for c in self.columns]}


@dataclass
class QueryResult:
    """What a query returned: solutions (SELECT), a boolean (ASK) or triples (CONSTRUCT/DESCRIBE).

    Solutions hold the engine's own (pyoxigraph) terms: turning each into an rdflib term
    costs more than running a typical query. Triples are rdflib terms, for its serialisers.
    """

    form: str
    variables: list[str] = field(default_factory=list)
    rows: list[tuple[Term | None, ...]] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[tuple[Node, Node, Node]] = field(default_factory=list)
    truncated: bool = False

    @property
    def is_graph(self) -> bool:
        return self.form in GRAPH_FORMS

    def __len__(self) -> int:
        return len(self.triples) if self.is_graph else len(self.rows)

    def column(self, name: str) -> list[str]:
        """The values of one variable as strings ("" when unbound), for quick checks."""
        index = self.variables.index(name)
        parts = _describer()
        return ["" if row[index] is None else parts(row[index])[1] for row in self.rows]

    def records(self) -> list[dict[str, str]]:
        """Rows as ``{variable: value}`` dicts of strings, unbound variables left out."""
        parts = _describer()
        return [{var: parts(value)[1] for var, value in zip(self.variables, row) if value is not None}
                for row in self.rows]


# -- the library of named queries -----------------------------------------------------------


def list_queries() -> list[NamedQuery]:
    """Every bundled named query, by name."""
    return [NamedQuery.parse(path.stem, read_text(path), origin=str(path))
            for path in sorted(queries_dir().glob("*.rq"))]


def load_query(name_or_file: str) -> NamedQuery:
    """A named query, or the query in a user's ``.rq`` file (its header may declare parameters)."""
    path = Path(name_or_file)
    if path.suffix == ".rq" or "/" in name_or_file or "\\" in name_or_file:
        return NamedQuery.parse(path.stem, read_text(path), origin=str(path))
    named = {query.name: query for query in list_queries()}
    if name_or_file in named:
        return named[name_or_file]
    if path.is_file():
        return NamedQuery.parse(path.stem, read_text(path), origin=str(path))
    raise QueryError(f"unknown query {name_or_file!r}; the named queries are: {', '.join(named)} "
                     "(or give a path to a .rq file)")


def check_params(query: NamedQuery, values: Mapping[str, str]) -> None:
    """Refuse parameters the query does not declare, naming the ones it does."""
    unknown = sorted(set(values) - {param.name for param in query.params})
    if unknown:
        valid = ", ".join(f"{p.name} ({p.type})" for p in query.params)
        hint = f"its parameters are: {valid}" if valid else "it declares no parameters (add '# @param' lines)"
        raise QueryError(f"query {query.name!r} has no parameter {unknown[0]!r}; {hint}")


def bind(query: NamedQuery, kb: KnowledgeBase, values: Mapping[str, str]) -> str:
    """The query text with its parameters bound: given values, else defaults; optional ones left open.

    The ``VALUES`` block opens the query's outer ``WHERE`` group, so a parameter binds ``?NAME``
    for that whole group and the engine starts from the bound value: Oxigraph joins a
    trailing ``VALUES`` clause only after evaluating the whole pattern (4 s instead of 20 ms
    for ``class-members`` over 100,000 statements). A query without a ``WHERE`` keyword gets
    the trailing clause.
    """
    check_params(query, values)
    bindings: dict[str, object] = {}
    for param in query.params:
        value = values.get(param.name, param.default)
        if value is not None:
            bindings[param.name] = param.term(kb, value)
    clause = values_clause(bindings)
    at = where_group_start(query.text) if clause else None
    if at is None:
        return query.text + clause
    return query.text[:at] + clause + query.text[at:]


#: What the scan for the outer ``WHERE {`` steps over: comments, strings and IRIs (a ``<``
#: that opens no IRI is a comparison), and the keyword itself.
_QUERY_TOKEN = re.compile(
    r"""#[^\n]*|'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|<[^<>"{}|^`\\\s]*>"""
    r"""|(?P<where>\bWHERE\s*\{)""", re.IGNORECASE | re.DOTALL)


def where_group_start(text: str) -> int | None:
    """The offset just inside the first ``WHERE {`` outside comments, strings and IRIs: the
    outer group of a query (sub-queries come after it), or None when the query has none."""
    for match in _QUERY_TOKEN.finditer(text):
        if match.group("where"):
            return match.end()
    return None


def parse_assignments(pairs: Iterable[str]) -> dict[str, str]:
    """``["drug=daratumumab", ...]`` as a dict, rejecting items without ``=`` or repeated keys."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise QueryError(f"bad parameter {pair!r}; write KEY=VALUE, e.g. drug=daratumumab")
        if key.strip() in values:
            raise QueryError(f"parameter {key.strip()!r} given twice")
        values[key.strip()] = value.strip()
    return values


# -- checking and running ------------------------------------------------------------------


def check_length(text: str) -> None:
    """Refuse an empty query, or one longer than :data:`MAX_QUERY_CHARS`, before anything parses it."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is {len(text):,} characters long; the limit is {MAX_QUERY_CHARS:,} "
                         "(put long lists of values in an --extra file and match them with a pattern)")
    if not text.strip():
        raise QueryError("the query is empty")


@dataclass(frozen=True)
class Checked:
    """What checking a query found: its form, and the ``LIMIT`` of its outermost query (None: none)."""

    form: str
    limit: int | None = None

    def fits(self, max_rows: int) -> bool:
        """Whether a SELECT is known to give at most ``max_rows`` solutions before it runs."""
        return self.form == "SELECT" and self.limit is not None and self.limit <= max_rows


def inspect_query(text: str) -> str:
    """The query form (SELECT, ASK, CONSTRUCT, DESCRIBE) of a query that is safe to evaluate (:func:`check_query`)."""
    return check_query(text).form


@lru_cache(maxsize=256)
def check_query(text: str) -> Checked:
    """Check that a query is safe to evaluate; its form and outermost ``LIMIT``.

    Parses with rdflib's SPARQL grammar and walks the parse tree, so ``SERVICE`` is found
    however it is written (any case, unicode escapes) before the engine can follow it.
    Answers are cached by text, so a query sent again is not parsed again.
    """
    check_length(text)
    prologue, body = _parse(text)
    names = {node.name for node in _walk(body) if hasattr(node, "name")}
    if "ServiceGraphPattern" in names:
        raise QueryRefused("SERVICE is not allowed: this endpoint never contacts other servers")
    if "DatasetClause" in names:
        raise QueryError("FROM and FROM NAMED are not supported; the default graph is the union of all graphs, "
                         "select one with GRAPH <https://w3id.org/cd38kg/graph/...> { ... }")
    # CompValue.get returns the key itself when it is missing; dict.get does not.
    declared = {dict.get(decl, "prefix", ""): str(dict.get(decl, "iri", ""))
                for decl in _walk(prologue) if getattr(decl, "name", "") == "PrefixDecl"}
    for node in _walk(body):
        name = getattr(node, "name", "")
        if name == "pname":
            prefix = dict.get(node, "prefix", "")
            if prefix not in declared and prefix not in PREFIXES:
                raise QueryError(f"unknown prefix {prefix + ':'!r}; declare it with PREFIX or use one of "
                                 f"{', '.join(p + ':' for p in PREFIXES)}")
        elif name == "Function":
            iri = _iri(dict.get(node, "iri"), declared)
            if not iri.startswith(PREFIXES["xsd"]):
                raise QueryError(f"unknown function <{iri}>: only SPARQL's built-in functions and XSD casts "
                                 "such as xsd:integer(...) are available")
    limit = dict.get(dict.get(body, "limitoffset") or {}, "limit")
    return Checked(_FORM_NAMES[body.name], None if limit is None else int(limit))


def _parse(text: str) -> tuple[Any, Any]:
    """The prologue and body of a query, or the error a person can act on."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    depth = sys.getrecursionlimit()
    sys.setrecursionlimit(max(depth, _PARSE_DEPTH))
    try:
        try:
            parsed = parseQuery(text)
        except ParseException as err:
            try:
                update = parseUpdate(text)
            except ParseException:
                update = None
            # Only comments and PREFIXes parse as an update that does nothing: report the query's error.
            if update is None or not dict.get(update, "request"):
                found = getattr(err, "found", "")
                message = f"{err.msg[0].lower()}{err.msg[1:]}" + (f", found {found}" if found else "")
                raise QuerySyntaxError(message, err.lineno, err.col, err.line) from None
            raise QueryRefused("this endpoint is read-only: SPARQL Update (INSERT, DELETE, LOAD, CLEAR, DROP, ...) "
                               "is not accepted") from None
    except RecursionError:
        raise QueryError("the query is nested too deeply (or has too many patterns in one group) "
                         "for the SPARQL parser") from None
    finally:
        sys.setrecursionlimit(depth)
    return parsed[0], parsed[1]


def _iri(node: Any, declared: Mapping[str, str]) -> str:
    """A parse-tree IRI (full, or prefixed name) as a string."""
    if getattr(node, "name", "") == "pname":
        prefix = dict.get(node, "prefix", "")
        return declared.get(prefix, PREFIXES.get(prefix, "")) + str(dict.get(node, "localname", ""))
    return str(node)


def _walk(node: Any) -> Iterable[Any]:
    """Every node of an rdflib SPARQL parse tree (CompValues are dicts, sequences are ParseResults)."""
    from pyparsing import ParseResults

    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        # ParseResults is registered as a Mapping, but its items are the sequence.
        if isinstance(current, ParseResults | list | tuple):
            stack.extend(current)
        elif isinstance(current, Mapping):
            stack.extend(current.values())


def execute(dataset: Dataset | pyoxigraph.Store, text: str, max_rows: int | None = None,
            form: str | None = None) -> QueryResult:
    """Check and run a query; at most ``max_rows`` solutions or triples are read from the engine.

    The project prefixes (cd38:, kb:, rdfs:, ...) are predeclared. The default graph is the
    union of the dataset's named graphs. ``form`` is given for a query already checked
    (a named query checked at start-up, bound with a generated ``VALUES`` clause). Given the
    Oxigraph store itself, a SELECT or ASK never imports rdflib.
    """
    form = form or inspect_query(text)
    result = QueryResult(form=form)
    limit = None if max_rows is None else max_rows + 1
    with _engine_errors():
        if form in GRAPH_FORMS:
            answer = _rdflib(dataset).query(text, initNs=dict(PREFIXES))
            items: list[Any] = list(islice(iter(answer), limit))
        else:
            solutions = _oxigraph(dataset).query(text, prefixes=PREFIXES, use_default_graph_as_union=True)
            if form == "ASK":
                result.boolean = bool(solutions)
                return result
            result.variables = [var.value for var in solutions.variables]
            items = [tuple(solution) for solution in islice(solutions, limit)]
    if max_rows is not None and len(items) > max_rows:
        items = items[:max_rows]
        result.truncated = True
    if form in GRAPH_FORMS:
        result.triples = [tuple(item) for item in items]
    else:
        result.rows = items
    return result


def _oxigraph(dataset: Dataset | pyoxigraph.Store) -> pyoxigraph.Store:
    """The Oxigraph store under a dataset the knowledge base made (:func:`cd38kg.store.base.dataset_over`).

    Solutions are read from it directly: rdflib's query API would turn each term into an
    rdflib term (about 6 µs each, ten times the query itself for 100 rows of labels).
    oxrdflib keeps the store as ``_inner`` and offers no public accessor.
    """
    import pyoxigraph

    if isinstance(dataset, pyoxigraph.Store):
        return dataset
    return dataset.store._inner  # type: ignore[union-attr]


def _rdflib(dataset: Dataset | pyoxigraph.Store) -> Dataset:
    """An rdflib view of the store, for the graph forms rdflib writes."""
    import pyoxigraph

    from ..store.base import dataset_over

    return dataset_over(dataset) if isinstance(dataset, pyoxigraph.Store) else dataset


@contextmanager
def _engine_errors() -> Iterator[None]:
    """What the engine refuses while running a checked query, as a :class:`QueryError`."""
    try:
        yield
    except (SyntaxError, ValueError, RuntimeError) as err:
        # Oxigraph raises RuntimeError for what it cannot evaluate (e.g. an unknown function).
        raise QueryError(f"the query engine rejected the query: {(str(err) or type(err).__name__).splitlines()[0]}"
                         ) from None


def write_results(dataset: Dataset, text: str, fmt: str) -> bytes:
    """A checked SELECT or ASK query's answer written by Oxigraph itself, in one of :data:`NATIVE_FORMATS`.

    Only for a query whose answer fits the row cap (:meth:`Checked.fits`): the writer reads
    every solution. It skips turning each term into a Python object, most of the cost of
    answering a small query.
    """
    import pyoxigraph as ox

    native = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML}[fmt]
    with _engine_errors():
        answer = _oxigraph(dataset).query(text, prefixes=PREFIXES, use_default_graph_as_union=True)
        return answer.serialize(format=native)


def run_named(kb: KnowledgeBase, dataset: Dataset, name: str, values: Mapping[str, str] | None = None,
              max_rows: int | None = None) -> QueryResult:
    """Run a named query (or ``.rq`` file) with parameter values, as the CLI and tests do."""
    return execute(dataset, bind(load_query(name), kb, values or {}), max_rows=max_rows)


# -- output ---------------------------------------------------------------------------------


def render(result: QueryResult, fmt: str, note: str | None = None) -> str:
    """The result in one output format.

    Solutions: ``table`` (for people), ``json`` / ``xml`` (W3C SPARQL 1.1 Query Results JSON
    and XML), ``csv`` / ``tsv`` (W3C SPARQL 1.1 CSV and TSV). Graphs: ``turtle`` (also
    ``table``), ``nt``, ``json-ld`` (also ``json``), ``xml`` (RDF/XML, the default of many
    SPARQL clients), or ``csv`` / ``tsv`` as subject, predicate, object rows. ``note`` (e.g. that the result was cut) goes where the format
    has room for it: a JSON member, an XML or Turtle comment.
    """
    if result.is_graph:
        if fmt not in GRAPH_FORMATS:
            raise QueryError(f"a {result.form} result cannot be written as {fmt}; "
                             f"use one of {', '.join(GRAPH_FORMATS)}")
        if fmt in ("csv", "tsv"):
            as_rows = QueryResult(form="SELECT", variables=["subject", "predicate", "object"],
                                  rows=list(result.triples))
            return render(as_rows, fmt)
        return _graph_text(result.triples, {"table": "turtle", "json": "json-ld"}.get(fmt, fmt), note)
    if fmt not in RESULT_FORMATS:
        raise QueryError(f"a {result.form} result cannot be written as {fmt}; use one of {', '.join(RESULT_FORMATS)}")
    return {"table": _table, "json": _json, "xml": _xml, "csv": _csv, "tsv": _tsv}[fmt](result, note)


@lru_cache(maxsize=1)
def _describer() -> Callable[[Term], tuple[str, str, str | None, str | None]]:
    """A function giving ``(kind, value, language, datatype)`` for a pyoxigraph or rdflib term:
    kind is ``uri``, ``bnode`` or ``literal``; the datatype is None for plain and language strings.
    Built once; rdflib is imported only for its own terms (graph results), never for solutions."""
    import pyoxigraph as ox

    def parts(term: Term) -> tuple[str, str, str | None, str | None]:
        if isinstance(term, ox.Literal):
            datatype = term.datatype.value
            plain = term.language or datatype == _XSD_STRING
            return "literal", term.value, term.language, None if plain else datatype
        if isinstance(term, ox.NamedNode):
            return "uri", term.value, None, None
        if isinstance(term, ox.BlankNode):
            return "bnode", term.value, None, None
        from rdflib import BNode, Literal

        if isinstance(term, Literal):
            plain = term.language or term.datatype is None or str(term.datatype) == _XSD_STRING
            return "literal", str(term), term.language, None if plain else str(term.datatype)
        return "bnode" if isinstance(term, BNode) else "uri", str(term), None, None

    return parts


def _json(result: QueryResult, note: str | None) -> str:
    document: dict[str, Any] = {"head": {"vars": result.variables} if result.form != "ASK" else {}}
    if result.form == "ASK":
        document["boolean"] = result.boolean
    else:
        parts = _describer()
        bindings = []
        for row in result.rows:
            binding = {}
            for var, value in zip(result.variables, row):
                if value is not None:
                    kind, text, language, datatype = parts(value)
                    cell = {"type": kind, "value": text}
                    if language:
                        cell["xml:lang"] = language
                    elif datatype:
                        cell["datatype"] = datatype
                    binding[var] = cell
            bindings.append(binding)
        document["results"] = {"bindings": bindings}
    if note:
        document["note"] = note
    # One line: with ``indent`` the json module falls back to its pure-Python encoder (5x slower).
    return json.dumps(document, ensure_ascii=False) + "\n"


def _xml(result: QueryResult, note: str | None) -> str:
    from xml.sax.saxutils import escape, quoteattr

    parts = _describer()
    out = ['<?xml version="1.0" encoding="utf-8"?>']
    if note:
        out.append(f"<!-- {escape(note).replace('--', '- -')} -->")
    out.append(f'<sparql xmlns="{_RESULTS_NS}">')
    out.append("  <head>" + "".join(f"<variable name={quoteattr(v)}/>" for v in result.variables) + "</head>")
    if result.form == "ASK":
        out.append(f"  <boolean>{'true' if result.boolean else 'false'}</boolean>")
    else:
        out.append("  <results>")
        for row in result.rows:
            out.append("    <result>")
            for var, value in zip(result.variables, row):
                if value is None:
                    continue
                kind, text, language, datatype = parts(value)
                if kind == "literal":
                    attrs = (f" xml:lang={quoteattr(language)}" if language else
                             f" datatype={quoteattr(datatype)}" if datatype else "")
                    cell = f"<literal{attrs}>{escape(text)}</literal>"
                else:
                    cell = f"<{kind}>{escape(text)}</{kind}>"
                out.append(f"      <binding name={quoteattr(var)}>{cell}</binding>")
            out.append("    </result>")
        out.append("  </results>")
    out.append("</sparql>")
    return "\n".join(out) + "\n"


def _csv(result: QueryResult, note: str | None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if result.form == "ASK":
        writer.writerows([["boolean"], ["true" if result.boolean else "false"]])
        return buffer.getvalue()
    writer.writerow(result.variables)
    parts = _describer()
    for row in result.rows:
        writer.writerow(["" if v is None else _csv_cell(*parts(v)[:2]) for v in row])
    return buffer.getvalue()


def _csv_cell(kind: str, text: str) -> str:
    return f"_:{text}" if kind == "bnode" else text


def _tsv(result: QueryResult, note: str | None) -> str:
    if result.form == "ASK":
        return f"?boolean\n{'true' if result.boolean else 'false'}\n"
    lines = ["\t".join(f"?{v}" for v in result.variables)]
    lines += ["\t".join("" if v is None else _ntriples_term(v) for v in row) for row in result.rows]
    return "\n".join(lines) + "\n"


def _ntriples_term(term: Term) -> str:
    """A term in N-Triples syntax on one line (rdflib's n3() may use triple quotes)."""
    kind, text, language, datatype = _describer()(term)
    if kind == "literal":
        text = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                .replace("\r", "\\r").replace("\t", "\\t"))
        if language:
            return f'"{text}"@{language}'
        if datatype:
            return f'"{text}"^^<{datatype}>'
        return f'"{text}"'
    if kind == "bnode":
        return f"_:{text}"
    return f"<{text}>"


def _table(result: QueryResult, note: str | None) -> str:
    if result.form == "ASK":
        return ("true" if result.boolean else "false") + "\n"
    cells = [[_short(value) for value in row] for row in result.rows]
    widths = [max([len(var), *(len(row[i]) for row in cells)]) for i, var in enumerate(result.variables)]
    lines = ["  ".join(var.ljust(w) for var, w in zip(result.variables, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in cells]
    shortened = any(len(_plain(v)) > _TABLE_CELL for row in result.rows for v in row if v is not None)
    footer = f"{len(result.rows)} row{'s' if len(result.rows) != 1 else ''}"
    if shortened:
        footer += f"; values longer than {_TABLE_CELL} characters are shortened (--format csv or json shows them)"
    return "\n".join([*lines, footer]) + "\n"


def _plain(term: Term) -> str:
    kind, text, _, _ = _describer()(term)
    return " ".join((text if kind == "literal" else curie(text)).split())


def _short(term: Term | None) -> str:
    if term is None:
        return ""
    text = _plain(term)
    return text if len(text) <= _TABLE_CELL else text[:_TABLE_CELL - 1] + "…"


def _graph_text(triples: Sequence[tuple[Node, Node, Node]], fmt: str, note: str | None) -> str:
    from rdflib import Graph, Literal

    graph = Graph()
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri)
    for s, p, o in triples:
        # Oxigraph hands back plain strings typed xsd:string; write them as plain literals.
        if isinstance(o, Literal) and o.datatype is not None and str(o.datatype) == _XSD_STRING:
            o = Literal(str(o))
        graph.add((s, p, o))
    try:
        text = graph.serialize(format={"nt": "nt11"}.get(fmt, fmt))
    except ValueError as err:  # RDF/XML cannot write a predicate IRI that ends in a digit, ...
        raise QueryError(f"this graph cannot be written as RDF/XML ({err}); ask for Turtle or N-Triples") from None
    if note and fmt in ("turtle", "nt"):
        text = f"# {note}\n{text}"
    elif note and fmt == "xml":
        text = text.replace("?>", f"?>\n<!-- {note} -->", 1)
    return text


# -- the command line -----------------------------------------------------------------------


def reads_derived(text: str) -> bool:
    """True when a query names the derived graph or its vocabulary, the only queries that need
    the engine's ranked strategies (every other query runs without computing them)."""
    return bool(_DERIVED_VOCABULARY.search(text))


def derived_resistances(query: NamedQuery, kb: KnowledgeBase, values: Mapping[str, str]) -> set[str] | None:
    """The resistance mechanisms whose derived strategies a query can read: for a shipped named
    query, the ones its ``entity:resistance`` parameters are bound to (each binds ``?resistance``
    for the whole query; ``tests/test_queries.py`` checks the answer is the same as with every
    strategy); None, meaning all of them, for any other query or when none is bound."""
    if Path(query.origin).parent != queries_dir():
        return None
    bound = {kb.entity(value, kind="resistance", role=param.name).iri for param in query.params
             if param.entity_kind == "resistance" and (value := values.get(param.name, param.default)) is not None}
    return bound or None


def query_command(name: str | None, params: Sequence[str], fmt: str, extras: Sequence[str] = (),
                  list_only: bool = False, timeout: float = DEFAULT_TIMEOUT, store: KnowledgeStore | None = None) -> str:
    """What ``cd38kg query`` prints: the query list, or one query's results in ``fmt``.

    The query is checked, then run and written, in worker processes killed after
    ``timeout`` seconds, so neither a slow parse nor a runaway evaluation can hang the
    command. The check comes before the knowledge base loads, so mistakes are reported at once.
    """
    if list_only:
        return _listing(fmt)
    if not name:
        raise QueryError("name a query (see 'cd38kg query --list') or give a .rq file")
    if not timeout > 0:
        raise QueryError(f"--timeout must be a positive number of seconds, not {timeout:g}")
    query = load_query(name)
    values = parse_assignments(params)
    check_params(query, values)
    check_length(query.text)
    form = _checked_form(query.text, timeout)
    from ..kb import KnowledgeBase

    derived = reads_derived(query.text)
    if store is not None and store.name == "remote" and not derived:
        answered = _on_endpoint(store, query, values, form, extras, timeout)
        if answered is not None:
            return render(answered, fmt)
    kb = KnowledgeBase.load(extras=extras, store=store, with_engine=False)
    text = bind(query, kb, values)  # the checked text and a VALUES clause built from terms
    dataset = kb.sparql_store(include_derived=derived,
                              derived_for=derived_resistances(query, kb, values) if derived else None)
    return _bounded(lambda bound: render(execute(dataset, bound, form=form), fmt), text, timeout)


def _on_endpoint(store: KnowledgeStore, query: NamedQuery, values: Mapping[str, str], form: str,
                 extras: Sequence[str], timeout: float) -> QueryResult | None:
    """A query that reads no derived strategies, run by the SPARQL endpoint itself over the
    graphs cd38kg loads there: a copy of the whole knowledge base would be most of the server's
    data. Only the entities its parameters name are fetched, to resolve them as locally.
    None when the server's own answers cannot be trusted (:attr:`RemoteStore.evaluates_faithfully`):
    the query then runs here, over the fetched neighbourhood."""
    from ..kb import KnowledgeBase
    from ..store.remote import RemoteStore

    assert isinstance(store, RemoteStore)  # noqa: S101  (the caller checked the backend's name)
    names = [value for param in query.params
             if param.type != "literal" and (value := values.get(param.name, param.default)) is not None]
    named = store.naming(names)
    kb = KnowledgeBase.load(extras=extras, store=named, with_engine=False)
    if not named.evaluates_faithfully:
        return None
    text = "".join(f"PREFIX {prefix}: <{iri}>\n" for prefix, iri in PREFIXES.items()) + bind(query, kb, values)
    return _endpoint_answer(store, text, form, timeout)


def _endpoint_answer(endpoint: RemoteStore, text: str, form: str, timeout: float) -> QueryResult:
    """A checked query's answer from the endpoint, over :data:`cd38kg.vocab.QUERIED_GRAPHS` as
    the local stores answer it (their union the default graph, each also a named graph)."""
    from ..store.remote import result_term

    if form in GRAPH_FORMS:
        return QueryResult(form=form, triples=endpoint.triples(text, QUERIED_GRAPHS, timeout))
    document = endpoint.solutions(text, QUERIED_GRAPHS, timeout)
    bindings = document.get("results", {}).get("bindings", [])
    if form == "ASK":
        return QueryResult(form=form, boolean=document.get("boolean") is True)
    variables = list(document.get("head", {}).get("vars", []))
    rows = [tuple(result_term(row[var]) if var in row else None for var in variables) for row in bindings]
    return QueryResult(form=form, variables=variables, rows=rows)


def _checked_form(text: str, timeout: float) -> str:
    """:func:`inspect_query` in a bounded worker, once per query text and code version.

    The verdict is cached beside the reasoner's inferences, so running a named query again
    neither imports rdflib's SPARQL parser nor starts a worker to check it.
    """
    import hashlib

    from ..knowledge.loader import code_key
    from ..knowledge.reasoning import cache_dir
    from ..store import write_text

    path = cache_dir() / f"checked-{hashlib.sha256((code_key() + text).encode()).hexdigest()}"
    try:
        form = path.read_text(encoding="utf-8")
        if form in _FORM_NAMES.values():
            return form
    except OSError:
        pass
    form = _bounded(inspect_query, text, timeout)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(form, path)
    except (OSError, Cd38kgError):
        pass  # an unwritable cache only costs the next run the same check
    return form


def _bounded(job: Callable[[str], str], text: str, timeout: float) -> str:
    """``job(text)`` in a worker process stopped after ``timeout`` seconds."""
    from .workers import JobTimeout, WorkerPool

    with WorkerPool(job) as pool:
        try:
            return pool.run(text, timeout)
        except JobTimeout as err:
            raise QueryError(f"{err} (--timeout); narrow it down, add a LIMIT or allow more time") from None


def _listing(fmt: str) -> str:
    queries = list_queries()
    if fmt == "json":
        return json.dumps([q.to_json() for q in queries], indent=2, ensure_ascii=False) + "\n"
    if fmt in ("csv", "tsv"):
        rows = [(q.name, q.summary, " ".join(_param_usage(p) for p in q.params)) for q in queries]
        buffer = io.StringIO()
        csv.writer(buffer, delimiter="," if fmt == "csv" else "\t", lineterminator="\n").writerows(
            [("name", "question", "params"), *rows])
        return buffer.getvalue()
    lines = []
    for query in queries:
        lines.append(f"{query.name}: {query.summary}")
        lines += [f"    --param {_param_usage(p)}  {p.description}".rstrip() for p in query.params]
    return "\n".join(lines) + "\n"


def _param_usage(param: Param) -> str:
    value = f"default {param.default}" if param.default is not None else "optional"
    return f"{param.name}=<{param.type}> ({value})"


__all__ = [
    "DEFAULT_TIMEOUT", "MAX_QUERY_CHARS", "NATIVE_FORMATS", "Checked", "Column", "NamedQuery", "Param", "QueryError",
    "QueryRefused", "QueryResult", "QuerySyntaxError", "bind", "check_params", "check_length", "check_query", "execute",
    "inspect_query", "list_queries", "load_query", "parse_assignments", "query_command", "render", "run_named",
    "write_results",
]
