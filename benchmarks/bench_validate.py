"""Wall time and peak memory of ``cd38kg validate``: the bundled knowledge base and synthetic extensions.

Run: python benchmarks/bench_validate.py [--runs 3] [--workdir DIR] [--out benchmarks/results/validate-DATE.md]
Target (issue 11): ``cd38kg validate --extra ext-100000.tsv`` within 60 s wall and 1.5 GiB peak
RSS, median of 3. Each run is a new process timed by ``/usr/bin/time`` (start-up included);
the extensions are written by ``generate_extension.py`` (seed 11) into ``--workdir`` unless
they are there already. HermiT's classification of the classes is cached per TBox, as in
ordinary use, so only a first run ever after a change to the classes pays for it.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_commands import machine, timed  # noqa: E402
from generate_extension import write  # noqa: E402

SIZES = (0, 10_000, 100_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "cd38kg-bench")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    lines = [f"# `cd38kg validate` timings, {datetime.date.today()}", "", f"Machine: {machine()}.", "",
             f"Each size validated {args.runs} times in a new process; wall seconds (median, min, max) and the "
             "median peak RSS.", "",
             "| statements | median s | min s | max s | peak MiB |", "|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for size in SIZES:
        command = ["cd38kg", "validate"]
        if size:
            path = args.workdir / f"ext-{size}.tsv"
            if not path.exists():
                write(size, path)
            command += ["--extra", str(path)]
        runs = [timed(command) for _ in range(args.runs)]
        walls = [wall for wall, _ in runs]
        peaks = [peak for _, peak in runs if peak is not None]
        peak = f"{statistics.median(peaks):.0f}" if peaks else "n/a"
        lines.append(f"| {size or 'bundled'} | {statistics.median(walls):.1f} | {min(walls):.1f} | {max(walls):.1f} "
                     f"| {peak} |")
        print(lines[-1], flush=True)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
