"""Regenerate the example HTML exports in examples/html/ (and, with --screenshot, the README picture).

    python examples/make_exports.py               # the four pages
    python examples/make_exports.py --screenshot  # also docs/screenshot-explain.png (needs chromium)

Each page is one self-contained file that opens offline in any current browser. Layouts are
seeded, so re-running on an unchanged knowledge base gives byte-identical files.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from cd38kg import KnowledgeBase
from cd38kg.interfaces.render_html import explanation_html, graph_html, write_html

HERE = Path(__file__).resolve().parent
OUT = HERE / "html"
SCREENSHOT = HERE.parent / "docs" / "screenshot-explain.png"

#: The showcase questions: file name, combination, resistance mechanism.
QUESTIONS = [
    ("explain-daratumumab-atra-vs-cd38-loss.html", "daratumumab + ATRA", "CD38 downregulation"),
    ("explain-isatuximab-cyclophosphamide-vs-cd47.html", "isatuximab + cyclophosphamide", "CD47 upregulation"),
    ("explain-daratumumab-cd38ko-nk-vs-fratricide.html", "daratumumab + CD38-knockout NK cells",
     "NK cell fratricide"),
]


def make_exports() -> list[Path]:
    """Write the whole-graph page and one explanation page per showcase question."""
    kb = KnowledgeBase.load()
    OUT.mkdir(exist_ok=True)
    written = [write_html(graph_html(kb), OUT / "knowledge-graph.html")]
    for name, combination, resistance in QUESTIONS:
        written.append(write_html(explanation_html(kb, kb.explain(combination, resistance)), OUT / name))
    return written


def screenshot(page: Path, png: Path) -> None:
    """A 1400x900 picture of a page, taken by headless Chromium with all networking off."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("--screenshot needs chromium (apt-get install chromium)")
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
                        f"--user-data-dir={profile}", "--window-size=1400,900", "--virtual-time-budget=5000",
                        f"--screenshot={png}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshot", action="store_true", help=f"also write {SCREENSHOT.relative_to(HERE.parent)}")
    args = parser.parse_args()
    pages = make_exports()
    for page in pages:
        print(f"wrote {page.relative_to(HERE.parent)}")
    if args.screenshot:
        screenshot(pages[1], SCREENSHOT)
        print(f"wrote {SCREENSHOT.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
