"""How load and the engine scale with the size of a user extension: a report per size.

For each size a synthetic extension is generated (benchmarks/generate_extension.py) and
measured in fresh processes, medians of ``--repeat`` runs:

* **load**: ``KnowledgeBase.load`` with the reasoner's inferences already cached (a first,
  uncached load runs HermiT: reported once, as ``cold load``, with ``--cold``);
* **engine**: once loaded, the first ``explain`` (which builds the causal graph), the same
  ``explain`` again (graph built: the cost of a question), then ``hypotheses``;
* **CLI**: the whole ``cd38kg explain`` / ``cd38kg hypotheses`` command with cached
  inferences, as a user runs it (load included);
* **peak memory**: the largest resident set of the measuring process;
* **named queries**: every ``cd38kg query NAME`` with its default parameters, in memory for
  the bundled knowledge base and from an on-disk store (``--store``: its first load and its
  reopening are timed too) for an extension;
* with ``--first-run``: a whole first ``cd38kg explain`` with an empty cache, and its peak memory.

Load and the reasoner are being reworked separately (stores, materialisation), so engine
time is reported apart from load time. The machine (CPU, cores, RAM, Python), the load
average and the measured commit head the report.

Run: python benchmarks/bench_scale.py 10000 100000 [--repeat 3] [--cold]
     [--out benchmarks/results/scale-<date>.md]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate_extension import write  # noqa: E402

EXPLAIN = ("daratumumab + ATRA", "CD38 downregulation")
#: the 1M-statement file (108 MB) is above the default input limit meant for hostile input
LIMITS = {"CD38KG_MAX_INPUT_MB": "1024"}
HYPOTHESES = [("complement inhibitor upregulation", None), ("NK cell fratricide", "daratumumab")]


def child(extension: str) -> None:
    """Measure one process: load, engine questions, peak memory; print one JSON line."""
    import resource

    from cd38kg import KnowledgeBase

    out: dict[str, float] = {}

    def timed(name: str, call):  # noqa: ANN202
        wall, cpu = time.perf_counter(), time.process_time()
        result = call()
        out[name] = time.perf_counter() - wall
        out[f"{name} cpu"] = time.process_time() - cpu
        return result

    kb = timed("load", lambda: KnowledgeBase.load(extras=[extension] if extension else []))
    timed("explain first", lambda: kb.explain(*EXPLAIN))
    timed("explain", lambda: kb.explain(*EXPLAIN))
    for resistance, antibody in HYPOTHESES:
        timed(f"hypotheses {resistance}", lambda r=resistance, a=antibody: kb.hypotheses(r, antibody=a))
    engine = kb.engine()
    out["edges"] = len(engine.edges)
    out["nodes"] = engine.graph.number_of_nodes()
    out["agents"] = len(engine.agents)
    out["peak MiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def run_child(extension: str, env: dict[str, str] | None = None) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--child", extension], capture_output=True, text=True,
                          check=True, env={**(env or os.environ), **LIMITS})
    return json.loads(done.stdout.strip().splitlines()[-1])


def cli_run(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak MiB of one whole ``cd38kg`` command (``/usr/bin/time``, which
    counts the command's own process)."""
    done = subprocess.run(["/usr/bin/time", "-f", "%e %M", "cd38kg", *args], capture_output=True, text=True,
                          check=True, env={**(env or os.environ), **LIMITS})
    wall, kib = done.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kib) / 1024


def cli_time(args: list[str]) -> float:
    return cli_run([*args, "--format", "json"])[0]


def named_queries() -> list[str]:
    listing = subprocess.run(["cd38kg", "query", "--list", "--format", "json"], capture_output=True, text=True,
                             check=True).stdout
    return [q["name"] for q in json.loads(listing)]


def machine(commit: str) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
    import cd38kg

    return (f"- CPU: {cpu}, {os.cpu_count()} cores (`nproc`); RAM {mem_kib / 2**20:.1f} GiB\n"
            f"- Python {platform.python_version()} on {platform.system()} {platform.release()}\n"
            f"- commit {commit} (package imported from {Path(cd38kg.__file__).parent})\n"
            f"- load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (other engineers share the machine)")


def measure(size: int, workdir: Path, repeat: int, cold: bool, first_run: bool) -> dict[str, object]:
    extension = ""
    if size:
        extension = str(workdir / f"ext-{size}.tsv")
        if not Path(extension).exists():
            write(size, Path(extension))
    row: dict[str, object] = {"size": size}
    if cold:
        with tempfile.TemporaryDirectory() as cache:
            first = run_child(extension, {**os.environ, "XDG_CACHE_HOME": cache})
        row["cold load"] = first["load"]
        row["cold peak MiB"] = first["peak MiB"]
    run_child(extension)  # makes sure the inferences for this extension are cached
    runs = [run_child(extension) for _ in range(repeat)]
    for key in runs[0]:
        row[key] = statistics.median(r[key] for r in runs)
    extra = ["--extra", extension] if extension else []
    row["cli explain"] = statistics.median(
        cli_time(["explain", "-c", EXPLAIN[0], "-r", EXPLAIN[1], *extra]) for _ in range(repeat))
    resistance, antibody = HYPOTHESES[0]
    row["cli hypotheses"] = statistics.median(cli_time(["hypotheses", "-r", resistance, *extra]) for _ in range(repeat))
    if first_run:
        with tempfile.TemporaryDirectory() as cache:
            wall, peak = cli_run(["explain", "-c", EXPLAIN[0], "-r", EXPLAIN[1], *extra, "--format", "json"],
                                 {**os.environ, "XDG_CACHE_HOME": cache})
        row["cli explain, empty cache"], row["cli explain, empty cache peak MiB"] = wall, peak
    # Named queries: in memory for the bundled knowledge base; from an on-disk store (loaded
    # once, then reopened by every query) for an extension, the backend meant for large ones.
    store = [] if not size else ["--store", str(workdir / f"store-{size}")]
    if store:
        row["disk store load"] = cli_run([*store, "info", *extra])[0]
        row["disk store reopen"] = statistics.median(cli_run([*store, "info", *extra])[0] for _ in range(repeat))
    for name in named_queries():
        row[f"query {name}"] = query_time([*store, "query", name, *extra], repeat)
    return row


def query_time(args: list[str], repeat: int) -> float | str:
    """Median wall seconds of a named query, or why it has none: a query stopped at ``cd38kg
    query``'s own deadline (60 s) is reported as such, and not repeated."""
    times = []
    for _ in range(repeat):
        try:
            times.append(cli_run(args)[0])
        except subprocess.CalledProcessError as err:
            return f"stopped at the 60 s deadline ({err.stderr.strip().splitlines()[0][:80]})"
    return statistics.median(times)


def report(rows: list[dict[str, object]], repeat: int) -> str:
    def cell(row: dict[str, object], key: str, unit: str = "s") -> str:
        value = row.get(key)
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        return f"{value:,.0f}" if unit == "MiB" else f"{value:.3f}" if value < 10 else f"{value:.1f}"

    columns = [("load", "load (cached inferences)"), ("explain first", "explain, first (builds graph)"),
               ("explain", "explain, graph built"),
               *[(f"hypotheses {r}", f"hypotheses {r}" + (f" ({a})" if a else "")) for r, a in HYPOTHESES],
               ("cli explain", "CLI explain (whole process)"), ("cli hypotheses", "CLI hypotheses (whole process)")]
    lines = ["| statements | causal edges / nodes / agents | " + " | ".join(t for _, t in columns) + " | peak MiB |"
             + (" cold load | cold peak MiB |" if any("cold load" in r for r in rows) else ""),
             "|---" * (len(columns) + 3 + (2 if any("cold load" in r for r in rows) else 0)) + "|"]
    for row in rows:
        graph = f"{row['edges']:,.0f} / {row['nodes']:,.0f} / {row['agents']:,.0f}"
        line = f"| {row['size']:,} | {graph} | " + " | ".join(cell(row, k) for k, _ in columns) \
            + f" | {cell(row, 'peak MiB', 'MiB')} |"
        if "cold load" in row:
            line += f" {cell(row, 'cold load')} | {cell(row, 'cold peak MiB', 'MiB')} |"
        lines.append(line)
    queries = sorted({k for row in rows for k in row if k.startswith("query ")})
    extra = ["disk store load", "disk store reopen", "cli explain, empty cache", "cli explain, empty cache peak MiB"]
    more = ["| statements | " + " | ".join([*extra, *queries]) + " |", "|---" * (len(extra) + len(queries) + 1) + "|"]
    for row in rows:
        more.append(f"| {row['size']:,} | " + " | ".join(
            cell(row, k, "MiB" if k.endswith("MiB") else "s") for k in [*extra, *queries]) + " |")
    return (f"Wall seconds, median of {repeat} fresh processes each; CPU seconds are in the JSON below.\n\n"
            + "\n".join(lines) + "\n\nWhole commands (wall seconds, median of " + str(repeat) + "; named queries "
            "in memory for the bundled knowledge base, from the on-disk store for an extension):\n\n"
            + "\n".join(more))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="also time a first load without cached inferences")
    parser.add_argument("--first-run", action="store_true",
                        help="also time a whole first explain with an empty cache (extension read, reasoning, caches)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "cd38kg-bench")
    parser.add_argument("--out", type=Path, default=HERE / "results" / f"scale-{datetime.date.today()}.md")
    parser.add_argument("--commit", help="the commit measured (default: HEAD of the checkout this script is in)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    commit = args.commit or subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                           cwd=HERE).stdout.strip() or "unknown"
    header = machine(commit)
    rows = []
    for size in [0, *args.sizes]:
        rows.append(measure(size, args.workdir, args.repeat, args.cold, args.first_run))
        print(json.dumps(rows[-1]), flush=True)
    text = (f"# Scale benchmark, {datetime.date.today()}\n\n{header}\n\n"
            f"Extensions: `benchmarks/generate_extension.py` (seed 11); size 0 is the bundled knowledge base.\n"
            f"explain: {' against '.join(EXPLAIN)}; hypotheses: "
            + "; ".join(r + (f" with {a}" if a else "") for r, a in HYPOTHESES) + "\n\n"
            + report(rows, args.repeat) + "\n\n```json\n" + "\n".join(json.dumps(r) for r in rows) + "\n```\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(args.out)


if __name__ == "__main__":
    main()
