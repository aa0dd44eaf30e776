"""Formats in and out, one module each, readers and writers in pairs (``from_x`` / ``to_x``).

``READERS`` lists every format an ``--extra`` file can be in; the first whose ``sniff``
accepts the file (by its extension, then by its content) reads it. Adding a format is one
module plus one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputFileError
from .matching import Imported

#: Extensions of the data formats (everything else goes through the RDF format checks).
DATA_SUFFIXES = (".tsv", ".json", ".jsonl")

if TYPE_CHECKING:
    from rdflib import Graph

    from ..knowledge.written import WrittenTriples


@dataclass(frozen=True)
class Reader:
    """One input format: how to recognise a file of it, and how to read one against the graph
    loaded so far (and the triples the loader has written to it, when it kept them)."""

    name: str
    sniff: Callable[[Path, str], bool]
    read: Callable[[Path, str, Graph, WrittenTriples | None], Imported]


def _kgx(path: Path, text: str) -> bool:
    from .kgx import kgx_kind

    return kgx_kind(path, text) is not None


def _read_kgx(path: Path, text: str, graph: Graph, written: WrittenTriples | None) -> Imported:
    from .kgx import from_kgx

    return from_kgx(path, text, graph, written)


def _indra(path: Path, text: str) -> bool:
    return path.suffix.lower() == ".json"


def _read_indra(path: Path, text: str, graph: Graph, written: WrittenTriples | None) -> Imported:
    from .indra import from_indra

    return from_indra(path, text, graph, written)


def _read_tsv(path: Path, text: str, graph: Graph, written: WrittenTriples | None) -> Imported:
    from ..knowledge.extend import read_tsv_extension
    from ..knowledge.facts import select_facts
    from ..knowledge.names import NameIndex

    base = select_facts(graph, written=written)
    extension = read_tsv_extension(path, NameIndex(base.entities.values()), base.relations, base.classes)
    return Imported(str(path), extension.triples, extension.new_entities)


def _read_turtle(path: Path, text: str, graph: Graph, written: WrittenTriples | None) -> Imported:
    from ..store import new_graph, parse_into

    staging = new_graph()
    parse_into(staging, path, text)
    return Imported(str(path), list(staging))


READERS: tuple[Reader, ...] = (
    Reader("KGX", _kgx, _read_kgx),
    Reader("INDRA statements", _indra, _read_indra),
    Reader("TSV findings", lambda path, _: path.suffix.lower() == ".tsv", _read_tsv),
    Reader("Turtle", lambda path, _: path.suffix.lower() not in DATA_SUFFIXES, _read_turtle),
)


def read_extension(path: Path, text: str, graph: Graph, written: WrittenTriples | None = None) -> Imported:
    """Read one extension file, in whichever format it is, against the graph loaded so far;
    ``written`` holds the triples written to it, so a second large file does not read the first
    back out of the store to resolve its names."""
    for reader in READERS:
        if reader.sniff(path, text):
            return reader.read(path, text, graph, written)
    raise InputFileError(str(path), "unrecognised content: a .jsonl extension must be KGX nodes or edges "
                         "(JSON objects with id/category, or subject/predicate/object)")


def check_extension_path(path: Path) -> None:
    """Fail early, with the file named, when an extension path is unusable."""
    from ..knowledge.extend import check_extension_path as check_rdf_or_tsv

    if path.suffix.lower() in DATA_SUFFIXES[1:]:
        if not path.is_file():
            raise InputFileError(str(path), "no such file")
        return
    check_rdf_or_tsv(path)


__all__ = ["DATA_SUFFIXES", "READERS", "Imported", "Reader", "check_extension_path", "read_extension"]
