"""Reading and writing the user's files, and RDF parsing with errors a person can act on.

User files are untrusted: only Turtle, N-Triples and TSV are read, never more than a size
cap, only regular files. Nothing is fetched (Turtle has no import mechanism and
``owl:imports`` is never followed), and RDF/XML and JSON-LD are refused because their
parsers expand entities or fetch remote contexts. Parsing uses Oxigraph's parser through
oxrdflib (``ox-turtle``), 20x faster than rdflib's own; SPARQL parameters are bound with a
trailing ``VALUES`` clause (oxrdflib refuses ``initBindings`` for unprojected variables).
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import Cd38kgError, InputFileError

if TYPE_CHECKING:
    import pyoxigraph
    from rdflib import Graph

RDF_SUFFIXES = {".ttl": "turtle", ".turtle": "turtle", ".nt": "nt"}
REFUSED_SUFFIXES = {
    ".rdf": "RDF/XML", ".owl": "RDF/XML", ".xml": "RDF/XML", ".jsonld": "JSON-LD", ".json": "JSON-LD",
}
_OX_LINE = re.compile(r"(?:Parser error )?(?:at|between) line (\d+)[^:]*: (.*)")


def new_graph() -> Graph:
    """A standalone graph over its own in-memory Oxigraph store, for staging and small files."""
    import oxrdflib  # noqa: F401  (registers the "Oxigraph" store plugin)
    from rdflib import Graph

    return Graph(store="Oxigraph")


def max_input_bytes() -> int:
    """The size cap on any file a user hands us: ``CD38KG_MAX_INPUT_MB`` megabytes (default 32)."""
    value = os.environ.get("CD38KG_MAX_INPUT_MB", "32")
    try:
        megabytes = float(value)
    except ValueError:
        raise Cd38kgError(f"CD38KG_MAX_INPUT_MB={value!r} is not a number of megabytes") from None
    return int(megabytes * 2**20)


def read_text(path: Path, limit: int | None = None) -> str:
    """A user file's text, with unreadable files reported as one-line errors.

    Only regular files are read (a FIFO would block and ``/dev/zero`` never ends), never more
    than ``limit`` bytes (default :func:`max_input_bytes`), and a UTF-8 byte-order mark or
    Windows line endings (as Excel writes them) are accepted.
    """
    return decode_text(path, read_bytes(path, limit))


def read_bytes(path: Path, limit: int | None = None) -> bytes:
    """A user file's bytes, with :func:`read_text`'s checks but not decoded: enough to
    fingerprint it, when a cache of what it says makes reading it as text unnecessary."""
    hint = " (CD38KG_MAX_INPUT_MB raises it)" if limit is None else ""
    limit = max_input_bytes() if limit is None else limit
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError(str(path), "is not a regular file (a device, pipe or socket); give a file")
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise InputFileError(str(path), "no such file") from None
    except IsADirectoryError:
        raise InputFileError(str(path), "is a directory, not a file") from None
    except PermissionError:
        raise InputFileError(str(path), "permission denied") from None
    except OSError as err:
        raise InputFileError(str(path), f"cannot be read ({err.strerror})") from None
    if len(data) > limit:
        raise InputFileError(str(path), f"is larger than {_size(limit)}, the most read from such a file{hint}")
    return data


def decode_text(path: Path, data: bytes) -> str:
    """The text of ``data`` read from ``path``: UTF-8 (a byte-order mark allowed), no NUL,
    line endings made Unix ones."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputFileError(str(path), f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    if "\0" in text:
        raise InputFileError(str(path), f"contains a NUL character at byte {data.index(0)}: a binary file, not text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _size(count: int) -> str:
    for unit, scale in (("MB", 2**20), ("kB", 2**10)):
        if count >= scale:
            return f"{count / scale:g} {unit}"
    return f"{count} bytes"


def write_text(text: str, out_path: str | Path) -> Path:
    """Write an output file atomically (temporary file, then rename), so a reader never sees half a file."""
    out = Path(out_path)
    if not out.parent.is_dir():
        raise Cd38kgError(f"cannot write {out}: the directory {out.parent} does not exist")
    if out.is_dir():
        raise Cd38kgError(f"cannot write {out}: it is a directory")
    mode = out.stat().st_mode & 0o777 if out.exists() else 0o644  # mkstemp would leave 0600
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(tmp).chmod(mode)
        Path(tmp).replace(out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def rdf_format(path: Path) -> str:
    """The RDF syntax of a file from its suffix, refusing unsafe or unknown syntaxes."""
    suffix = path.suffix.lower()
    if suffix in REFUSED_SUFFIXES:
        raise InputFileError(
            str(path),
            f"{REFUSED_SUFFIXES[suffix]} is not accepted (its parser can expand entities or fetch "
            "remote documents); convert the file to Turtle",
        )
    if suffix not in RDF_SUFFIXES:
        raise InputFileError(str(path), f"unknown file type {suffix or '(none)'}; use .ttl, .nt or .tsv")
    return RDF_SUFFIXES[suffix]


def parse_into(graph: Graph, path: Path, text: str | None = None) -> None:
    """Parse one Turtle/N-Triples file into an rdflib ``graph``, reporting syntax errors with their line."""
    fmt = rdf_format(path)
    data = read_text(path) if text is None else text
    try:
        graph.parse(data=data, format="ox-turtle" if fmt == "turtle" else "ox-ntriples",
                    publicID=path.resolve().as_uri())
    except Exception as err:  # Oxigraph's SyntaxError, rdflib's BadSyntax and friends
        raise syntax_error(path, fmt, err) from None


def load_into(store: pyoxigraph.Store, path: Path, graph: str, text: str | None = None) -> None:
    """Bulk-load one Turtle/N-Triples file into a named graph of a pyoxigraph store."""
    import pyoxigraph as ox

    fmt = rdf_format(path)
    data = read_text(path) if text is None else text
    try:
        store.bulk_load(data, ox.RdfFormat.TURTLE if fmt == "turtle" else ox.RdfFormat.N_TRIPLES,
                        base_iri=path.resolve().as_uri(), to_graph=ox.NamedNode(graph))
    except SyntaxError as err:
        raise syntax_error(path, fmt, err) from None


def syntax_error(path: Path, fmt: str, err: Exception) -> InputFileError:
    """A parser's error as one line naming the file and line."""
    match = _OX_LINE.search(str(err))
    if match:
        return InputFileError(str(path), f"bad {fmt} syntax: {match.group(2)}", int(match.group(1)))
    return _rdflib_syntax_error(path, fmt, err)


def _rdflib_syntax_error(path: Path, fmt: str, err: Exception) -> InputFileError:
    """rdflib's multi-line syntax errors folded into one line with the line number."""
    line_match = re.search(r"at line (\d+)", str(err))
    reason = str(err).splitlines()[0] if str(err) else type(err).__name__
    detail = re.search(r"Bad syntax \(([^)]*)\)", str(err))
    if detail:
        reason = detail.group(1)
    return InputFileError(str(path), f"bad {fmt} syntax: {reason}", int(line_match.group(1)) if line_match else None)


def values_clause(bindings: dict[str, object]) -> str:
    """A trailing SPARQL ``VALUES`` clause binding variables to Oxigraph terms (anything else
    becomes a plain literal of its text).

    Terms are written by Oxigraph in N-Triples syntax after IRIs are checked for characters
    that could end the IRI early, so user input can never change the query's structure.
    """
    import pyoxigraph

    if not bindings:
        return ""
    names = sorted(bindings)
    cells = []
    for name in names:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise Cd38kgError(f"bad query parameter name {name!r}")
        term = bindings[name]
        if isinstance(term, pyoxigraph.NamedNode):
            if re.search(r'[\s<>"{}|\\^`]', term.value):
                raise Cd38kgError(f"parameter {name}: {term.value!r} is not a valid IRI")
        elif not isinstance(term, pyoxigraph.Literal):
            term = pyoxigraph.Literal(str(term))
        cells.append(str(term))
    return f"\nVALUES ({' '.join('?' + n for n in names)}) {{ ({' '.join(cells)}) }}\n"
