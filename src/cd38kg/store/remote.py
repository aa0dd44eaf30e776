"""Any SPARQL 1.1 endpoint (``--endpoint URL``): a lab's Oxigraph or Virtuoso server.

The engine never pulls a whole remote graph. A named query or ``.rq`` file that does not
read the engine's derived strategies runs on the server itself (:meth:`RemoteStore.solutions`,
:meth:`RemoteStore.triples`), after only the entities its parameters name are fetched to
resolve them (``names_only``), unless the server is one whose answers are known to be wrong
(:attr:`RemoteStore.evaluates_faithfully`). Otherwise the engine fetches the part its questions can reach
(:mod:`.neighbourhood`): for one question (``focus``: the names it is about, as ``explain``
gives them) the forward neighbourhood of those entities within the path limit; otherwise the
neighbourhood of every anti-CD38 antibody, resistance and mechanism of action. With the
findings about those nodes, their sources and the vocabulary fact selection reads, that copy
goes into a local in-memory Oxigraph store and is the knowledge base for the rest of the
process. Quads are fetched with ``SELECT ?g ?s ?p ?o`` rather than ``CONSTRUCT`` so the named
graphs (curated, asserted, inferred) keep their names.

Servers fail in ways that look like success; each becomes a one-line error:

* Virtuoso cuts answers at ``ResultSetMaxRows`` (10,000 by default) without saying so in
  the body; the ``X-SPARQL-MaxRows`` header gives it away.
* Virtuoso answers a query stopped at its time limit with 200 and partial results,
  flagged by ``X-SQL-State: S1TAT``.
* Virtuoso refuses updates (and other forbidden work) with HTTP 500.
* Oxigraph's server answers a query cancelled mid-stream with 200 and an error message
  where the rest of the results should be: the body does not parse.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import Cd38kgError
from ..progress import step
from ..vocab import CURATED_GRAPH, ONTOLOGY_IRI, OWL
from .base import Manifest, memory_copy_with
from .neighbourhood import fetch_for_every_question, fetch_for_question, fetch_named

if TYPE_CHECKING:
    import pyoxigraph

#: Seconds one request may take (``CD38KG_ENDPOINT_TIMEOUT``).
DEFAULT_TIMEOUT = 60.0
#: Steps from the seeds: the longest path the engine searches (``ScoringWeights.max_path_length``).
DEFAULT_HOPS = 5
_RESULTS_JSON = "application/sparql-results+json"
#: RDF syntaxes a graph query's answer is read in, by media type: rdflib's parser names.
RDF_MEDIA_TYPES = {"application/n-triples": "nt", "text/plain": "nt", "text/turtle": "turtle",
                   "application/rdf+xml": "xml"}
_GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.8, application/rdf+xml;q=0.5"


class EndpointError(Cd38kgError):
    """The endpoint could not be reached or gave an answer that cannot be trusted."""


class RemoteStore:
    """A SPARQL 1.1 endpoint, read through a local copy of the neighbourhood the engine needs."""

    name = "remote"
    loads_inputs = False
    fills_on_demand = False

    def __init__(self, location: str | None = None, hops: int = DEFAULT_HOPS, focus: Sequence[str] = (),
                 names_only: bool = False) -> None:
        if not location:
            raise Cd38kgError("the remote store needs an endpoint: give --endpoint URL (or set CD38KG_ENDPOINT)")
        parsed = urllib.parse.urlsplit(location)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise Cd38kgError(f"--endpoint {location!r}: give an http:// or https:// URL of a SPARQL endpoint")
        self.url = location
        self.hops = hops
        #: the names one question is about: only their forward neighbourhood is fetched
        self.focus = tuple(focus)
        #: fetch only the entities ``focus`` names: a query run by the server needs no more
        self.names_only = names_only
        value = os.environ.get("CD38KG_ENDPOINT_TIMEOUT", str(DEFAULT_TIMEOUT))
        try:
            self.timeout = float(value)
        except ValueError:
            raise Cd38kgError(f"CD38KG_ENDPOINT_TIMEOUT={value!r} is not a number of seconds") from None
        self._store: pyoxigraph.Store | None = None
        self._manifest: Manifest | None = None
        #: what the server calls itself (its ``Server`` header), once it has answered
        self.server = ""
        self._blank_prefix = 0

    @property
    def oxigraph(self) -> pyoxigraph.Store:
        if self._store is None:
            self.holding("")
        assert self._store is not None  # noqa: S101  (holding fills it)
        return self._store

    def holding(self, key: str) -> Manifest | None:
        """Fetch the neighbourhood once per process; the manifest's key fingerprints what came back."""
        if self._manifest is None:
            import pyoxigraph

            self._check_holds_knowledge_base()
            self._store = pyoxigraph.Store()
            if self.names_only:
                with step(f"Finding {', '.join(self.focus) or 'no names'} on {self.url}"):
                    fetch_named(self, self._store, self.focus)
            elif self.focus:
                with step(f"Fetching the neighbourhood of {', '.join(self.focus)} from {self.url}"):
                    fetch_for_question(self, self._store, self.focus, self.hops)
            else:
                with step(f"Fetching the knowledge base's neighbourhood from {self.url}"):
                    fetch_for_every_question(self, self._store, self.hops)
            self._manifest = Manifest(key=_content_key(self._store))
        return self._manifest

    def _check_holds_knowledge_base(self) -> None:
        """Refuse a server holding no cd38kg knowledge base (its curated graph with the ontology):
        every name would be unknown and every query would find nothing, as if that were the answer."""
        if not self.select(f"SELECT ?type WHERE {{ GRAPH <{CURATED_GRAPH}> {{ <{ONTOLOGY_IRI}> a ?type }} "
                           f"FILTER(?type = <{OWL.Ontology}>) }} LIMIT 1"):
            raise EndpointError(f"the endpoint {self.url} holds no cd38kg knowledge base (no graph <{CURATED_GRAPH}> "
                                "with the ontology): load one into it first (README: pointing at a lab's server)")

    def begin(self) -> pyoxigraph.Store:
        raise Cd38kgError("an endpoint's knowledge base is loaded on its server, not by cd38kg")

    def commit(self, manifest: Manifest) -> None:
        raise Cd38kgError("an endpoint's knowledge base is loaded on its server, not by cd38kg")

    def describe(self) -> str:
        return self.url

    @property
    def evaluates_faithfully(self) -> bool:
        """False for a server whose own SPARQL answers are known to be wrong, so queries are run
        here over a fetched copy instead: Virtuoso (07.20) drops rows of property-path and
        ``VALUES`` joins (none of 5 class-level effects of pomalidomide in
        ``drug-effects-on-cells``, 1 of 7 rows of ``resistance-mechanisms``) and fails to compile
        ``class-members`` (SQ156), where Oxigraph answers as the in-memory engine does."""
        return not self.server.lower().startswith("virtuoso")

    def naming(self, names: Sequence[str]) -> RemoteStore:
        """The same endpoint, its local copy to hold only the entities ``names`` may mean: what a
        query the server runs needs to resolve its parameters."""
        return RemoteStore(self.url, self.hops, names, names_only=True)

    def copy_with(self, ntriples: bytes, graph: str) -> pyoxigraph.Store:
        return memory_copy_with(self.oxigraph, ntriples, graph)

    def quads(self, query: str) -> Iterator[Any]:
        """Quads from a ``?g ?s ?p ?o [?p2 ?o2]`` SELECT (the optional pair describes a blank object)."""
        import pyoxigraph as ox

        self._blank_prefix += 1
        rows = self.select(query, terms=True)
        for row in rows:
            graph = row["g"]
            yield ox.Quad(row["s"], row["p"], row["o"], graph)
            if "p2" in row:
                yield ox.Quad(row["o"], row["p2"], row["o2"], graph)

    # -- the protocol ---------------------------------------------------------------------

    def select(self, query: str, terms: bool = False) -> list[dict[str, Any]]:
        """Rows of a SELECT: plain strings, or pyoxigraph terms when ``terms``."""
        bindings = check_answer(self.url, *self._post(query, _RESULTS_JSON))["results"]["bindings"]
        if not terms:
            return [{name: cell["value"] for name, cell in binding.items()} for binding in bindings]
        iris: dict[str, Any] = {}  # an answer names the same graphs, predicates and hubs again and again
        prefix = f"r{self._blank_prefix}x"

        def term(cell: dict[str, str]) -> Any:
            if cell.get("type") != "uri":
                return result_term(cell, prefix)
            iri = iris.get(cell["value"])
            if iri is None:
                iri = iris[cell["value"]] = result_term(cell, prefix)
            return iri

        return [{name: term(cell) for name, cell in binding.items()} for binding in bindings]

    def solutions(self, query: str, graphs: Sequence[str], timeout: float) -> dict[str, Any]:
        """A SELECT or ASK run by the server itself over the dataset ``graphs`` (the default graph
        their merge, the named graphs them): its SPARQL JSON results, checked.

        The dataset is given in the protocol (``default-graph-uri``, ``named-graph-uri``), so the
        query sees what cd38kg loaded and not a server's own graphs (Virtuoso's system graphs)."""
        return check_answer(self.url, *self._post(query, _RESULTS_JSON, graphs, timeout))

    def triples(self, query: str, graphs: Sequence[str], timeout: float) -> list[tuple[Any, Any, Any]]:
        """A CONSTRUCT or DESCRIBE run by the server over ``graphs``: its triples, as rdflib terms."""
        from rdflib import Graph

        data, headers = self._post(query, _GRAPH_ACCEPT, graphs, timeout)
        _check_state(self.url, headers)
        kind = _media_type(headers)
        if kind not in RDF_MEDIA_TYPES:
            raise EndpointError(f"the endpoint {self.url} sent {kind or 'no content type'} for a graph query, "
                                f"not one of {', '.join(RDF_MEDIA_TYPES)}")
        graph = Graph()
        try:
            graph.parse(data=data, format=RDF_MEDIA_TYPES[kind])
        except Exception as err:  # noqa: BLE001  (rdflib's parsers raise many kinds)
            raise EndpointError(f"the endpoint {self.url} broke off its answer (a cancelled or failed query "
                                f"answered with status 200): {(str(err) or type(err).__name__).splitlines()[0][:200]}") from None
        _check_cap(self.url, headers, len(graph))
        return list(graph)

    def _post(self, query: str, accept: str, graphs: Sequence[str] = (),
              timeout: float | None = None) -> tuple[bytes, Any]:
        fields = [("query", query), *(("default-graph-uri", g) for g in graphs),
                  *(("named-graph-uri", g) for g in graphs)]
        body = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(self.url, data=body, method="POST", headers={  # noqa: S310
            "Accept": accept, "Content-Type": "application/x-www-form-urlencoded"})
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout  # the socket's timeout bounds each read, not the answer
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                self.server = response.headers.get("Server") or ""
                chunks = []
                while chunk := response.read1(1 << 16):  # what has come, not 64 KiB or the end
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise TimeoutError
                return b"".join(chunks), response.headers
        except urllib.error.HTTPError as err:
            raise EndpointError(_http_error(self.url, err)) from None
        except TimeoutError:
            raise EndpointError(f"the endpoint {self.url} did not answer within {timeout:g} s "
                                "(a query's --timeout, or CD38KG_ENDPOINT_TIMEOUT for fetches, allows more)") from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise EndpointError(f"cannot reach the SPARQL endpoint {self.url}: {reason}") from None


def check_answer(url: str, data: bytes, headers: Any) -> dict[str, Any]:
    """The SPARQL JSON results in a 200 answer (rows, or an ASK's boolean), or the reason they
    cannot be trusted."""
    _check_state(url, headers)
    kind = _media_type(headers)
    if kind != _RESULTS_JSON and not kind.endswith("+json") and kind != "application/json":
        raise EndpointError(f"{url} does not answer like a SPARQL endpoint (it sent {kind or 'no content type'}, "
                            f"not {_RESULTS_JSON}); give the URL of its query service, e.g. .../sparql or .../query")
    try:
        document = json.loads(data.decode("utf-8"))
        rows = [] if isinstance(document.get("boolean"), bool) else document["results"]["bindings"]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        tail = data.decode("utf-8", "replace").strip().splitlines()[-1:] or ["an empty answer"]
        raise EndpointError(f"the endpoint {url} broke off its answer (a cancelled or failed query answered "
                            f"with status 200): {tail[0][-200:]}") from None
    _check_cap(url, headers, len(rows))
    return document


def _check_cap(url: str, headers: Any, count: int) -> None:
    """Refuse an answer as long as the server's silent row cap (Virtuoso's ``X-SPARQL-MaxRows``)."""
    cap = (headers.get("X-SPARQL-MaxRows") or "").strip()
    if cap.isdigit() and count >= int(cap):
        raise EndpointError(f"the endpoint {url} cut the answer at {cap} rows (Virtuoso's ResultSetMaxRows); "
                            "raise ResultSetMaxRows in virtuoso.ini")


def _check_state(url: str, headers: Any) -> None:
    """Refuse an answer the server flags as partial (Virtuoso's time limit) or capped."""
    if (headers.get("X-SQL-State") or "").strip().upper() == "S1TAT":
        raise EndpointError(f"the endpoint {url} stopped the query at its time limit and sent partial results "
                            "(Virtuoso's X-SQL-State S1TAT); raise MaxQueryExecutionTime in virtuoso.ini")


def _media_type(headers: Any) -> str:
    return (headers.get("Content-Type") or "").split(";")[0].strip().lower()

def _http_error(url: str, err: urllib.error.HTTPError) -> str:
    text = err.read().decode("utf-8", "replace").strip() if err.fp else ""
    first = next((line.strip() for line in text.splitlines() if line.strip()), err.reason or "")
    if err.code == 500 and ("SR186" in text or "permission" in text.lower()):
        return f"the endpoint {url} refused the request (HTTP 500, no permission; Virtuoso answers so for updates): {first}"
    return f"the endpoint {url} answered HTTP {err.code}: {first[:200]}"


def result_term(cell: dict[str, str], blank_prefix: str = "r") -> Any:
    """One SPARQL JSON result cell as a pyoxigraph term (blank nodes made unique per answer)."""
    import pyoxigraph as ox

    kind, value = cell.get("type"), cell.get("value", "")
    if kind == "uri":
        return ox.NamedNode(value)
    if kind == "bnode":
        return ox.BlankNode(blank_prefix + "".join(c for c in value if c.isalnum()))
    if "xml:lang" in cell:
        return ox.Literal(value, language=cell["xml:lang"])
    datatype = cell.get("datatype")
    return ox.Literal(value, datatype=ox.NamedNode(datatype) if datatype else None)


def _content_key(store: pyoxigraph.Store) -> str:
    """A fingerprint of what was fetched (blank-node labels aside), for the caches keyed by content."""
    lines = sorted(str(q) for q in store.quads_for_pattern(None, None, None, None)
                   if "BlankNode" not in (type(q.subject).__name__, type(q.object).__name__))
    digest = hashlib.sha256(f"remote:{len(lines)}\n".encode())
    for line in lines:
        digest.update(line.encode() + b"\n")
    return digest.hexdigest()
