"""Realistic synthetic extensions in the user TSV format, to measure how the engine scales.

Shaped like what a lab adds (see examples/my_findings.tsv): new drugs declared with an
existing therapeutic class (so class-level findings fan out to them), new molecules and
their cell contexts, new cell subpopulations, a few new resistance mechanisms, and signed
relations among them. Objects are drawn with a preference for hubs, both the knowledge
base's own (CD38 on myeloma cells, NK cells, CD55/CD59 on myeloma cells, ADCC) and the
new nodes made early, so degrees are skewed as in literature-mined graphs. Most links
point from newer to older nodes, a few the other way (feedback loops). Every statement
has a source, an evidence level and usually a magnitude; about 3% report no effect.

Run: python benchmarks/generate_extension.py 100000 -o /tmp/ext-100k.tsv [--seed 11]
The output is deterministic for a size and seed.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

HEADER = ["subject", "predicate", "object", "source", "section", "evidence_level", "magnitude", "note"]
DRUG_CLASSES = ["proteasome inhibitor", "immunomodulatory drug", "histone deacetylase inhibitor", "retinoid",
                "immune-checkpoint inhibitor", "monoclonal antibody", "alkylating agent", "corticosteroid",
                "bispecific antibody", "survivin inhibitor", "drug"]
MOLECULE_CLASSES = ["protein", "receptor", "ligand", "cytokine", "transcription factor", "enzyme"]
CELLS = ["myeloma cells", "NK cells", "T cells", "CD8+ T cells", "macrophages", "regulatory T cells", "monocytes",
         "myeloid-derived suppressor cells", "bone marrow stromal cells"]
HUB_CONTEXTS = ["CD38 on myeloma cells", "CD55 on myeloma cells", "CD59 on myeloma cells", "CD46 on myeloma cells",
                "CD47 on myeloma cells", "PD-L1 on myeloma cells", "HLA-E on myeloma cells", "NKG2A on NK cells",
                "FcγRIIIA (CD16) on NK cells", "CD38 on NK cells", "PD-1 on T cells", "survivin in myeloma cells"]
MECHANISMS = ["ADCC", "ADCP", "CDC", "direct apoptosis", "immunomodulation"]
ON_MOLECULE = ["increases_expression", "decreases_expression", "activates", "inhibits", "increases", "decreases"]
ON_CELL = ["activates", "inhibits", "depletes", "increases_number"]
EVIDENCE = [("in vitro", 40), ("ex vivo", 15), ("animal model", 15), ("hypothesis", 15), ("phase 1", 5),
            ("phase 2", 5), ("case series", 5)]
MAGNITUDES = [("strong", 25), ("moderate", 35), ("weak", 25), ("", 12), ("none", 3)]


class Generator:
    """Rows are produced until the requested number of statements is reached."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.rng = random.Random(seed)
        self.rows: list[list[str]] = []
        self.sources = max(10, size // 20)
        self.drugs: list[str] = []
        self.contexts: list[str] = list(HUB_CONTEXTS)
        self.cells: list[str] = list(CELLS)
        self.counter = 0

    def full(self) -> bool:
        return len(self.rows) >= self.size

    def add(self, subject: str, predicate: str, obj: str) -> None:
        if self.full():
            return
        level = self._weighted(EVIDENCE)
        magnitude = "" if predicate == "is_a" else self._weighted(MAGNITUDES)
        source = f"doi:10.5555/cd38kg.synthetic.{self.rng.randrange(self.sources)}"
        self.rows.append([subject, predicate, obj, source, "Results", level, magnitude, ""])

    def _weighted(self, choices: list[tuple[str, int]]) -> str:
        return self.rng.choices([c for c, _ in choices], [w for _, w in choices])[0]

    def hub(self, pool: list[str], existing: int) -> str:
        """An earlier node, skewed towards the first ones made (the hubs); the knowledge
        base's own nodes (the first ``existing`` of the pool) are picked a fifth of the time."""
        if existing and self.rng.random() < 0.2:
            return pool[self.rng.randrange(existing)]
        return pool[int(len(pool) * self.rng.random() ** 2.5)]

    def molecule(self) -> None:
        self.counter += 1
        name = f"XP{self.counter:06d}"
        self.add(name, "is_a", self.rng.choice(MOLECULE_CLASSES))
        for cell in self.rng.sample(self.cells[:6], self.rng.choice([1, 1, 2, 3])):
            context = f"{name} on {cell}"
            self.add(context, "is_a", "molecule in a cell context")
            for _ in range(self.rng.choice([1, 2, 2, 3])):
                if self.rng.random() < 0.75:
                    self.add(context, self.rng.choice(ON_MOLECULE), self.hub(self.contexts, len(HUB_CONTEXTS)))
                else:
                    self.add(context, self.rng.choice(ON_CELL), self.hub(self.cells, len(CELLS)))
            if self.rng.random() < 0.03:
                self.add(context, "contributes_to", self.rng.choice(MECHANISMS))
            if self.rng.random() < 0.03 and len(self.contexts) > 20:  # feedback onto a newer node
                newer = self.contexts[self.rng.randrange(len(self.contexts) // 2, len(self.contexts))]
                self.add(newer, self.rng.choice(ON_MOLECULE), context)
            self.contexts.append(context)

    def cell(self) -> None:
        self.counter += 1
        name = f"XC{self.counter:06d} cells"
        self.add(name, "is_a", "cell population")
        self.add(name, "subpopulation_of", self.rng.choice(CELLS))
        self.add(name, "contributes_to", self.rng.choice(MECHANISMS))
        self.cells.append(name)

    def drug(self) -> None:
        self.counter += 1
        name = f"XQ-{self.counter:06d}"
        self.add(name, "is_a", self.rng.choice(DRUG_CLASSES))
        for _ in range(self.rng.choice([1, 2, 2, 3, 4])):
            if self.rng.random() < 0.8:
                self.add(name, self.rng.choice(ON_MOLECULE), self.hub(self.contexts, len(HUB_CONTEXTS)))
            else:
                self.add(name, self.rng.choice(ON_CELL), self.hub(self.cells, len(CELLS)))
        self.drugs.append(name)

    def resistance(self) -> None:
        self.counter += 1
        name = f"XR{self.counter:06d} resistance"
        self.add(name, "is_a", "acquired resistance mechanism")
        self.add(name, self.rng.choice(["increases_expression", "decreases_expression"]),
                 self.hub(self.contexts, len(HUB_CONTEXTS)))

    def run(self) -> list[list[str]]:
        kinds = [(self.molecule, 55), (self.drug, 35), (self.cell, 6), (self.resistance, 4)]
        makers, weights = [k for k, _ in kinds], [w for _, w in kinds]
        while not self.full():
            self.rng.choices(makers, weights)[0]()
        return self.rows


def write(size: int, path: Path, seed: int = 11) -> Path:
    """Write an extension of ``size`` statements (data rows) to ``path``."""
    rows = Generator(size, seed).run()
    with path.open("w", encoding="utf-8") as out:
        out.write(f"# Synthetic extension for benchmarks: {size} statements, seed {seed} (benchmarks/generate_extension.py)\n")
        for row in [HEADER, *rows]:
            out.write("\t".join(row) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("size", type=int, help="number of statements (data rows)")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    print(write(args.size, args.output, args.seed))


if __name__ == "__main__":
    main()
