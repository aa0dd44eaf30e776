"""Requests per second of ``cd38kg serve`` against a minimal pyoxigraph HTTP server (issue 11).

Both servers hold the same quads (the dataset ``cd38kg serve`` builds, dumped as N-Quads) and
answer the same two queries: a plain SELECT and a named query (``/query/NAME?params`` for
cd38kg; the SPARQL text that named query runs, parameters bound, for the minimal server).
Each server runs in its own process, the clients are threads of this one; every cell is
``--seconds`` of load, median of ``--runs``, the two servers back to back (in turns, which
goes first) so that both see the same machine; the ratio of each such pair is shown too.
Only 200 answers count; anything else is reported as errors.

Run: python benchmarks/bench_endpoint.py [--seconds 5] [--runs 3] [--clients 1,16] [--close]
     [--serve "cd38kg"]  (the command that starts cd38kg, e.g. with PYTHONPATH set to another checkout)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

PLAIN = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> SELECT ?s ?label WHERE { ?s rdfs:label ?label } LIMIT 100"
NAMED, NAMED_PARAMS = "cells-expressing", {"molecule": "CD38"}


def minimal_server(quads: str) -> None:
    """The reference: a pyoxigraph store behind the standard library's threading HTTP server."""
    import pyoxigraph as ox

    store = ox.Store()
    store.bulk_load(path=quads, format=ox.RdfFormat.N_QUADS)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK stall between them

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            try:
                query = parse_qs(url.query)["query"][0]
                results = store.query(query, use_default_graph_as_union=True)
                status, body = 200, results.serialize(format=ox.QueryResultsFormat.JSON)
            except (KeyError, SyntaxError, OSError) as err:
                status, body = 400, str(err).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """No access log."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.request_queue_size = 128
    print(server.server_port, flush=True)
    server.serve_forever()


def prepare(directory: Path) -> tuple[Path, str]:
    """Dump the quads ``cd38kg serve`` answers from; return them and the named query's bound text."""
    from cd38kg.interfaces.queries import bind, load_query
    from cd38kg.kb import KnowledgeBase
    from cd38kg.vocab import PREFIXES

    kb = KnowledgeBase.load()
    quads = directory / "kb.nq"
    kb.sparql_dataset().serialize(destination=str(quads), format="ox-nquads")
    prologue = "".join(f"PREFIX {prefix}: <{iri}>\n" for prefix, iri in PREFIXES.items())
    return quads, prologue + bind(load_query(NAMED), kb, NAMED_PARAMS)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(port: int, process: subprocess.Popen[bytes], limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"no server on port {port} after {limit:g} s")


def load(port: int, path: str, clients: int, seconds: float, close: bool) -> tuple[float, Counter[str]]:
    """``clients`` threads sending ``path`` for ``seconds``: 200 answers per second, and the rest by kind."""
    headers = {"Accept": "application/sparql-results+json", "Host": f"127.0.0.1:{port}"}
    if close:
        headers["Connection"] = "close"
    stop = time.monotonic() + seconds
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def client() -> None:
        mine: Counter[str] = Counter()
        connection = None
        while time.monotonic() < stop:
            try:
                connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                mine["ok" if response.status == 200 and body else str(response.status)] += 1
                if response.will_close:
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException) as err:
                mine[type(err).__name__] += 1
                if connection:
                    connection.close()
                connection = None
        if connection:
            connection.close()
        with lock:
            counts.update(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return counts.pop("ok", 0) / elapsed, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="load per cell")
    parser.add_argument("--runs", type=int, default=3, help="runs per cell (the median is shown)")
    parser.add_argument("--clients", default="1,16", help="concurrent client threads, comma-separated")
    parser.add_argument("--close", action="store_true", help="a new connection per request (Connection: close)")
    parser.add_argument("--serve", default="cd38kg", help="the command that runs cd38kg")
    args = parser.parse_args()
    clients = [int(n) for n in args.clients.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        quads, named_text = prepare(Path(tmp))
        port = free_port()
        log = (Path(tmp) / "serve.log").open("wb")
        ours = subprocess.Popen([*shlex.split(args.serve), "serve", "--port", str(port)], stdout=log, stderr=log)
        minimal = subprocess.Popen([sys.executable, __file__, "--minimal", str(quads)], stdout=subprocess.PIPE)
        try:
            minimal_port = int(minimal.stdout.readline())  # type: ignore[union-attr]
            wait_ready(port, ours)
            paths = {
                "cd38kg": {"plain": "/sparql?" + urlencode({"query": PLAIN}),
                           "named": f"/query/{NAMED}?" + urlencode(NAMED_PARAMS)},
                "minimal": {"plain": "/sparql?" + urlencode({"query": PLAIN}),
                            "named": "/sparql?" + urlencode({"query": named_text})},
            }
            ports = {"cd38kg": port, "minimal": minimal_port}
            check_same_answers(ports, paths)
            rates: dict[tuple[str, str, int], list[float]] = {}
            errors: dict[tuple[str, str, int], Counter[str]] = {}
            for name in ports:  # warm both up
                for path in paths[name].values():
                    load(ports[name], path, 4, 1.0, args.close)
            for run in range(args.runs):
                for query in ("plain", "named"):
                    for n in clients:
                        for name in sorted(ports, reverse=run % 2 == 1):
                            rate, failed = load(ports[name], paths[name][query], n, args.seconds, args.close)
                            rates.setdefault((name, query, n), []).append(rate)
                            errors.setdefault((name, query, n), Counter()).update(failed)
        finally:
            ours.terminate()
            minimal.terminate()
            ours.wait()
            minimal.wait()
            log.close()
    report(rates, errors, clients, args)


def check_same_answers(ports: dict[str, int], paths: dict[str, dict[str, str]]) -> None:
    """Both servers must return the same number of rows for each query, or the comparison is void."""
    for query in ("plain", "named"):
        sizes = {}
        for name, port in ports.items():
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.request("GET", paths[name][query], headers={"Accept": "application/sparql-results+json"})
            response = connection.getresponse()
            body = response.read()
            connection.close()
            if response.status != 200:
                raise SystemExit(f"{name} {query}: {response.status} {body[:200]!r}")
            sizes[name] = len(json.loads(body)["results"]["bindings"])
        if len(set(sizes.values())) != 1:
            raise SystemExit(f"{query}: the servers disagree on the number of rows: {sizes}")
        print(f"{query}: {sizes['cd38kg']} rows from both servers")


def report(rates: dict[tuple[str, str, int], list[float]], errors: dict[tuple[str, str, int], Counter[str]],
           clients: list[int], args: argparse.Namespace) -> None:
    mode = "a new connection per request" if args.close else "keep-alive where the server offers it"
    print(f"\nrequests/s answered 200, median of {args.runs} x {args.seconds:g} s, {mode}; load {os.getloadavg()}")
    print("| query | clients | cd38kg | minimal pyoxigraph | ratio | cd38kg runs | minimal runs | ratio per run "
          "| non-200 (cd38kg / minimal) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for query in ("plain", "named"):
        for n in clients:
            ours, theirs = (rates[(name, query, n)] for name in ("cd38kg", "minimal"))
            paired = " ".join(f"{b / a:.2f}" if a else "-" for a, b in zip(ours, theirs))
            failed = " / ".join(", ".join(f"{k} {v}" for k, v in errors[(name, query, n)].items()) or "0"
                                for name in ("cd38kg", "minimal"))
            ratio = statistics.median(theirs) / statistics.median(ours) if statistics.median(ours) else float("inf")
            print(f"| {query} | {n} | {statistics.median(ours):.0f} | {statistics.median(theirs):.0f} | {ratio:.2f}x "
                  f"| {' '.join(f'{r:.0f}' for r in ours)} | {' '.join(f'{r:.0f}' for r in theirs)} | {paired} "
                  f"| {failed} |")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--minimal":
        minimal_server(sys.argv[2])
    else:
        main()
