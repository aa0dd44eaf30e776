"""Reasoning at scale: HermiT over every individual vs HermiT on the classes + the linear materialiser.

For each size, a synthetic extension (``reasoning_extension.py``) is loaded once to get the
curated and asserted layers; then the reasoning step alone is timed both ways (the two must
agree: the triple counts are printed), followed by a cold ``cd38kg validate`` in a fresh
process with a fresh cache (wall time and peak RSS). Writes a Markdown report.

    python benchmarks/bench_reasoning.py 10000 100000 --out benchmarks/results/reasoning-DATE.md
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from reasoning_extension import write  # noqa: E402


def reasoning_step(path: Path, hermit: bool) -> dict[str, float | int]:
    """Time the loader's reasoning step both ways over the same layers (in this process)."""
    from rdflib import URIRef

    from cd38kg.knowledge.loader import load
    from cd38kg.knowledge.reasoning import infer, owl_input, run_hermit
    from cd38kg.vocab import ASSERTED_GRAPH, CURATED_GRAPH

    started = time.perf_counter()
    loaded = load([path])
    out: dict[str, float | int] = {"load_s": time.perf_counter() - started}
    curated, asserted = (loaded.dataset.graph(URIRef(g)) for g in (CURATED_GRAPH, ASSERTED_GRAPH))
    started = time.perf_counter()
    linear = infer(curated, asserted, path.name)
    out |= {"materialise_s": time.perf_counter() - started, "materialised": len(linear.inferred)}
    if hermit:
        started = time.perf_counter()
        reference = run_hermit(owl_input(curated, asserted))
        out |= {"hermit_s": time.perf_counter() - started, "hermit": len(reference),
                "agree": int(set(reference) == set(linear.inferred))}
    return out


def cold_validate(path: Path) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (GiB, via /usr/bin/time) and the summary line of a cold validate."""
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "maxrss-kib %M", sys.executable, "-m", "cd38kg.interfaces.cli", "validate",
                               "--extra", str(path)], capture_output=True, text=True,
                              env={**os.environ, "XDG_CACHE_HOME": cache}, check=False)
        wall = time.perf_counter() - started
    peak = next(int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("maxrss-kib")) / 2**20
    return wall, peak, (done.stdout.strip() or done.stderr.strip()).splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", type=int, nargs="+")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--no-hermit", action="store_true", help="skip the HermiT reference (minutes at 100k)")
    args = parser.parse_args()
    lines = [f"# Reasoning benchmark, {time.strftime('%Y-%m-%d %H:%M')}", "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores shared with other "
             f"engineers; load average at start {os.getloadavg()[0]:.2f}; Python {platform.python_version()}.", "",
             "| statements | load (s) | materialise (s) | HermiT, every individual (s) | inferred (mat / HermiT, "
             "equal) | validate cold (s) | validate peak RSS (GiB) | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CACHE_HOME"] = tmp
        for size in args.sizes:
            path = write(Path(tmp) / f"extension-{size}.tsv", size)
            step = reasoning_step(path, hermit=not args.no_hermit)
            wall, peak, verdict = cold_validate(path)
            hermit = f"{step['hermit_s']:.1f}" if "hermit_s" in step else "not run"
            counts = (f"{step['materialised']} / {step['hermit']}, {'yes' if step['agree'] else 'NO'}"
                      if "hermit" in step else f"{step['materialised']}")
            lines.append(f"| {size:,} | {step['load_s']:.1f} | {step['materialise_s']:.1f} | {hermit} | {counts} "
                         f"| {wall:.1f} | {peak:.2f} | {verdict[:60]} |")
            print(lines[-1], flush=True)
    lines += ["", f"Load average at end {os.getloadavg()[0]:.2f}. One run per size (not a median)."]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
