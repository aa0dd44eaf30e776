"""Parse the bundled Turtle and run the engine's finding query on both storage backends.

Run: python benchmarks/bench_store.py   (prints medians of 5 runs, milliseconds)
"""

from __future__ import annotations

import statistics
import subprocess
import sys

SCRIPT = r"""
import time, rdflib
from cd38kg.resources import ontology_files
from cd38kg.knowledge.facts import Q_FINDINGS, select
backend = "{backend}"
if backend == "oxigraph":
    import oxrdflib
t0 = time.perf_counter()
if backend == "oxigraph":
    g = rdflib.Dataset(store="Oxigraph", default_union=True)
    fmt = "ox-turtle"
else:
    g = rdflib.Dataset(default_union=True)
    fmt = "turtle"
graph = g.graph(rdflib.URIRef("urn:bench"))
for path in ontology_files():
    graph.parse(path, format=fmt)
t1 = time.perf_counter()
rows = select(g, Q_FINDINGS)
t2 = time.perf_counter()
print((t1 - t0) * 1000, (t2 - t1) * 1000, len(g), len(rows))
"""


def main() -> None:
    for backend in ("oxigraph", "memory"):
        parse, query = [], []
        for _ in range(5):
            out = subprocess.run([sys.executable, "-c", SCRIPT.format(backend=backend)], capture_output=True,
                                 text=True, check=True).stdout.split()
            parse.append(float(out[0]))
            query.append(float(out[1]))
        print(f"{backend:9s} parse {statistics.median(parse):7.1f} ms   findings query "
              f"{statistics.median(query):7.1f} ms   ({out[2]} triples, {out[3]} findings)")


if __name__ == "__main__":
    main()
