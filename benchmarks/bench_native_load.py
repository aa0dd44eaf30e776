"""Filling the in-memory store against pyoxigraph's native load of the same quads (issue 11).

For the bundled knowledge base and each extension: one process fills cd38kg's in-memory store
from the cached layers (what every SPARQL command does once the extension has been read) and
dumps it as N-Quads; then, alternating in fresh processes, cd38kg's fill and a bare
``pyoxigraph.Store().bulk_load`` of that dump are timed. Wall seconds, median of ``--runs``.

Run: python benchmarks/bench_native_load.py [ext-100000.tsv ...] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, sys, time, pyoxigraph
mode, dump, extras = sys.argv[1], sys.argv[2], sys.argv[3:]
if mode == "cd38kg":
    from cd38kg import KnowledgeBase
    from cd38kg.store.memory import MemoryStore
    kb = KnowledgeBase.load(extras=extras, store=MemoryStore())
    started = time.perf_counter()
    store = kb.store.oxigraph  # filled here, from the cached layers
    elapsed = time.perf_counter() - started
    if dump:
        store.dump(dump, pyoxigraph.RdfFormat.N_QUADS)
else:
    started = time.perf_counter()
    store = pyoxigraph.Store()
    store.bulk_load(path=dump, format=pyoxigraph.RdfFormat.N_QUADS)
    elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "quads": len(store)}))
"""


def run(mode: str, dump: str, extras: list[str]) -> dict[str, float]:
    env = {**os.environ, "CD38KG_MAX_INPUT_MB": "1024"}
    done = subprocess.run([sys.executable, "-c", CHILD, mode, dump, *extras], capture_output=True, text=True,
                          check=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("extensions", nargs="*")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print("| knowledge base | quads | cd38kg fill (s) | pyoxigraph bulk_load (s) | ratio |")
    print("|---|---|---|---|---|")
    for extras in [[], *[[e] for e in args.extensions]]:
        with tempfile.TemporaryDirectory() as tmp:
            dump = str(Path(tmp) / "kb.nq")
            first = run("cd38kg", dump, extras)  # caches the layers, writes the dump
            ours, native = [], []
            for _ in range(args.runs):
                ours.append(run("cd38kg", "", extras)["seconds"])
                native.append(run("native", dump, extras)["seconds"])
        a, b = statistics.median(ours), statistics.median(native)
        name = "bundled" + "".join(f" + {Path(e).name}" for e in extras)
        print(f"| {name} | {first['quads']:,} | {a:.3f} | {b:.3f} | {a / b:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
