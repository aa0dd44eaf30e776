"""Where the bundled ontology, queries and example inputs live, installed or in a checkout.

A wheel carries them inside the package (``cd38kg/ontology``, ``cd38kg/examples``); an
editable install finds them at the top of the source tree. Both are located here and
nowhere else.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import Cd38kgError

#: Example inputs are the extension files and profiles in examples/ (pyproject ships them).
EXAMPLE_SUFFIXES = (".tsv", ".ttl", ".yaml")


def _bundled_dir(name: str) -> Path:
    packaged = Path(str(resources.files("cd38kg"))) / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"the bundled {name}/ folder is missing from the installation")


def ontology_dir() -> Path:
    """The folder of bundled Turtle files."""
    return _bundled_dir("ontology")


def queries_dir() -> Path:
    """The folder of named SPARQL queries."""
    return _bundled_dir("queries")


def ontology_files() -> list[Path]:
    """Bundled curated Turtle files (claims excluded), in a stable order."""
    return sorted(p for p in ontology_dir().glob("*.ttl") if p.name not in {"claims.ttl", "shapes.ttl"})


def claims_file() -> Path:
    """The literature-claims Turtle file (loaded into its own named graph)."""
    return ontology_dir() / "claims.ttl"


def shapes_file() -> Path:
    """The SHACL shapes used by ``validate``."""
    return ontology_dir() / "shapes.ttl"


def bundled_inferences_file() -> Path:
    """The reasoner's inferences for the bundled knowledge base, shipped precomputed."""
    return ontology_dir() / "inferred" / "hermit.nt"


def expert_questions_file() -> Path:
    """The expert question set (``tests/expert`` in a checkout, ``cd38kg/expert`` in a wheel)."""
    packaged = Path(str(resources.files("cd38kg"))) / "expert" / "questions.yaml"
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "tests" / "expert" / "questions.yaml"


def examples() -> dict[str, Path]:
    """The shipped example inputs (extension files and patient profiles) by file name."""
    folder = _bundled_dir("examples")
    return {p.name: p for p in sorted(folder.iterdir()) if p.suffix in EXAMPLE_SUFFIXES and p.is_file()}


def example_file(name: str) -> Path:
    """One shipped example input, by file name."""
    found = examples().get(name)
    if found is None:
        raise Cd38kgError(f"unknown example {name!r}; examples: {', '.join(examples())}")
    return found


def example_summaries() -> list[dict[str, str]]:
    """Each shipped example's name, what it is for, and its first comment line."""
    out = []
    for name, path in examples().items():
        first = next((line.lstrip("# ").strip() for line in path.read_text(encoding="utf-8").splitlines()
                      if line.startswith("#")), "")
        kind = "patient profile (cd38kg profile)" if path.suffix == ".yaml" else "extension file (--extra)"
        out.append({"name": name, "kind": kind, "description": first})
    return out


def user_file(name: str) -> Path:
    """The file a user named: that path, or a shipped example of that name when no such file
    exists, so ``--extra my_findings.tsv`` works from any directory after a plain install."""
    path = Path(name)
    if not path.exists() and path.name == name and name in examples():
        return examples()[name]
    return path
