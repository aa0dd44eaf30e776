"""A synthetic user extension for the reasoning benchmark, in the TSV format of ``examples/my_findings.tsv``.

Shaped like what a lab adds: new drugs declared by their class (so class knowledge reaches
them only through reasoning), new molecules in cell contexts, and signed relations between
new and bundled entities, with a few bundled hubs (NK cells, macrophages, CD38 on myeloma
cells) receiving many of them. Every row cites a source. Deterministic for a given size.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

HEADER = "subject\tpredicate\tobject\tsource\tsection\tevidence_level\tmagnitude\tnote\n"
DRUG_CLASSES = ("IMiD", "monoclonal antibody", "HDAC inhibitor", "proteasome inhibitor", "CELMoD",
                "immune-checkpoint inhibitor", "retinoid", "corticosteroid")
HUB_CELLS = ("NK cells", "macrophages", "T cells", "myeloma cells")
HUB_CONTEXTS = ("CD38 on myeloma cells", "CD38 on NK cells", "CD55 on myeloma cells")
LEVELS = ("hypothesis", "in vitro", "ex vivo")


def rows(statements: int, seed: int = 11) -> list[str]:
    """``statements`` TSV rows: about a tenth declare entities, the rest relate them."""
    rng = random.Random(seed)
    out: list[str] = []
    drugs: list[str] = []
    contexts: list[str] = []

    def row(subject: str, predicate: str, obj: str) -> None:
        level = rng.choice(LEVELS)
        out.append(f"{subject}\t{predicate}\t{obj}\tuser: synthetic benchmark {len(out) % 97}\tsection {len(out) % 13}"
                   f"\t{level}\t{rng.choice(('strong', 'moderate', 'weak', ''))}\tgenerated\n")

    while len(out) < statements:
        kind = rng.random()
        if kind < 0.06 or not drugs:
            drugs.append(f"synthetic drug {len(drugs)}")
            row(drugs[-1], "is_a", rng.choice(DRUG_CLASSES))
        elif kind < 0.10 or not contexts:
            contexts.append(f"synthetic molecule {len(contexts)} on myeloma cells")
            row(contexts[-1], "is_a", "molecule in a cell context")
        elif kind < 0.40:
            context = rng.choice(HUB_CONTEXTS) if rng.random() < 0.2 else rng.choice(contexts)
            row(rng.choice(drugs), rng.choice(("increases_expression", "decreases_expression")), context)
        elif kind < 0.65:
            cell = rng.choice(HUB_CELLS)
            row(rng.choice(drugs), rng.choice(("activates", "inhibits", "depletes", "increases_number")), cell)
        elif kind < 0.85:
            row(rng.choice(contexts), rng.choice(("activates", "inhibits")), rng.choice(HUB_CELLS))
        else:
            row(rng.choice(drugs), rng.choice(("inhibits", "activates")), rng.choice(contexts))
    return out[:statements]


def write(path: Path, statements: int, seed: int = 11) -> Path:
    """Write the extension to ``path`` and return it."""
    path.write_text(HEADER + "".join(rows(statements, seed)), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("statements", type=int)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    write(args.out, args.statements)


if __name__ == "__main__":
    main()
