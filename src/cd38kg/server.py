"""``cd38kg serve``: a read-only SPARQL 1.1 Protocol endpoint over the knowledge base.

Routes:

* ``/sparql`` – the SPARQL 1.1 Protocol: ``GET ?query=``, ``POST`` URL-encoded
  (``query=``) or with the query as the body (``application/sparql-query``). Results are
  negotiated from ``Accept`` (or a ``format``/``output`` parameter): SPARQL JSON, XML, CSV
  and TSV for SELECT/ASK; Turtle, N-Triples and JSON-LD for CONSTRUCT/DESCRIBE.
* ``/query/NAME?param=value`` – a named query (``cd38kg query --list``) with its parameters.
* ``/queries`` – the named queries as JSON; ``/`` – a query editor that works offline.

Safety, because anything that can reach the port can send a query:

* read-only: SPARQL Update (INSERT, DELETE, LOAD, ...) is refused with 403, and so is
  ``SERVICE``, found in the parsed query before evaluation (both rdflib and Oxigraph would
  follow it to any URL), so the server never makes an outbound request;
* each query runs in a forked child process that is killed at the deadline (``--timeout``):
  neither engine can interrupt a running query, a process can be stopped;
* results are capped (``--max-rows``); a cut result says so in the ``X-Result-Truncated``
  header and, where the format allows, in a note;
* it binds 127.0.0.1 by default, answers only requests whose ``Host`` header names the
  address it is bound to (a DNS-rebinding defence) and sends CORS headers only for an
  origin given with ``--cors``.

Only the standard library's :mod:`http.server` is used.
"""

from __future__ import annotations

import json
import multiprocessing
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from .errors import Cd38kgError
from .queries import (
    GRAPH_FORMS,
    NamedQuery,
    QueryRefused,
    QueryResult,
    QuerySyntaxError,
    bind,
    execute,
    list_queries,
    render,
)
from .vocab import PREFIXES

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from rdflib import Dataset

    from .kb import KnowledgeBase

DEFAULT_PORT = 8038
MAX_BODY = 1 << 20
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})

#: Media types offered per kind of result, in order of preference, with the render format.
RESULT_MEDIA = {
    "application/sparql-results+json": "json", "application/json": "json",
    "application/sparql-results+xml": "xml", "application/xml": "xml", "text/xml": "xml",
    "text/csv": "csv", "text/tab-separated-values": "tsv",
}
GRAPH_MEDIA = {
    "text/turtle": "turtle", "application/x-turtle": "turtle", "application/turtle": "turtle",
    "application/n-triples": "nt", "text/plain": "nt",
    "application/ld+json": "json-ld", "application/json": "json-ld",
}
CONTENT_TYPES = {
    "json": "application/sparql-results+json", "xml": "application/sparql-results+xml", "csv": "text/csv",
    "tsv": "text/tab-separated-values", "turtle": "text/turtle", "nt": "application/n-triples",
    "json-ld": "application/ld+json",
}
#: Names accepted in the ``format`` / ``output`` / ``results`` parameters (SPARQLWrapper sends them).
FORMAT_ALIASES = {
    "json": "json", "xml": "xml", "csv": "csv", "tsv": "tsv", "turtle": "turtle", "ttl": "turtle",
    "nt": "nt", "ntriples": "nt", "n-triples": "nt", "json-ld": "json-ld", "jsonld": "json-ld",
}
FORMAT_PARAMS = ("format", "output", "results")
_PAGE_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
             "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


@dataclass(frozen=True)
class Settings:
    """How the server limits and exposes queries."""

    timeout: float = 10.0
    max_rows: int = 10_000
    cors_origin: str | None = None
    max_concurrent: int = 4
    quiet: bool = False


@dataclass(frozen=True)
class Reply:
    """An HTTP response, built in the query process and sent back to the server."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


def text_reply(status: int, message: str) -> Reply:
    """A plain-text response, used for every error so clients can show it as is."""
    return Reply(status, (message.rstrip("\n") + "\n").encode("utf-8"))


def negotiate(form: str, accept: str | None, requested: Sequence[str] = ()) -> str | None:
    """The render format for a query form: a recognised ``format`` parameter first, then
    ``Accept`` (with q-values and wildcards); None when nothing offered is acceptable."""
    graph = form in GRAPH_FORMS
    media = GRAPH_MEDIA if graph else RESULT_MEDIA
    offered = set(media.values())
    for value in requested:
        name = value.strip().lower()
        fmt = media.get(name) or FORMAT_ALIASES.get(name)
        if fmt == "json" and graph:
            fmt = "json-ld"
        if fmt in offered:
            return fmt
    default = "turtle" if graph else "json"
    if not accept or not accept.strip():
        return default
    ranges = []
    for position, item in enumerate(accept.split(",")):
        mime, *options = (part.strip() for part in item.split(";"))
        quality = 1.0
        for option in options:
            key, _, value = option.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if mime and quality > 0:
            ranges.append((-quality, position, mime.lower()))
    for _, _, mime in sorted(ranges):
        if mime in media:
            return media[mime]
        if mime == "*/*":
            return default
        if mime.endswith("/*"):
            major = mime[:-1]
            for candidate, fmt in media.items():
                if candidate.startswith(major):
                    return fmt
    return None


def answer(dataset: Dataset, text: str, accept: str | None, requested: Sequence[str], max_rows: int) -> Reply:
    """Check, run and serialise one query: the work done in the child process."""
    try:
        result = execute(dataset, text, max_rows=max_rows)
    except QueryRefused as err:
        return text_reply(403, str(err))
    except QuerySyntaxError as err:
        pointer = f"\n{err.text}\n{' ' * (err.column - 1)}^" if err.text else ""
        return text_reply(400, f"{err}{pointer}")
    except Cd38kgError as err:
        return text_reply(400, str(err))
    fmt = negotiate(result.form, accept, requested)
    if fmt is None:
        offered = GRAPH_MEDIA if result.form in GRAPH_FORMS else RESULT_MEDIA
        return text_reply(406, f"a {result.form} result cannot be sent as {accept!r}; "
                               f"acceptable types: {', '.join(offered)}")
    return _success(result, fmt, max_rows)


def _success(result: QueryResult, fmt: str, max_rows: int) -> Reply:
    headers: tuple[tuple[str, str], ...] = ()
    note = None
    if result.truncated:
        unit = "triples" if result.is_graph else "rows"
        note = f"result truncated: only the first {max_rows} {unit} are included (the server's --max-rows)"
        headers = (("X-Result-Truncated", "true"), ("X-Result-Limit", str(max_rows)))
    body = render(result, fmt, note).encode("utf-8")
    return Reply(200, body, f"{CONTENT_TYPES[fmt]}; charset=utf-8", headers)


def _child_main(job: Callable[[], Reply], sender: Connection) -> None:
    """Entry point of a query process: run the job and send its reply."""
    # Python-level handlers never run while the engine is busy, so let signals kill outright.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        reply = job()
    except Exception as err:  # any failure is this request's 500, not the server's
        reply = text_reply(500, f"internal error while answering the query: {type(err).__name__}: {err}")
    sender.send(reply)
    sender.close()


class SparqlServer(ThreadingHTTPServer):
    """The HTTP server: holds the dataset, the named queries and the limits."""

    daemon_threads = True

    def __init__(self, kb: KnowledgeBase, dataset: Dataset, host: str, port: int, settings: Settings,
                 allowed_hosts: Iterable[str] = ()) -> None:
        if "fork" not in multiprocessing.get_all_start_methods():
            raise Cd38kgError("cd38kg serve needs the 'fork' process start method (Linux or macOS)")
        if ":" in host:
            import socket

            self.address_family = socket.AF_INET6
        self.kb = kb
        self.dataset = dataset
        self.settings = settings
        self.named: dict[str, NamedQuery] = {query.name: query for query in list_queries()}
        self._context = multiprocessing.get_context("fork")
        self._slots = threading.BoundedSemaphore(settings.max_concurrent)
        self._start_lock = threading.Lock()
        self._warm_up()
        try:
            super().__init__((host, port), _Handler)
        except OSError as err:
            raise Cd38kgError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
        name = f"[{host}]" if ":" in host else host
        self.allowed_hosts = {name.lower(), *(h.lower() for h in allowed_hosts)}
        if host in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "::"):  # noqa: S104  (names, not a bind)
            self.allowed_hosts |= LOOPBACK_NAMES
        self.url = f"http://{name}:{self.server_port}/"
        self.page = _page(self)

    def _warm_up(self) -> None:
        """Import and exercise the parser, engine and serialisers once, before any fork.

        Children then start with everything loaded, and never need the import lock that
        another thread might hold at the moment of the fork.
        """
        for fmt in ("json", "xml", "csv", "tsv"):
            render(execute(self.dataset, "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1"), fmt)
        for fmt in ("turtle", "nt", "json-ld"):
            render(execute(self.dataset, "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 1"), fmt)

    def examples(self) -> list[dict[str, Any]]:
        """The named queries with their text bound to the defaults, for the page and /queries."""
        out = []
        for query in self.named.values():
            try:
                example = bind(query, self.kb, {})
            except Cd38kgError:
                example = query.text
            out.append({**query.to_json(), "text": query.text, "example": example, "url": f"/query/{query.name}"})
        return out

    def evaluate(self, text: str, accept: str | None, requested: Sequence[str]) -> Reply:
        """Answer a query in a child process, killed if it outlives the timeout."""
        settings = self.settings
        if not self._slots.acquire(timeout=settings.timeout):
            return text_reply(503, "the server is busy with other queries; try again shortly")
        try:
            receiver, sender = self._context.Pipe(duplex=False)
            job = _Job(self.dataset, text, accept, tuple(requested), settings.max_rows)
            process = self._context.Process(target=_child_main, args=(job, sender), daemon=True)
            with self._start_lock:
                process.start()
            sender.close()
            answered = False
            try:
                if not receiver.poll(settings.timeout):
                    return text_reply(503, f"query stopped: it ran longer than {settings.timeout:g} s "
                                           "(the server's --timeout); narrow it down or add a LIMIT")
                reply = receiver.recv()
                answered = True
                return reply
            except EOFError:
                return text_reply(500, "the query process ended without an answer")
            finally:
                receiver.close()
                if answered:
                    process.join(0.5)  # it exits right after answering
                if process.is_alive():
                    process.kill()
                process.join()
        finally:
            self._slots.release()


@dataclass(frozen=True)
class _Job:
    """A query to answer in the child: a callable so the child needs nothing else."""

    dataset: Any
    text: str
    accept: str | None
    requested: tuple[str, ...]
    max_rows: int

    def __call__(self) -> Reply:
        return answer(self.dataset, self.text, self.accept, self.requested, self.max_rows)


class _Handler(BaseHTTPRequestHandler):
    """Routes requests; every query goes through :meth:`SparqlServer.evaluate`."""

    server: SparqlServer
    server_version = "cd38kg"

    # -- HTTP methods ----------------------------------------------------------------------

    def do_GET(self) -> None:
        if not self._host_ok():
            return
        url = urlsplit(self.path)
        params = parse_qs(url.query, keep_blank_values=True)
        if url.path == "/":
            self._send(Reply(200, self.server.page, "text/html; charset=utf-8",
                             (("Content-Security-Policy", _PAGE_CSP),)))
        elif url.path == "/sparql":
            self._protocol(params, None)
        elif url.path == "/queries":
            body = json.dumps(self.server.examples(), indent=1, ensure_ascii=False).encode("utf-8")
            self._send(Reply(200, body, "application/json; charset=utf-8"))
        elif url.path.startswith("/query/"):
            self._named(unquote(url.path[len("/query/"):]), params)
        else:
            self._send(text_reply(404, f"no such page: {url.path}; the endpoint is /sparql, the editor is /"))

    def do_POST(self) -> None:
        if not self._host_ok():
            return
        url = urlsplit(self.path)
        if url.path != "/sparql":
            self._send(text_reply(405 if url.path in ("/", "/queries") or url.path.startswith("/query/") else 404,
                                  "POST is accepted at /sparql only"))
            return
        body = self._body()
        if body is None:
            return
        params = parse_qs(url.query, keep_blank_values=True)
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type == "application/x-www-form-urlencoded":
            try:
                form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
            except UnicodeDecodeError:
                self._send(text_reply(400, "the form body is not UTF-8"))
                return
            for key, values in form.items():
                params.setdefault(key, []).extend(values)
            self._protocol(params, None)
        elif content_type == "application/sparql-query":
            try:
                self._protocol(params, body.decode("utf-8"))
            except UnicodeDecodeError:
                self._send(text_reply(400, "the query is not UTF-8 text"))
        elif content_type == "application/sparql-update":
            self._send(text_reply(403, "this endpoint is read-only: SPARQL Update is not accepted"))
        else:
            self._send(text_reply(415, f"unsupported Content-Type {content_type or '(none)'!r}; send "
                                       "application/sparql-query or application/x-www-form-urlencoded"))

    def do_OPTIONS(self) -> None:
        if not self._host_ok():
            return
        headers = [("Allow", "GET, POST, OPTIONS")]
        if self.server.settings.cors_origin:
            headers += [("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
                        ("Access-Control-Allow-Headers", "Content-Type, Accept"),
                        ("Access-Control-Max-Age", "600")]
        self._send(Reply(204, b"", headers=tuple(headers)))

    def _refuse_method(self) -> None:
        if self._host_ok():
            self._send(Reply(405, b"this endpoint is read-only; use GET or POST\n",
                             headers=(("Allow", "GET, POST, OPTIONS"),)))

    do_PUT = do_DELETE = do_PATCH = _refuse_method

    # -- the SPARQL protocol ------------------------------------------------------------------

    def _protocol(self, params: dict[str, list[str]], direct: str | None) -> None:
        if "update" in params:
            self._send(text_reply(403, "this endpoint is read-only: SPARQL Update is not accepted"))
            return
        if "default-graph-uri" in params or "named-graph-uri" in params:
            self._send(text_reply(400, "default-graph-uri and named-graph-uri are not supported; the default graph "
                                       "is the union of all graphs, select one with GRAPH <...> { ... }"))
            return
        queries = [direct] if direct is not None else params.get("query", [])
        if len(queries) != 1:
            self._send(text_reply(400, "send exactly one query: a 'query' parameter, or the query as the body of "
                                       "a POST with Content-Type application/sparql-query"))
            return
        requested = [value for key in FORMAT_PARAMS for value in params.get(key, [])]
        self._send(self.server.evaluate(queries[0], self.headers.get("Accept"), requested))

    def _named(self, name: str, params: dict[str, list[str]]) -> None:
        query = self.server.named.get(name)
        if query is None:
            self._send(text_reply(404, f"unknown query {name!r}; the named queries are: "
                                       f"{', '.join(self.server.named)}"))
            return
        requested = [value for key in FORMAT_PARAMS for value in params.pop(key, [])]
        repeated = [key for key, values in params.items() if len(values) > 1]
        if repeated:
            self._send(text_reply(400, f"parameter {repeated[0]!r} given more than once"))
            return
        try:
            text = bind(query, self.server.kb, {key: values[0] for key, values in params.items()})
        except Cd38kgError as err:
            self._send(text_reply(400, str(err)))
            return
        self._send(self.server.evaluate(text, self.headers.get("Accept"), requested))

    # -- plumbing -------------------------------------------------------------------------------

    def _host_ok(self) -> bool:
        """Only requests addressed to the bound name are answered (defence against DNS rebinding)."""
        host = (self.headers.get("Host") or "").strip().lower()
        if not host:
            self._send(text_reply(400, "the request has no Host header"))
            return False
        if host.startswith("["):
            name, _, rest = host.partition("]")
            name, port = name + "]", rest.removeprefix(":")
        else:
            name, _, port = host.partition(":")
        if name not in self.server.allowed_hosts or (port and port != str(self.server.server_port)):
            self._send(text_reply(421, f"this server does not answer for host {host!r}; "
                                       f"use {self.server.url} (or start it with --allow-host)"))
            return False
        return True

    def _body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._send(text_reply(400, "bad Content-Length"))
            return None
        if length < 0 or length > MAX_BODY:
            self._send(text_reply(413, f"the request body is limited to {MAX_BODY} bytes"))
            return None
        return self.rfile.read(length)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        for key, value in reply.headers:
            self.send_header(key, value)
        origin = self.server.settings.cors_origin
        if origin:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Expose-Headers", "X-Result-Truncated, X-Result-Limit")
            self.send_header("Vary", "Origin")
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.settings.quiet:
            super().log_message(format, *args)


def make_server(kb: KnowledgeBase, dataset: Dataset, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                settings: Settings | None = None, allowed_hosts: Iterable[str] = ()) -> SparqlServer:
    """A ready-to-run server (call ``serve_forever``); port 0 picks a free port (see ``.url``)."""
    return SparqlServer(kb, dataset, host, port, settings or Settings(), allowed_hosts)


def serve(extras: Sequence[str] = (), host: str = "127.0.0.1", port: int = DEFAULT_PORT, timeout: float = 10.0,
          max_rows: int = 10_000, cors: str | None = None, allowed_hosts: Sequence[str] = ()) -> None:
    """Load the knowledge base and serve it until interrupted (``cd38kg serve``)."""
    if timeout <= 0 or max_rows <= 0:
        raise Cd38kgError("--timeout and --max-rows must be positive")
    from .kb import KnowledgeBase

    kb = KnowledgeBase.load(extras=extras)
    server = make_server(kb, kb.sparql_dataset(), host, port,
                         Settings(timeout=timeout, max_rows=max_rows, cors_origin=cors), allowed_hosts)
    print(f"cd38kg: SPARQL endpoint at {server.url}sparql, query editor at {server.url} "
          f"(timeout {timeout:g} s, at most {max_rows} rows); Ctrl+C stops it", file=sys.stderr, flush=True)
    # SIGTERM stops the server like Ctrl+C, so running query processes are ended with it.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _page(server: SparqlServer) -> bytes:
    """The query editor: one self-contained HTML page (inline CSS and JS, no external resources)."""
    data = json.dumps({"queries": server.examples(), "prefixes": PREFIXES}, ensure_ascii=False)
    return _PAGE.replace("__DATA__", data.replace("</", "<\\/")).encode("utf-8")


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cd38kg SPARQL</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 .3em; }
textarea { width: 100%; height: 22em; font: 13px/1.35 ui-monospace, monospace; box-sizing: border-box; }
#bar { margin: .5em 0; display: flex; gap: .6em; align-items: center; flex-wrap: wrap; }
#question { color: #444; margin: .4em 0; }
#status { color: #555; }
#status.error, pre.error { color: #a00; }
table { border-collapse: collapse; margin-top: .5em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; vertical-align: top; text-align: left; }
th { background: #f2f2f2; position: sticky; top: 0; }
td { max-width: 32em; overflow-wrap: break-word; }
#results { overflow-x: auto; }
pre { white-space: pre-wrap; background: #f8f8f8; padding: .5em; }
code { background: #f2f2f2; padding: 0 3px; }
</style>
</head>
<body>
<h1>cd38kg knowledge graph: SPARQL</h1>
<p>Endpoint: <code id="endpoint"></code> (SPARQL 1.1 Protocol, read-only). Prefixes such as
<code>cd38:</code>, <code>kb:</code> and <code>rdfs:</code> are predeclared; the default graph is the
union of all graphs.</p>
<div id="bar">
  <label>Example: <select id="examples"><option value="">(choose a named query)</option></select></label>
  <button id="run" title="Ctrl+Enter">Run</button>
  <label>Download as <select id="download">
    <option value="">…</option><option>json</option><option>xml</option><option>csv</option><option>tsv</option>
    <option>turtle</option><option>nt</option><option>json-ld</option></select></label>
  <span id="status"></span>
</div>
<div id="question"></div>
<textarea id="editor" spellcheck="false">SELECT ?antibody ?label WHERE {
  ?antibody a cd38:AntiCD38Antibody ; rdfs:label ?label .
}</textarea>
<div id="results"></div>
<script>
"use strict";
const DATA = __DATA__;
const $ = (id) => document.getElementById(id);
$("endpoint").textContent = new URL("sparql", location.href).href;
for (const q of DATA.queries) {
  const option = document.createElement("option");
  option.value = q.name;
  option.textContent = q.name;
  $("examples").appendChild(option);
}
$("examples").addEventListener("change", () => {
  const q = DATA.queries.find((x) => x.name === $("examples").value);
  $("question").textContent = "";
  if (!q) return;
  $("editor").value = q.example;
  const text = document.createElement("span");
  text.textContent = q.question + " ";
  $("question").appendChild(text);
  const link = document.createElement("a");
  link.href = q.url;
  link.textContent = q.url;
  $("question").appendChild(link);
  if (q.params.length) {
    const params = document.createElement("div");
    params.textContent = "Parameters: " + q.params.map((p) =>
      p.name + " (" + p.type + (p.default === null ? ", optional" : ", default " + p.default) + ")").join("; ");
    $("question").appendChild(params);
  }
});
function short(iri) {
  for (const [prefix, base] of Object.entries(DATA.prefixes)) {
    if (iri.startsWith(base)) return prefix + ":" + iri.slice(base.length);
  }
  return iri;
}
function cell(term) {
  const td = document.createElement("td");
  if (!term) return td;
  if (term.type === "uri") {
    td.textContent = short(term.value);
    td.title = term.value;
  } else {
    td.textContent = term.value;
  }
  return td;
}
function showTable(doc) {
  const out = $("results");
  if ("boolean" in doc) {
    out.textContent = "Answer: " + doc.boolean;
    return;
  }
  const table = document.createElement("table");
  const head = document.createElement("tr");
  for (const v of doc.head.vars) {
    const th = document.createElement("th");
    th.textContent = v;
    head.appendChild(th);
  }
  table.appendChild(head);
  for (const row of doc.results.bindings) {
    const tr = document.createElement("tr");
    for (const v of doc.head.vars) tr.appendChild(cell(row[v]));
    table.appendChild(tr);
  }
  out.appendChild(table);
}
async function run() {
  const started = performance.now();
  $("status").className = "";
  $("status").textContent = "running…";
  $("results").textContent = "";
  let response;
  try {
    response = await fetch("sparql", {
      method: "POST",
      headers: {"Content-Type": "application/sparql-query",
                "Accept": "application/sparql-results+json, text/turtle;q=0.9"},
      body: $("editor").value,
    });
  } catch (err) {
    $("status").className = "error";
    $("status").textContent = "request failed: " + err;
    return;
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const body = await response.text();
  if (!response.ok) {
    $("status").className = "error";
    $("status").textContent = "HTTP " + response.status + " after " + seconds + " s";
    const pre = document.createElement("pre");
    pre.className = "error";
    pre.textContent = body;
    $("results").appendChild(pre);
    return;
  }
  const truncated = response.headers.get("X-Result-Truncated") ? " (truncated to "
    + response.headers.get("X-Result-Limit") + " rows)" : "";
  if ((response.headers.get("Content-Type") || "").includes("json")) {
    const doc = JSON.parse(body);
    const count = doc.results ? doc.results.bindings.length + " rows" : "answer";
    $("status").textContent = count + " in " + seconds + " s" + truncated;
    showTable(doc);
  } else {
    $("status").textContent = "graph in " + seconds + " s" + truncated;
    const pre = document.createElement("pre");
    pre.textContent = body;
    $("results").appendChild(pre);
  }
}
$("run").addEventListener("click", run);
$("editor").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) run();
});
$("download").addEventListener("change", () => {
  const fmt = $("download").value;
  $("download").value = "";
  if (!fmt) return;
  const url = new URL("sparql", location.href);
  url.searchParams.set("query", $("editor").value);
  url.searchParams.set("format", fmt);
  window.open(url.href, "_blank");
});
</script>
</body>
</html>
"""
