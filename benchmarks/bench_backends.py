"""Load, reopen and explain per store backend (memory, disk, Oxigraph server), bundled and with an extension.

Each measurement is a fresh ``cd38kg`` process (wall seconds, median of 3), so imports and
cache reads count as a user sees them. "first load" starts with an empty cache (extension
read, reasoning, everything); "cached" reruns with the caches (memory) or reopens the store
(disk); the server case serves a dump of the same knowledge base with ``oxigraph
serve-read-only`` and times ``cd38kg --endpoint URL explain`` (fetch of the neighbourhood included).

Run: python benchmarks/bench_backends.py [--extension-size 10000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

EXPLAIN = ["explain", "-c", "daratumumab + ATRA", "-r", "CD38 downregulation"]


def run(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(["cd38kg", *args], env=env, check=True, capture_output=True, timeout=1800)
    return time.perf_counter() - started


def median(args: list[str], env: dict[str, str], fresh: Path | None = None) -> float:
    times = []
    for _ in range(3):
        if fresh is not None:
            shutil.rmtree(fresh, ignore_errors=True)
        times.append(run(args, env))
    return statistics.median(times)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_explain(extras: list[str], env: dict[str, str], work: Path) -> float:
    """Median explain time against an Oxigraph server holding the same knowledge base."""
    import pyoxigraph

    from cd38kg import KnowledgeBase
    from cd38kg.store.memory import MemoryStore

    kb = KnowledgeBase.load(extras=extras, store=MemoryStore())
    dump = work / "kb.nq"
    kb.store.oxigraph.dump(str(dump), pyoxigraph.RdfFormat.N_QUADS)
    shutil.rmtree(work / "db", ignore_errors=True)
    subprocess.run(["oxigraph", "load", "--location", str(work / "db"), "--file", str(dump)], check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(["oxigraph", "serve-read-only", "--location", str(work / "db"), "--bind", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/query"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}?query=ASK%7B%7D", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        return median(["--endpoint", url, *EXPLAIN], env)
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extension-size", type=int, default=10_000)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cd38kg-bench-backends-"))
    extension = work / f"ext-{options.extension_size}.tsv"
    subprocess.run([sys.executable, str(Path(__file__).parent / "generate_extension.py"), str(options.extension_size),
                    "-o", str(extension)], check=True)
    cache = work / "cache"
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    print("| knowledge base | backend | first load + explain | cached/reopened explain | a named query |")
    print("|---|---|---|---|---|")
    for label, extras in (("bundled", []),(f"+ {options.extension_size:,} statements", [str(extension)])):
        extra_args = [a for path in extras for a in ("--extra", path)]
        first = median([*EXPLAIN, *extra_args], env, fresh=cache)
        cached = median([*EXPLAIN, *extra_args], env)
        named = median(["query", "cells-expressing", *extra_args], env)
        print(f"| {label} | memory | {first:.2f} | {cached:.2f} | {named:.2f} |", flush=True)
        store = work / "store"
        disk_first = median(["--store", str(store), *EXPLAIN, *extra_args], env, fresh=store)
        disk_cached = median(["--store", str(store), *EXPLAIN, *extra_args], env)
        disk_named = median(["--store", str(store), "query", "cells-expressing", *extra_args], env)
        print(f"| {label} | disk | {disk_first:.2f} | {disk_cached:.2f} | {disk_named:.2f} |", flush=True)
        print(f"| {label} | Oxigraph server | (server loaded by `oxigraph load`) | "
              f"{server_explain(extras, env, work):.2f} | |", flush=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
