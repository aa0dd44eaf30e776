"""Wall time of the main commands from a cold shell (a new process each run), medians of 5.

Run: python benchmarks/bench_commands.py
Targets: explain and hypotheses < 1 s, evaluate < 10 s, with the shipped inference cache
(no Java on this path).
"""

from __future__ import annotations

import statistics
import subprocess
import time

COMMANDS = {
    "--help": ["cd38kg", "--help"],
    "explain": ["cd38kg", "explain", "-c", "daratumumab + ATRA", "-r", "CD38 downregulation", "--format", "json"],
    "hypotheses": ["cd38kg", "hypotheses", "-r", "NK cell fratricide", "--antibody", "daratumumab", "--format", "json"],
    "evaluate": ["cd38kg", "evaluate", "--format", "json"],
}


def main() -> None:
    for name, command in COMMANDS.items():
        times = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True)
            times.append(time.perf_counter() - start)
        print(f"{name:11s} median {statistics.median(times):.3f} s   (min {min(times):.3f}, max {max(times):.3f})")


if __name__ == "__main__":
    main()
