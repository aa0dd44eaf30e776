"""Where the bundled ontology and queries live, installed or in a checkout.

A wheel carries them inside the package (``cd38kg/ontology``); an editable install
finds them at the top of the source tree. Both are located here and nowhere else.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


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
