"""Every named query against a SPARQL server already holding a knowledge base: wall time, peak
memory, rows, and whether the answer equals the same query over an on-disk store of the same data.

The server is yours to start (for the figures in ``benchmarks/results``: ``cd38kg --store DIR
info --extra ext-1000000.tsv``, then ``oxigraph serve-read-only --location DIR/oxigraph``); each
run is a fresh ``cd38kg --endpoint URL query NAME`` process through ``/usr/bin/time``, so start-up,
the fetch of the parameters' entities and the server's evaluation all count. With ``--store DIR``
(and the ``--extra`` files that store was loaded with) each answer is also compared, rows sorted
and ``GROUP_CONCAT`` parts as a multiset, with the on-disk store's own answer.

Run: python benchmarks/bench_endpoint_queries.py URL [--runs 3] [--store DIR --extra FILE] [--query NAME ...]
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_commands import machine  # noqa: E402

#: The shipped queries that read no derived strategies (``strategies`` ranks hypotheses first).
QUERIES = ["class-members", "cells-expressing", "clinical-evidence", "conflicts", "drug-effects-on-cells",
           "evidence-for", "mechanisms-of-action", "ongoing-trials", "resistance-mechanisms"]


def run(command: list[str], timeout: float) -> tuple[float, float, str]:
    """Wall seconds, peak resident MiB and standard output of one run (a failure stops the benchmark)."""
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as out:
        done = subprocess.run(["/usr/bin/time", "-o", out.name, "-f", "%e %M", *command],
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip().splitlines()[-1:]}")
        wall, peak = out.read().split()[-2:]
    return float(wall), int(peak) / 1024, done.stdout


def canonical(csv_text: str) -> list[object]:
    """Rows sorted, each cell's parts sorted: SPARQL leaves tied rows and GROUP_CONCAT parts unordered."""
    rows = list(csv.reader(io.StringIO(csv_text)))
    return [rows[0], *sorted([sorted(re.split(r"[\s;,()]+", cell)) for cell in row] for row in rows[1:])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--store", help="an on-disk store of the same knowledge base, to compare answers with")
    parser.add_argument("--extra", action="append", default=[], help="the files that store was loaded with")
    parser.add_argument("--query", action="append", help="only these named queries")
    parser.add_argument("--timeout", type=float, default=600)
    options = parser.parse_args()
    print(f"- Machine: {machine()}")
    print(f"- Server: {options.url}; {options.runs} runs per query, median wall seconds (min-max)\n")
    print("| query | rows | endpoint s | peak MiB | same answer as the on-disk store |")
    print("|---|---|---|---|---|")
    for name in options.query or QUERIES:
        asked = ["cd38kg", "--endpoint", options.url, "query", name, "--timeout", str(options.timeout)]
        runs = [run(asked, options.timeout + 60) for _ in range(options.runs)]
        walls = [wall for wall, _, _ in runs]
        answer = runs[-1][2]
        same = ""
        if options.store:
            local = ["cd38kg", "--store", options.store, "query", name, "--timeout", str(options.timeout),
                     *(arg for extra in options.extra for arg in ("--extra", extra))]
            same = "yes" if canonical(run(local, options.timeout + 60)[2]) == canonical(answer) else "**no**"
        print(f"| {name} | {len(answer.splitlines()) - 1} | {statistics.median(walls):.2f} "
              f"({min(walls):.2f}-{max(walls):.2f}) | {max(peak for _, peak, _ in runs):.0f} | {same} |", flush=True)


if __name__ == "__main__":
    main()
