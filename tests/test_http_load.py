"""The SPARQL endpoint under load, on loopback: many clients at once, and clients that stall.

Bounded on purpose (seconds, not minutes): 40 concurrent clients send 20 requests each
(plain, named and graph queries) and every one must succeed; 60 clients that send part of
a request and stall must neither delay a normal request by more than a second nor each
take a thread.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest

from cd38kg.interfaces.server import Settings, make_server

CLIENTS = 40
REQUESTS = 20
STALLED = 60
PATHS = [
    "/sparql?" + urllib.parse.urlencode({"query": "SELECT ?d ?label WHERE { ?d a cd38:IMiD ; rdfs:label ?label }"}),
    "/query/cells-expressing?molecule=CD38",
    "/sparql?" + urllib.parse.urlencode({"query": "ASK { kb:daratumumab a cd38:AntiCD38Antibody }"}),
    "/sparql?" + urllib.parse.urlencode({"query": "CONSTRUCT { ?d a cd38:IMiD } WHERE { ?d a cd38:IMiD }"}),
]


@pytest.fixture(scope="module")
def server(kb):
    log = io.StringIO()
    srv = make_server(kb, kb.sparql_dataset(), "127.0.0.1", 0, Settings(timeout=10.0, request_timeout=20.0), log=log)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join()
    assert "Traceback" not in log.getvalue()


def fetch(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def timed_fetch(port: int, path: str) -> float:
    started = time.monotonic()
    status, body = fetch(port, path)
    assert status == 200 and json.loads(body)["boolean"] is True
    return time.monotonic() - started


def test_concurrent_clients_all_succeed(server):
    def client(number: int) -> list[str]:
        errors = []
        for i in range(REQUESTS):
            path = PATHS[(number + i) % len(PATHS)]
            try:
                status, body = fetch(server.server_port, path)
            except OSError as err:  # a reset or refused connection is an error too
                errors.append(f"{path}: {err!r}")
                continue
            if status != 200 or not body:
                errors.append(f"{path}: {status} {body[:80]!r}")
        return errors

    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        errors = [e for found in pool.map(client, range(CLIENTS)) for e in found]
    assert errors == []
    assert time.monotonic() - started < 60


def test_stalled_clients_do_not_delay_a_normal_request(server):
    ask = "/sparql?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
    baseline = min(timed_fetch(server.server_port, ask) for _ in range(3))
    threads_before = threading.active_count()
    stalled = []
    try:
        for i in range(STALLED):
            conn = socket.create_connection(("127.0.0.1", server.server_port), timeout=5)
            # Half the clients stop inside the headers, half inside a body they announced.
            if i % 2:
                conn.sendall(b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            else:
                conn.sendall(b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sparql-query\r\n"
                             b"Content-Length: 1000\r\n\r\nSELECT")
            stalled.append(conn)
        time.sleep(0.3)  # let the server take them all
        delays = [timed_fetch(server.server_port, ask) for _ in range(3)]
        assert max(delays) < baseline + 1.0
        assert threading.active_count() - threads_before < 20, "a stalled client does not hold a thread"
        # The stalled bodies are never run as queries: closing them half-way gets a 400.
        stalled[0].shutdown(socket.SHUT_WR)
        reply = stalled[0].recv(4096)
        assert reply.startswith(b"HTTP/1.0 400") and b"of the 1000 bytes" in reply
    finally:
        for conn in stalled:
            conn.close()
