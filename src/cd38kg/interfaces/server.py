"""``cd38kg serve``: a read-only SPARQL 1.1 Protocol endpoint over the knowledge base.

Routes:

* ``/sparql`` – the SPARQL 1.1 Protocol: ``GET ?query=``, ``POST`` URL-encoded
  (``query=``) or with the query as the body (``application/sparql-query``). Results are
  negotiated from ``Accept`` (or a ``format``/``output`` parameter): SPARQL JSON, XML, CSV
  and TSV for SELECT/ASK; Turtle, N-Triples, JSON-LD and RDF/XML for CONSTRUCT/DESCRIBE.
* ``/query/NAME?param=value`` – a named query (``cd38kg query --list``) with its parameters.
* ``/queries`` – the named queries as JSON; ``/`` – a query editor that works offline.

Safety, because anything that can reach the port can send a query:

* read-only: SPARQL Update (INSERT, DELETE, LOAD, ...) is refused with 403, and so is
  ``SERVICE``, found in the parsed query before evaluation (both rdflib and Oxigraph would
  follow it to any URL), so the server never makes an outbound request;
* queries are checked and run by ``--max-concurrent`` warm worker processes
  (:mod:`cd38kg.interfaces.workers`); one that outlives ``--timeout`` is killed and replaced, since
  neither engine can interrupt a running query. Named queries are checked once, at start;
* each request is read whole, without a thread, before it is handled: a client that
  stalls costs a buffer until ``request_timeout`` (then 408), a body shorter than its
  ``Content-Length`` is refused (400), and a small pool of threads handles complete
  requests only. An HTTP/1.1 connection is kept open between requests (idle, it goes back
  to the reader and is closed after ``request_timeout``), so a client that sends many
  queries does not pay a TCP handshake each. Results are capped (``--max-rows``, said in
  ``X-Result-Truncated``);
* it binds 127.0.0.1 by default, answers only requests whose ``Host`` header names the
  address it is bound to (a DNS-rebinding defence) and sends CORS headers only for an
  origin given with ``--cors``. There is no authentication: put a reverse proxy in front
  to share it (README). Errors are logged as one line each, never as a traceback.

Only the standard library's :mod:`http.server` and :mod:`selectors` are used.
"""

from __future__ import annotations

import io
import ipaddress
import json
import re
import selectors
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import parse_qs, unquote, urlsplit

from ..errors import Cd38kgError
from ..vocab import PREFIXES
from .queries import (
    GRAPH_FORMS,
    NATIVE_FORMATS,
    Checked,
    NamedQuery,
    QueryError,
    QueryRefused,
    QueryResult,
    QuerySyntaxError,
    bind,
    check_length,
    check_query,
    execute,
    list_queries,
    render,
    write_results,
)
from .workers import JobTimeout, PoolBusy, WorkerFailed, WorkerPool

if TYPE_CHECKING:
    from rdflib import Dataset

    from ..kb import KnowledgeBase
    from ..store.base import KnowledgeStore

DEFAULT_PORT = 8038
MAX_BODY = 1 << 20
MAX_HEAD = 1 << 16
#: After refusing a request that is still arriving, read and drop what the client goes on
#: sending for at most this long (and this many bytes) before closing: closing with unread
#: data makes the kernel reset the connection, and the client may never see the answer.
DRAIN_SECONDS = 2.0
DRAIN_BYTES = 8 * MAX_BODY
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
_HEAD_END = re.compile(rb"\r?\n\r?\n")

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
    "application/rdf+xml": "xml",
}
RESULT_TYPES = {
    "json": "application/sparql-results+json", "xml": "application/sparql-results+xml", "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
GRAPH_TYPES = {"turtle": "text/turtle", "nt": "application/n-triples", "json-ld": "application/ld+json",
               "xml": "application/rdf+xml"}
#: Names accepted in the ``format`` / ``output`` / ``results`` parameters (SPARQLWrapper sends them).
FORMAT_ALIASES = {
    "json": "json", "xml": "xml", "csv": "csv", "tsv": "tsv", "turtle": "turtle", "ttl": "turtle",
    "nt": "nt", "ntriples": "nt", "n-triples": "nt", "json-ld": "json-ld", "jsonld": "json-ld",
    "rdf+xml": "xml", "rdfxml": "xml", "rdf/xml": "xml",
}
FORMAT_PARAMS = ("format", "output", "results")
_PAGE_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
             "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


@dataclass(frozen=True)
class Settings:
    """How the server limits and exposes queries.

    ``max_concurrent`` worker processes evaluate queries; a query waits up to ``timeout``
    for one, then runs at most ``timeout`` seconds. A client has ``request_timeout``
    seconds to send its whole request; at most ``max_connections`` are open at once. After
    an answer, a handler thread waits ``linger`` seconds for the next request on the
    connection before handing it back to the reader.
    """

    timeout: float = 10.0
    max_rows: int = 10_000
    cors_origin: str | None = None
    max_concurrent: int = 4
    quiet: bool = False
    request_timeout: float = 10.0
    max_connections: int = 512
    handler_threads: int = 16
    linger: float = 0.005


@dataclass(frozen=True)
class Reply:
    """An HTTP response, built in a worker process or by the server."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Ask:
    """One query for a worker: its text, how the answer is wanted, and what checking it found, if already checked."""

    text: str
    accept: str | None
    requested: tuple[str, ...]
    max_rows: int
    checked: Checked | None = None


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


def answer(dataset: Dataset, ask: Ask) -> Reply:
    """Check, run and serialise one query: the work done in a worker process.

    The solutions of a SELECT whose LIMIT is within ``max_rows``, wanted as SPARQL JSON or
    XML, are written by the engine itself; any other answer is read row by row, up to the cap.
    """
    try:
        checked = ask.checked or check_query(ask.text)
        fmt = negotiate(checked.form, ask.accept, ask.requested)
        if fmt is None:
            offered = GRAPH_MEDIA if checked.form in GRAPH_FORMS else RESULT_MEDIA
            return text_reply(406, f"a {checked.form} result cannot be sent as {ask.accept!r}; "
                                   f"acceptable types: {', '.join(offered)}")
        if fmt in NATIVE_FORMATS and checked.fits(ask.max_rows):
            return Reply(200, write_results(dataset, ask.text, fmt), f"{RESULT_TYPES[fmt]}; charset=utf-8")
        result = execute(dataset, ask.text, max_rows=ask.max_rows, form=checked.form)
    except QueryRefused as err:
        return text_reply(403, str(err))
    except QuerySyntaxError as err:
        pointer = f"\n{err.text}\n{' ' * (err.column - 1)}^" if err.text else ""
        return text_reply(400, f"{err}{pointer}")
    except Cd38kgError as err:
        return text_reply(400, str(err))
    try:
        return _success(result, fmt, ask.max_rows)
    except QueryError as err:  # e.g. a graph RDF/XML cannot express
        return text_reply(406, str(err))


def _success(result: QueryResult, fmt: str, max_rows: int) -> Reply:
    headers: tuple[tuple[str, str], ...] = ()
    note = None
    if result.truncated:
        unit = "triples" if result.is_graph else "rows"
        note = f"result truncated: only the first {max_rows} {unit} are included (the server's --max-rows)"
        headers = (("X-Result-Truncated", "true"), ("X-Result-Limit", str(max_rows)))
    body = render(result, fmt, note).encode("utf-8")
    content_type = (GRAPH_TYPES if result.is_graph else RESULT_TYPES)[fmt]
    return Reply(200, body, f"{content_type}; charset=utf-8", headers)


def is_loopback(host: str) -> bool:
    """Whether an address to listen on is reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class SparqlServer(HTTPServer):
    """The HTTP server: holds the dataset, the named queries, the query workers and the limits."""

    request_queue_size = 128  # the listen backlog: bursts of clients wait instead of being reset

    def __init__(self, kb: KnowledgeBase, dataset: Dataset, host: str, port: int, settings: Settings,
                 allowed_hosts: Iterable[str] = (), log: TextIO | None = None) -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        if settings.max_concurrent < 1 or settings.timeout <= 0 or settings.max_rows < 1:
            raise Cd38kgError("--max-concurrent, --timeout and --max-rows must be positive")
        self.kb = kb
        self.dataset = dataset
        self.settings = settings
        self.log = log or sys.stderr
        self.named: dict[str, NamedQuery] = {query.name: query for query in list_queries()}
        # Named queries are checked once here; requests only add a generated VALUES clause.
        self.named_checks = {name: check_query(query.text) for name, query in self.named.items()}
        self._warm_up()
        # Forked before the port is opened, so the workers do not hold the listening socket.
        self.workers: WorkerPool[Ask, Reply] = WorkerPool(partial(answer, dataset), size=settings.max_concurrent)
        self._connections = _Connections(self)
        try:
            super().__init__((host, port), _Handler)
        except OSError as err:
            self._connections.stop()
            self.workers.close()
            raise Cd38kgError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
        name = f"[{host}]" if ":" in host else host
        self.allowed_hosts = {name.lower(), *(h.lower() for h in allowed_hosts)}
        if host in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "::"):  # noqa: S104  (names, not a bind)
            self.allowed_hosts |= LOOPBACK_NAMES
        self.url = f"http://{name}:{self.server_port}/"
        self.page = _page(self)

    def _warm_up(self) -> None:
        """Import and exercise the parser, engine and serialisers once, before the workers fork,
        so they start with everything loaded."""
        for fmt in ("json", "xml", "csv", "tsv"):
            render(execute(self.dataset, "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1"), fmt)
        for fmt in NATIVE_FORMATS:
            write_results(self.dataset, "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1", fmt)
        for fmt in ("turtle", "nt", "json-ld", "xml"):
            render(execute(self.dataset, "CONSTRUCT { ?s a ?o } WHERE { ?s a ?o } LIMIT 1"), fmt)

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

    def evaluate(self, text: str, accept: str | None, requested: Sequence[str],
                 checked: Checked | None = None) -> Reply:
        """Answer a query in a worker process, which is killed if it outlives the timeout."""
        settings = self.settings
        try:
            check_length(text)
        except QueryError as err:
            return text_reply(413 if text.strip() else 400, str(err))
        ask = Ask(text, accept, tuple(requested), settings.max_rows, checked)
        try:
            return self.workers.run(ask, settings.timeout)
        except PoolBusy:
            return text_reply(503, f"the server is busy with other queries (at most {settings.max_concurrent} run at "
                                   f"once, the server's --max-concurrent); try again shortly")
        except JobTimeout:
            return text_reply(503, f"query stopped: it ran longer than {settings.timeout:g} s "
                                   "(the server's --timeout); narrow it down or add a LIMIT")
        except WorkerFailed as err:
            return text_reply(500, str(err))
        except Cd38kgError as err:  # a user error the worker could not turn into a reply (deep nesting, memory)
            return text_reply(400, str(err))

    # -- socketserver hooks: accepted connections go to the reader, not to a thread each ---------

    def server_activate(self) -> None:
        super().server_activate()
        self._connections.start()

    def process_request(self, request: Any, client_address: Any) -> None:
        self._connections.add(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One line for what went wrong with a connection, never a traceback."""
        error = sys.exc_info()[1]
        self.note(client_address, f"connection error: {type(error).__name__}: {error}")

    def server_close(self) -> None:
        super().server_close()
        self._connections.stop()
        self.workers.close()

    def note(self, client_address: Any, message: str) -> None:
        """Log one line (unless ``quiet``): client, time, message."""
        if not self.settings.quiet:
            host = client_address[0] if isinstance(client_address, tuple) else "-"
            stamp = time.strftime("%d/%b/%Y %H:%M:%S")
            line = " ".join(message.split())  # whatever the message holds, one line
            print(f"{host} - - [{stamp}] {line}", file=self.log, flush=True)


class _Refused(Exception):
    """A request refused before it is handled, with the status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _parse_head(buffer: bytes | bytearray, scanned: int = 0) -> tuple[int, int, bool] | None:
    """Where a request's headers end, its body's length and whether it expects ``100 Continue``;
    None while the headers are incomplete (searched from ``scanned``). Raises :class:`_Refused`."""
    match = _HEAD_END.search(buffer, scanned)
    if (match.start() if match else len(buffer)) > MAX_HEAD:
        raise _Refused(431, f"the request headers are longer than {MAX_HEAD} bytes")
    if match is None:
        return None
    lengths, expect = set(), False
    for line in bytes(buffer[:match.start()]).split(b"\n")[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            lengths.add(value)
        elif name == b"transfer-encoding":
            raise _Refused(411, "chunked transfer encoding is not supported; send a Content-Length")
        elif name == b"expect" and value == b"100-continue":
            expect = True
    if len(lengths) > 1 or not all(value.isdigit() for value in lengths):
        raise _Refused(400, "bad Content-Length")
    length = int(lengths.pop()) if lengths else 0
    if length > MAX_BODY:
        raise _Refused(413, f"the request body is limited to {MAX_BODY} bytes")
    return match.end(), length, expect


@dataclass(eq=False)
class _Pending:
    """A connection whose request is still arriving."""

    conn: socket.socket
    address: Any
    deadline: float
    buffer: bytearray = field(default_factory=bytearray)
    head_end: int | None = None
    length: int = 0
    scanned: int = 0
    kept: bool = False  # kept open after an answer: an idle timeout closes it without a 408
    drained: int | None = None  # refused and answered: bytes read and dropped since (see DRAIN_SECONDS)


class _Connections:
    """Reads each request whole, on one thread, before a handler thread sees it.

    A thread per connection lets a few hundred clients that send headers and stall hold a
    few hundred threads; here a stalled client costs a buffer until its deadline. Complete
    requests go to a fixed pool of handler threads, whose queue is bounded by the number
    of open connections.
    """

    def __init__(self, server: SparqlServer) -> None:
        self._server = server
        self._settings = server.settings
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)
        self._selector.register(self._wake_read, selectors.EVENT_READ, None)
        self._incoming: deque[_Pending] = deque()
        self._pending: set[_Pending] = set()
        self._open = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._handlers = ThreadPoolExecutor(server.settings.handler_threads, thread_name_prefix="cd38kg-http")
        self._thread = threading.Thread(target=self._run, name="cd38kg-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake()
        if self._thread.is_alive():
            self._thread.join()
        self._handlers.shutdown(wait=False, cancel_futures=True)
        for pending in [*self._pending, *self._incoming]:
            pending.conn.close()
        self._selector.close()
        self._wake_read.close()
        self._wake_write.close()

    def add(self, conn: socket.socket, address: Any) -> None:
        """Take an accepted connection (called on the accepting thread)."""
        with self._lock:
            self._open += 1
            full = self._open > self._settings.max_connections
        conn.setblocking(False)
        if full:
            self._refuse(conn, address, 503, f"too many open connections (at most {self._settings.max_connections}); "
                                             "try again shortly")
            return
        # An answer may go out in two writes (headers, then a large body): without this, the
        # client's delayed ACK holds the second one back for 40 ms on a kept-open connection.
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._incoming.append(_Pending(conn, address, time.monotonic() + self._settings.request_timeout))
        self._wake()

    def _linger(self, conn: socket.socket, buffer: bytearray) -> int | None:
        """Read into ``buffer`` for at most ``linger`` seconds, until it holds a whole request;
        where that request ends, or None for the reader to take over (also for anything it
        must refuse, or a client that closed). A client that sends queries one after another
        is answered without waiting for the reader; a slow one holds the thread no longer."""
        deadline = time.monotonic() + self._settings.linger
        while True:
            try:
                head = _parse_head(buffer)
            except _Refused:
                return None
            if head is not None and not head[2] and len(buffer) >= head[0] + head[1]:
                return head[0] + head[1]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            conn.settimeout(remaining)
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                return None
            if not chunk:
                return None
            buffer += chunk

    def _keep(self, conn: socket.socket, address: Any, rest: bytes) -> None:
        """Wait for the next request on a connection kept open (called on a handler thread);
        ``rest`` is what the client already sent after the last request."""
        if self._stopping.is_set():
            self._close(conn)
            return
        conn.setblocking(False)
        deadline = time.monotonic() + self._settings.request_timeout
        self._incoming.append(_Pending(conn, address, deadline, bytearray(rest), kept=True))
        self._wake()

    def _wake(self) -> None:
        with suppress(OSError):  # already awake, or closing
            self._wake_write.send(b"\0")

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._step()
            except Exception as err:  # keep reading for everyone else; one line in the log
                self._server.note(None, f"request reader error: {type(err).__name__}: {err}")

    def _step(self) -> None:
        for key, _ in self._selector.select(timeout=0.2):
            if key.data is None:
                with suppress(BlockingIOError):
                    while self._wake_read.recv(4096):
                        pass
            else:
                self._read(key.data)
        while self._incoming:
            pending = self._incoming.popleft()
            self._pending.add(pending)
            self._selector.register(pending.conn, selectors.EVENT_READ, pending)
            if pending.buffer:  # a pipelined request, already received
                self._advance(pending)
        now = time.monotonic()
        for pending in [p for p in self._pending if p.deadline < now]:
            if pending.drained is not None:
                self._forget(pending)
                self._close(pending.conn)
                continue
            idle = pending.kept and not pending.buffer
            self._reject(pending, None if idle else 408,
                         f"the request did not arrive within {self._settings.request_timeout:g} s")

    def _read(self, pending: _Pending) -> None:
        try:
            chunk = pending.conn.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            self._reject(pending, None, "")
            return
        if pending.drained is not None:
            pending.drained += len(chunk)
            if not chunk or pending.drained > DRAIN_BYTES:
                self._forget(pending)
                self._close(pending.conn)
            return
        if not chunk:
            if pending.head_end is not None:
                received = len(pending.buffer) - pending.head_end
                self._reject(pending, 400, f"the request body ended after {received} of the {pending.length} bytes "
                                           "its Content-Length announced")
            else:
                self._reject(pending, 400 if pending.buffer else None, "the request ended before its headers did")
            return
        pending.buffer += chunk
        self._advance(pending)

    def _advance(self, pending: _Pending) -> None:
        """Hand the request to a handler thread once it has arrived whole."""
        if pending.head_end is None and not self._read_head(pending):
            return
        end = pending.head_end + pending.length  # type: ignore[operator]
        if len(pending.buffer) >= end:
            self._forget(pending)
            self._handlers.submit(self._handle, pending.conn, pending.address, bytes(pending.buffer[:end]),
                                  bytes(pending.buffer[end:]))

    def _read_head(self, pending: _Pending) -> bool:
        """Find the end of the headers and the body's length; False while they are incomplete
        or when the request was refused."""
        try:
            head = _parse_head(pending.buffer, pending.scanned)
        except _Refused as refused:
            self._reject(pending, refused.status, str(refused))
            return False
        pending.scanned = max(0, len(pending.buffer) - 3)  # a client sending a byte at a time is not rescanned
        if head is None:
            return False
        pending.head_end, pending.length, expect = head
        if expect and len(pending.buffer) < pending.head_end + pending.length:
            self._send_quietly(pending.conn, b"HTTP/1.1 100 Continue\r\n\r\n")
        return True

    def _forget(self, pending: _Pending) -> None:
        self._pending.discard(pending)
        self._selector.unregister(pending.conn)

    def _reject(self, pending: _Pending, status: int | None, message: str) -> None:
        """Answer an incomplete or unacceptable request with ``status`` (None: just close). An
        answered connection is half-closed and drained before it is closed (:data:`DRAIN_SECONDS`)."""
        if status is None:
            self._forget(pending)
            self._refuse(pending.conn, pending.address, status, message)
            return
        self._answer(pending.conn, pending.address, status, message)
        with suppress(OSError):
            pending.conn.shutdown(socket.SHUT_WR)
        pending.buffer = bytearray()
        pending.drained = 0
        pending.deadline = time.monotonic() + DRAIN_SECONDS

    def _refuse(self, conn: socket.socket, address: Any, status: int | None, message: str) -> None:
        if status is not None:
            self._answer(conn, address, status, message)
        self._close(conn)

    def _answer(self, conn: socket.socket, address: Any, status: int, message: str) -> None:
        """Send a one-line plain-text error answer, and log it."""
        reason = BaseHTTPRequestHandler.responses.get(status, ("Error",))[0]
        body = (message + "\n").encode("utf-8")
        self._send_quietly(conn, f"HTTP/1.0 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        self._server.note(address, f"{status} {message}")

    @staticmethod
    def _send_quietly(conn: socket.socket, data: bytes) -> None:
        """Send a short message without blocking; a client that cannot take it loses it."""
        with suppress(OSError):
            conn.send(data)

    def _close(self, conn: socket.socket) -> None:
        with suppress(OSError):
            conn.shutdown(socket.SHUT_WR)
        conn.close()
        with self._lock:
            self._open -= 1

    def _handle(self, conn: socket.socket, address: Any, data: bytes, rest: bytes) -> None:
        """Handle a complete request on a handler thread, and the requests that follow it on the
        connection within ``linger`` seconds; then give the connection back to the reader, or close it."""
        keep = False
        try:
            conn.setblocking(True)
            while True:
                conn.settimeout(self._settings.request_timeout)  # a client that does not read its answer
                if _Handler(conn, address, self._server, data).close_connection:
                    break
                buffer = bytearray(rest)
                end = self._linger(conn, buffer)
                if end is None:
                    keep, rest = True, bytes(buffer)
                    break
                data, rest = bytes(buffer[:end]), bytes(buffer[end:])
        except OSError as err:
            self._server.note(address, f"connection lost: {err.strerror or type(err).__name__}")
        except Exception as err:  # a bug: one line in the log, the other requests go on
            self._server.note(address, f"internal error: {type(err).__name__}: {err}")
        finally:
            if keep:
                self._keep(conn, address, rest)
            else:
                self._close(conn)


class _Handler(BaseHTTPRequestHandler):
    """Routes one request, already read whole; every query goes through :meth:`SparqlServer.evaluate`.

    ``close_connection`` says afterwards whether the connection may carry another request:
    HTTP/1.1 keeps it unless the client asked to close or the request was refused.
    """

    server: SparqlServer
    server_version = "cd38kg"
    protocol_version = "HTTP/1.1"

    def __init__(self, request: socket.socket, client_address: Any, server: SparqlServer, data: bytes) -> None:
        self._data = data
        self._replied = False
        super().__init__(request, client_address, server)

    def setup(self) -> None:
        self.connection = self.request
        self.rfile = io.BytesIO(self._data)
        self.wfile = self.connection.makefile("wb")

    def handle(self) -> None:
        """One request only: the next one on the connection comes through the reader again."""
        self.close_connection = True
        try:
            self.handle_one_request()
        except OSError:
            raise
        except Exception as err:  # answer 500 and log one line, not a traceback
            self.close_connection = True
            if not self._replied:
                self._send(text_reply(500, f"internal error: {type(err).__name__}: {err}"))
            self.log_error("internal error: %s: %s", type(err).__name__, err)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors found by :mod:`http.server` itself (a bad request line, an unknown method) are
        one plain-text line too, not an HTML page."""
        self.close_connection = True
        self.request_version = "HTTP/1.0"  # with a status line, even when the request line was unreadable
        self._send(text_reply(code, message or self.responses.get(code, ("error",))[0]))

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
        self._send(self.server.evaluate(text, self.headers.get("Accept"), requested, self.server.named_checks[name]))

    # -- plumbing -------------------------------------------------------------------------------

    def _host_ok(self) -> bool:
        """Only requests addressed to the bound name are answered (defence against DNS rebinding)."""
        host = (self.headers.get("Host") or "").strip().lower()
        if not host:
            self.close_connection = True
            self._send(text_reply(400, "the request has no Host header"))
            return False
        if host.startswith("["):
            name, _, rest = host.partition("]")
            name, port = name + "]", rest.removeprefix(":")
        else:
            name, _, port = host.partition(":")
        if name not in self.server.allowed_hosts or (port and port != str(self.server.server_port)):
            self.close_connection = True
            self._send(text_reply(421, f"this server does not answer for host {host!r}; "
                                       f"use {self.server.url} (or start it with --allow-host)"))
            return False
        return True

    def _body(self) -> bytes | None:
        """The request body, which the reader has already received whole."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length)

    def _send(self, reply: Reply) -> None:
        self._replied = True
        # A connection about to close is answered in HTTP/1.0, which says so to any client.
        self.protocol_version = "HTTP/1.0" if self.close_connection else "HTTP/1.1"
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
        self.server.note(self.client_address, format % args)


def make_server(kb: KnowledgeBase, dataset: Dataset, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                settings: Settings | None = None, allowed_hosts: Iterable[str] = (),
                log: TextIO | None = None) -> SparqlServer:
    """A ready-to-run server (call ``serve_forever``, then ``server_close``); port 0 picks a
    free port (see ``.url``). The request log goes to ``log`` (default: stderr)."""
    return SparqlServer(kb, dataset, host, port, settings or Settings(), allowed_hosts, log)


def serve(extras: Sequence[str] = (), host: str = "127.0.0.1", port: int = DEFAULT_PORT, timeout: float = 10.0,
          max_rows: int = 10_000, cors: str | None = None, allowed_hosts: Sequence[str] = (),
          max_concurrent: int = 4, store: KnowledgeStore | None = None) -> None:
    """Load the knowledge base (into ``store``, default the configured one) and serve it until interrupted."""
    if timeout <= 0 or max_rows <= 0 or max_concurrent <= 0:
        raise Cd38kgError("--timeout, --max-rows and --max-concurrent must be positive")
    from ..kb import KnowledgeBase

    if not is_loopback(host):
        print(f"cd38kg: warning: listening on {host}, not only on this machine: anyone who can reach this port "
              "can query the knowledge base, and the endpoint has no authentication; to share it, keep it on "
              "127.0.0.1 behind a reverse proxy that authenticates (see the README)", file=sys.stderr, flush=True)
    kb = KnowledgeBase.load(extras=extras, store=store)
    settings = Settings(timeout=timeout, max_rows=max_rows, cors_origin=cors, max_concurrent=max_concurrent)
    server = make_server(kb, kb.sparql_dataset(), host, port, settings, allowed_hosts)
    print(f"cd38kg: SPARQL endpoint at {server.url}sparql, query editor at {server.url} "
          f"(timeout {timeout:g} s, at most {max_rows} rows, {max_concurrent} queries at once); Ctrl+C stops it",
          file=sys.stderr, flush=True)
    # SIGTERM stops the server like Ctrl+C, so its query workers are ended with it.
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
    template = (Path(__file__).resolve().parent / "templates" / "sparql.html").read_text(encoding="utf-8")
    return template.replace("__DATA__", data.replace("</", "<\\/")).encode("utf-8")
