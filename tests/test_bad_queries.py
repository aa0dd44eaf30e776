"""Hostile and malformed SPARQL, over HTTP and on the command line: a clear answer, in bounded time.

Every case asserts the status (or exit code), the words of a one-line message and a time
bound; command-line cases also run under a memory limit (``RLIMIT_AS``). A listener on
loopback stands in for the rest of the network: queries point SERVICE and LOAD at it, and
the command line gets it as its HTTP(S) proxy, so any outbound connection is caught. The
server's log is kept and must hold one line per event and no traceback.
"""

from __future__ import annotations

import io
import os
import resource
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest

from cd38kg.interfaces.queries import MAX_QUERY_CHARS
from cd38kg.interfaces.server import MAX_BODY, MAX_HEAD, Settings, make_server

ROOT = Path(__file__).resolve().parents[1]
CLI_MEMORY = 2 << 30
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
TIMEOUT = 2.0
STALL = 1.0  # the test server's request_timeout


class Listener:
    """A loopback port that counts every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


@pytest.fixture(scope="module")
def listener():
    catcher = Listener()
    yield catcher
    catcher.sock.close()


@dataclass
class Server:
    port: int
    log: io.StringIO


@pytest.fixture(scope="module")
def server(kb):
    log = io.StringIO()
    settings = Settings(timeout=TIMEOUT, max_rows=100, request_timeout=STALL, max_concurrent=2)
    srv = make_server(kb, kb.sparql_dataset(), "127.0.0.1", 0, settings, log=log)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield Server(srv.server_port, log)
    srv.shutdown()
    srv.server_close()
    thread.join()
    lines = log.getvalue().splitlines()
    assert lines, "the log records requests"
    assert "Traceback" not in log.getvalue()
    assert all(" - - [" in line for line in lines), "one line per event"


def exchange(port: int, raw: bytes, half_close: bool = False) -> tuple[int, str]:
    """Send raw bytes, read the whole answer: (status, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(raw)
        if half_close:
            conn.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode("utf-8")


def request(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
            port: int = 0) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{key}: {value}" for key, value in (headers or {}).items()]
    if body and not any(key.lower() == "content-length" for key in headers or {}):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def get(query: str, **params: str) -> tuple[str, str, bytes]:
    return ("GET", "/sparql?" + urllib.parse.urlencode({"query": query, **params}), b"")


def post(query: str, content_type: str = "application/sparql-query") -> tuple[str, str, bytes, dict[str, str]]:
    return ("POST", "/sparql", query.encode("utf-8"), {"Content-Type": content_type})


def nested(depth: int) -> str:
    return "ASK { FILTER(" + "(" * depth + "1" + ")" * depth + ") }"


def values(count: int) -> str:
    return "SELECT ?x WHERE { VALUES ?x { " + " ".join(f'"{i}"' for i in range(count)) + " } }"


# (id, request as (method, path, body[, headers]) with {listener} filled in, status, words, seconds)
HTTP_CASES = [
    ("syntax-error", get("SELECT ?s WHERE {\n ?s ?p\n}"), 400, ["syntax error", "line 2"], 5),
    ("truncated-query", post("SELECT * WHERE { ?s ?p "), 400, ["syntax error"], 5),
    ("empty-query", get(""), 400, ["empty"], 5),
    ("blank-query-body", post("  \n "), 400, ["empty"], 5),
    ("insert-data", get("INSERT DATA { <urn:a> <urn:b> <urn:c> }"), 403, ["read-only"], 5),
    ("load-url", get("LOAD <{listener}/data.ttl>"), 403, ["read-only"], 5),
    ("update-form-field", ("POST", "/sparql", b"update=DROP+ALL", {"Content-Type": "application/x-www-form-urlencoded"}),
     403, ["read-only"], 5),
    ("sparql-update-body", post("CLEAR ALL", "application/sparql-update"), 403, ["read-only"], 5),
    ("service", get("SELECT * WHERE { SERVICE <{listener}/sparql> { ?s ?p ?o } }"), 403, ["SERVICE"], 5),
    ("service-escaped", get("ASK { \\u0053ERVICE <{listener}/sparql> { ?s ?p ?o } }"), 403, ["SERVICE"], 5),
    ("from-url", get("SELECT * FROM <{listener}/g> WHERE { ?s ?p ?o }"), 400, ["FROM"], 5),
    ("unknown-function", get('SELECT ?y WHERE { BIND(<http://x/fn>("x") AS ?y) }'), 400, ["unknown function"], 5),
    ("unknown-function-filter", get("ASK { ?s ?p ?o FILTER(<http://x/f>(?o)) }"), 400, ["unknown function"], 5),
    ("unknown-prefix", get("SELECT * WHERE { ?s ex:p ?o }"), 400, ["unknown prefix"], 5),
    ("nested-too-deep", post(nested(5000)), 400, ["nested too deeply"], 10),
    ("query-over-length-cap", post(values(MAX_QUERY_CHARS // 7)), 413, ["characters long", "limit"], 5),
    ("body-over-size-cap", post(values(200_000)), 413, ["limited to"], 5),
    ("cartesian-product", get(CARTESIAN), 503, ["--timeout"], TIMEOUT + 4),
    ("bad-content-type", post("ASK {}", "text/plain"), 415, ["Content-Type"], 5),
    ("no-content-type", ("POST", "/sparql", b"ASK {}", {}), 415, ["Content-Type"], 5),
    ("not-utf8-body", ("POST", "/sparql", b"ASK { ?s ?p '\xff' }", {"Content-Type": "application/sparql-query"}),
     400, ["UTF-8"], 5),
    ("bad-accept", ("GET", "/sparql?query=ASK%7B%7D", b"", {"Accept": "image/png"}), 406, ["acceptable types"], 5),
    ("bad-accept-for-graph", ("GET", "/sparql?" + urllib.parse.urlencode({"query": "CONSTRUCT WHERE { ?s a ?o }"}),
                              b"", {"Accept": "text/csv"}), 406, ["acceptable types"], 5),
    ("two-queries", ("GET", "/sparql?query=ASK%7B%7D&query=ASK%7B%7D", b""), 400, ["exactly one query"], 5),
    ("dataset-parameter", get("ASK {}", **{"default-graph-uri": "{listener}/g"}), 400, ["not supported"], 5),
    ("bad-content-length", ("POST", "/sparql", b"ASK {}", {"Content-Type": "application/sparql-query",
                                                           "Content-Length": "six"}), 400, ["Content-Length"], 5),
    ("conflicting-content-length", ("POST", "/sparql", b"ASK {}", {"Content-Length": "6", "content-length": "7"}),
     400, ["Content-Length"], 5),
    ("chunked-body", ("POST", "/sparql", b"6\r\nASK {}\r\n0\r\n\r\n",
                      {"Content-Type": "application/sparql-query", "Transfer-Encoding": "chunked"}),
     411, ["Content-Length"], 5),
    ("put", ("PUT", "/sparql", b"x", {}), 405, ["read-only"], 5),
    ("delete", ("DELETE", "/sparql", b"", {}), 405, ["read-only"], 5),
    ("unknown-method", ("BREW", "/sparql", b"", {}), 501, ["Unsupported method"], 5),
    ("post-to-named-query", ("POST", "/query/conflicts", b"x", {"Content-Type": "application/sparql-query"}),
     405, ["/sparql only"], 5),
    ("unknown-page", ("GET", "/admin", b""), 404, ["/sparql"], 5),
    ("unknown-named-query", ("GET", "/query/drop-everything", b""), 404, ["unknown query", "clinical-evidence"], 5),
    ("unknown-parameter", ("GET", "/query/cells-expressing?drug=daratumumab", b""), 400, ["no parameter 'drug'"], 5),
    ("repeated-parameter", ("GET", "/query/cells-expressing?molecule=CD38&molecule=CD16", b""), 400,
     ["more than once"], 5),
    ("unknown-entity-parameter", ("GET", "/query/cells-expressing?molecule=CD3888", b""), 400, ["unknown"], 5),
    ("wrong-kind-parameter", ("GET", "/query/cells-expressing?molecule=daratumumab", b""), 400, ["molecule"], 5),
]


@pytest.mark.parametrize(("case", "req", "status", "words", "seconds"), HTTP_CASES, ids=[c[0] for c in HTTP_CASES])
def test_bad_http_request(server, listener, case, req, status, words, seconds):
    method, path, body, *rest = req
    headers = {key: value.replace("{listener}", listener.url) for key, value in (rest[0] if rest else {}).items()}
    path = path.replace(urllib.parse.quote("{listener}", safe=""), urllib.parse.quote(listener.url, safe=""))
    body = body.replace(b"{listener}", listener.url.encode())
    before = listener.connections
    started = time.monotonic()
    code, text = exchange(server.port, request(method, path, body, headers, server.port))
    elapsed = time.monotonic() - started
    assert code == status, text
    lines = text.rstrip("\n").split("\n")
    for word in words:
        assert word in lines[0]
    if "syntax error" in lines[0]:  # followed by the offending line and a caret under the column
        assert len(lines) == 3 and lines[2].strip() == "^"
    else:
        assert len(lines) == 1, "a one-line message"
    assert elapsed < seconds
    assert listener.connections == before, "no outbound connection"


# -- requests that do not arrive whole ----------------------------------------------------------


def test_body_shorter_than_its_content_length_is_refused(server):
    started = time.monotonic()
    raw = request("POST", "/sparql", b"ASK {", {"Content-Type": "application/sparql-query", "Content-Length": "100"},
                  server.port)
    code, text = exchange(server.port, raw, half_close=True)
    assert code == 400 and "5 of the 100 bytes" in text
    assert time.monotonic() - started < STALL


def test_oversize_body_is_refused_before_it_is_sent(server):
    raw = request("POST", "/sparql", b"", {"Content-Type": "application/sparql-query",
                                          "Content-Length": str(MAX_BODY + 1)}, server.port)
    code, text = exchange(server.port, raw)
    assert code == 413 and "limited to" in text


def test_endless_headers_are_refused(server):
    raw = request("GET", "/sparql?query=ASK%7B%7D", b"", {"X-Padding": "a" * MAX_HEAD}, server.port)
    code, text = exchange(server.port, raw)
    assert code == 431 and "headers" in text


def test_stalled_request_times_out(server):
    started = time.monotonic()
    code, text = exchange(server.port, b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    elapsed = time.monotonic() - started
    assert code == 408 and "did not arrive" in text
    assert STALL <= elapsed < STALL + 2


@pytest.mark.parametrize(("raw", "status", "words"), [
    (b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: attacker.example\r\n\r\n", 421, "does not answer for host"),
    (b"GET /sparql?query=ASK%7B%7D HTTP/1.0\r\n\r\n", 400, "no Host header"),
    (b"GARBAGE\r\n\r\n", 400, "Bad request"),
    (b"GET / HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n", 505, "Invalid HTTP version"),
], ids=["foreign-host", "no-host", "garbage-request-line", "bad-http-version"])
def test_bad_request_line_or_host(server, raw, status, words):
    code, text = exchange(server.port, raw)
    assert code == status and words in text


def test_the_server_still_answers_after_the_bad_requests(server):
    code, text = exchange(server.port, request("GET", "/sparql?query=ASK%7B%3Fs%20%3Fp%20%3Fo%7D", b"",
                                               {"Accept": "application/json"}, server.port))
    assert code == 200 and '"boolean": true' in text


# -- the command line ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_env(cache_home, listener):
    """The environment for CLI runs: a private cache (filled once, without limits) and the
    listener as every proxy."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env[name] = listener.url
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    # Reasoning (Java) is not what these tests measure: run it once, unbounded, to fill the cache.
    subprocess.run([sys.executable, "-m", "cd38kg.interfaces.cli", "info"], env=env, capture_output=True, timeout=600,
                   check=True)
    return env


def run_cli(env: dict[str, str], *args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess, float]:
    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CLI_MEMORY, CLI_MEMORY))

    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "cd38kg.interfaces.cli", *args], capture_output=True, text=True, env=env,
                            timeout=timeout, preexec_fn=limit_memory, cwd=ROOT)  # noqa: PLW1509 (no threads here)
    return result, time.monotonic() - started


# (id, query file text or None for a named query, extra arguments, exit code, words, seconds)
CLI_CASES = [
    ("unknown-function", 'SELECT ?y WHERE { BIND(<http://x/fn>("x") AS ?y) }', [], 2, ["unknown function"], 15),
    ("cartesian-product", CARTESIAN, ["--timeout", "1"], 2, ["ran longer than 1 s", "--timeout"], 15),
    ("huge-values", values(200_000), [], 2, ["characters long"], 5),
    ("nested-too-deep", nested(5000), [], 2, ["nested too deeply"], 15),
    ("syntax-error", "SELECT * WHERE {\n  ?s ?p\n}\n", [], 2, ["syntax error", "line 2"], 15),
    ("service", "SELECT * WHERE { SERVICE <{listener}/sparql> { ?s ?p ?o } }", [], 2, ["SERVICE"], 15),
    ("load", "LOAD <{listener}/data.ttl>", [], 2, ["read-only"], 15),
    ("empty-file", "# only a comment\n", [], 2, ["syntax error"], 15),
    ("zero-timeout", "ASK {}", ["--timeout", "0"], 2, ["--timeout must be a positive"], 5),
    ("unknown-parameter", None, ["conflicts", "--param", "x=y"], 2, ["declares no parameters"], 5),
]


@pytest.mark.parametrize(("case", "text", "args", "code", "words", "seconds"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_bad_query_on_the_command_line(cli_env, listener, tmp_path, case, text, args, code, words, seconds):
    if text is not None:
        path = tmp_path / f"{case}.rq"
        path.write_text(text.replace("{listener}", listener.url), encoding="utf-8")
        args = [str(path), *args]
    before = listener.connections
    result, elapsed = run_cli(cli_env, "query", *args)
    assert result.returncode == code, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), "one line, no traceback"
    for word in words:
        assert word in result.stderr
    assert result.stdout == ""
    assert elapsed < seconds
    assert listener.connections == before, "no outbound connection"


def test_a_good_query_runs_within_the_same_limits(cli_env):
    result, elapsed = run_cli(cli_env, "query", "class-members", "--param", "class=IMiD", "--format", "csv",
                              "--timeout", "20")
    assert result.returncode == 0, result.stderr
    assert "lenalidomide" in result.stdout and elapsed < 20

