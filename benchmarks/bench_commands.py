"""Wall time and peak memory of the main commands from a cold shell (a new process each run).

Run: python benchmarks/bench_commands.py [--runs 5] [--out benchmarks/results/commands-DATE.md]
Targets (issue 8): a cold explain and hypotheses on the bundled knowledge base within 1.0 s
(median of 5), with the shipped inference cache (no Java on this path). Each run goes through
``/usr/bin/time -f "%e %M"`` when it exists (wall seconds, peak resident KiB), so the figures
are the whole process's, start-up included.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

COMMANDS = {
    "--help": ["cd38kg", "--help"],
    "explain": ["cd38kg", "explain", "-c", "daratumumab + ATRA", "-r", "CD38 downregulation", "--format", "json"],
    "hypotheses": ["cd38kg", "hypotheses", "-r", "NK cell fratricide", "--antibody", "daratumumab", "--format", "json"],
    "profile": ["cd38kg", "profile", "patient-relapsed.yaml", "--format", "json"],
    "named query": ["cd38kg", "query", "class-members", "--format", "json"],
    "evaluate": ["cd38kg", "evaluate", "--format", "json"],
}


def timed(command: list[str]) -> tuple[float, float | None]:
    """Wall seconds and peak resident MiB of one run."""
    gnu_time = shutil.which("time") if Path("/usr/bin/time").exists() else None
    if gnu_time:
        with tempfile.NamedTemporaryFile("r", suffix=".txt") as out:
            subprocess.run(["/usr/bin/time", "-o", out.name, "-f", "%e %M", *command], capture_output=True, check=True)
            wall, peak = out.read().split()[-2:]
            return float(wall), int(peak) / 1024
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return time.perf_counter() - start, None


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "0") if Path("/proc/meminfo").exists() else "0"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} cores ({cpu}), {int(memory) / 2**20:.0f} GiB RAM, Python {platform.python_version()}, "
            f"commit {commit or '?'}; load average at start {load}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    lines = [f"# Command timings, {datetime.date.today()}", "", f"Machine: {machine()}.", "",
             f"Each command run {args.runs} times in a new process; wall seconds (median, min, max) and peak RSS.", "",
             "| command | median s | min s | max s | peak MiB |", "|---|---|---|---|---|"]
    for name, command in COMMANDS.items():
        runs = [timed(command) for _ in range(args.runs)]
        walls = [w for w, _ in runs]
        peaks = [p for _, p in runs if p is not None]
        peak = f"{max(peaks):.0f}" if peaks else "n/a"
        lines.append(f"| {name} | {statistics.median(walls):.2f} | {min(walls):.2f} | {max(walls):.2f} | {peak} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        print(text)


if __name__ == "__main__":
    main()
