"""The default engine as cached on disk, read back in parts: a question reads what it walks.

With a million statements, unpickling the whole engine took ten seconds, most of it
re-creating edges and findings that one question never reaches. The cache is one file of
sections. The *core* is read at once: the engine's small state and the
causal graph's topology as compressed sparse rows (node numbers in flat integer arrays,
which read back in milliseconds, with the signs of the edges behind each predecessor), and
per mechanism of action the distances and strongest walks to it that bound every search
and every partner's score. The name index is read name by name, each entity when it is
first labelled or resolved; each node's outgoing edges the first time a
search reaches the node; the list of findings and of triples only if something asks for
them (a question does not). The file is written once, atomically, and only read from the
user's own cache (a pickle is as trusted as the code that wrote it).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import struct
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..knowledge.names import NameIndex
from ..pickles import bulk_objects, write_cache
from .explain import Engine
from .paths import Adjacency, PathIndex

if TYPE_CHECKING:
    from .graph import Edge

#: First bytes of the file; a file without them (an older cache) is a miss.
MAGIC = b"cd38kg-engine/6\n"
#: Engine attributes that are not stored: rebuilt from the sections, or caches filled by questions.
_NOT_STORED = {"facts", "paths", "_impairments", "_blocks", "_closed", "_reference"}
_SIZE = struct.Struct("<Q")


def write_engine(engine: Engine, names: NameIndex, path: Path) -> None:
    """Cache ``engine`` (as built, before any question) with its name index at ``path``. A cache
    that cannot be written only costs the next run its time."""
    nodes, succ, pred, pred_signs = engine.paths.topology
    shards = bytearray()
    shard_offsets = array("q", [0])
    for node in nodes:
        shards += pickle.dumps(engine.paths.out_edges(node), protocol=pickle.HIGHEST_PROTOCOL)
        shard_offsets.append(len(shards))
    # Every search is bounded by its distances to a mechanism an antibody relies on: walked
    # back over the whole graph, they were half of a question's time with a million statements.
    length, bound = engine.weights.max_path_length, engine.path_bound
    relied = {m for antibody in engine.antibodies for m in engine.reliance(antibody)}
    distances = {m: bytes(engine.paths.distances_to(m, length, bound).row) for m in sorted(relied)}
    # Likewise the strongest walks to them, which bound every partner's score when ranking.
    strongest = {m: engine.paths.strongest_to(m, length, bound).tobytes() for m in sorted(relied)}
    facts = engine.facts
    state = {k: v for k, v in vars(engine).items()
             if k not in _NOT_STORED and not isinstance(getattr(type(engine), k, None), cached_property)}
    rows, keys = names.parts()
    core = {"facts": replace(facts, entities={}, findings=[], triples=[]), "state": state,
            "nodes": nodes, "succ": (succ.offsets.tobytes(), succ.targets.tobytes()),
            "pred": (pred.offsets.tobytes(), pred.targets.tobytes()), "pred_signs": pred_signs,
            "shards": shard_offsets.tobytes(), "distances": distances, "strongest": strongest}
    sections = {"core": pickle.dumps(core, protocol=pickle.HIGHEST_PROTOCOL), "edges": bytes(shards),
                "entities": _Table.pack(rows), "name keys": _Table.pack(keys),
                "findings": pickle.dumps(list(facts.findings), protocol=pickle.HIGHEST_PROTOCOL),
                "triples": pickle.dumps(list(facts.triples), protocol=pickle.HIGHEST_PROTOCOL)}
    table, offset = {}, 0
    for name, data in sections.items():
        table[name] = (offset, len(data))
        offset += len(data)
    header = pickle.dumps(table, protocol=pickle.HIGHEST_PROTOCOL)
    write_cache(path, [MAGIC + _SIZE.pack(len(header)) + header, *sections.values()])


def read_engine(path: Path) -> tuple[Engine, NameIndex] | None:
    """The engine and name index cached at ``path``, or None when there is none or it cannot be
    read (another version, a truncated file): the caller then builds it again."""
    try:
        handle = path.open("rb")
    except OSError:
        return None
    try:
        if handle.read(len(MAGIC)) != MAGIC:
            raise ValueError("not an engine cache")
        (size,) = _SIZE.unpack(handle.read(_SIZE.size))
        start, table = len(MAGIC) + _SIZE.size + size, pickle.loads(handle.read(size))  # noqa: S301
        if os.fstat(handle.fileno()).st_size != start + sum(length for _, length in table.values()):
            raise ValueError("the engine cache is incomplete")  # every later read then succeeds
        sections = _Sections(handle, start, table)
        with bulk_objects():
            core = pickle.loads(sections.read("core"))  # noqa: S301 - our own cache, written above
        names = NameIndex.from_parts(_Table(sections, "entities"), _Table(sections, "name keys"))
        nodes = core["nodes"]
        number = {node: i for i, node in enumerate(nodes)}
        succ, pred = (Adjacency(array("i", offsets), array("i", targets)) for offsets, targets in (core["succ"], core["pred"]))
        between = _EdgesBetween(sections, number, array("q", core["shards"]))
        facts = replace(core["facts"], entities=names.entities, findings=_OnDemand(sections, "findings"),
                        triples=_OnDemand(sections, "triples"))
    except (OSError, ValueError, KeyError, TypeError, EOFError, pickle.UnpicklingError, struct.error,
            AttributeError, ImportError):
        handle.close()
        return None
    engine = Engine.__new__(Engine)
    paths = PathIndex.stored(nodes, number, succ, pred, core["pred_signs"], between)
    vars(engine).update(core["state"], facts=facts, paths=paths, _impairments={}, _blocks={}, _closed={},
                        _reference=None)
    length, bound = engine.weights.max_path_length, engine.path_bound
    for mechanism, row in core["distances"].items():
        paths.remember_distances(mechanism, length, bound, row)
    for mechanism, data in core["strongest"].items():
        paths.remember_strongest(mechanism, length, bound, array("d", data))
    return engine, names


class _Sections:
    """Named byte ranges of the open cache file. The file stays open (a newer cache renamed
    over it leaves this one readable) and is read at explicit offsets, never through a shared
    file position, so the endpoint's forked workers can read it side by side."""

    def __init__(self, handle: IO[bytes], start: int, table: dict[str, tuple[int, int]]) -> None:
        self._handle, self._start, self._table = handle, start, table

    def read(self, name: str, offset: int = 0, length: int | None = None) -> bytes:
        begin, size = self._table[name]
        wanted = size - offset if length is None else length
        data = os.pread(self._handle.fileno(), wanted, self._start + begin + offset)
        if len(data) != wanted:
            raise EOFError(f"the engine cache ends inside section {name}")
        return data


class _EdgesBetween(Mapping[tuple[str, str], dict[str, "Edge"]]):
    """(source, target) -> the edges between them by relation, reading each source node's
    outgoing edges the first time any of them is asked for."""

    def __init__(self, sections: _Sections, number: dict[str, int], offsets: array) -> None:
        self._sections, self._number, self._offsets = sections, number, offsets
        self._read: dict[str, dict[str, dict[str, Edge]]] = {}

    def _from(self, source: str) -> dict[str, dict[str, Edge]]:
        out = self._read.get(source)
        if out is None:
            i = self._number[source]
            begin, end = self._offsets[i], self._offsets[i + 1]
            out = {}
            with bulk_objects():
                for edge in pickle.loads(self._sections.read("edges", begin, end - begin)):  # noqa: S301
                    out.setdefault(edge.target, {})[edge.relation.iri] = edge
            self._read[source] = out
        return out

    def __getitem__(self, pair: tuple[str, str]) -> dict[str, Edge]:
        return self._from(pair[0])[pair[1]]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return ((u, v) for u in self._number for v in self._from(u))

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _Table(Mapping[str, Any]):
    """A mapping with string keys kept in a section of the cache, each value read when its key
    is asked for: the name index of a million statements (450,000 entities and their names)
    took most of a second to unpickle for a question that resolves three names and labels the
    nodes of a few paths. The section holds the count, the keys' 64-bit hashes in ascending
    order, the offsets of their records, and the records, each a pickled (key, value);
    iterating reads every record (listing entities, suggesting near names)."""

    def __init__(self, sections: _Sections, name: str) -> None:
        self._sections, self._name = sections, name
        (count,) = _SIZE.unpack(sections.read(name, 0, _SIZE.size))
        self._hashes = array("Q", sections.read(name, _SIZE.size, 8 * count))
        self._offsets = array("Q", sections.read(name, _SIZE.size + 8 * count, 8 * (count + 1)))
        self._records = _SIZE.size + 8 * (2 * count + 1)
        self._found: dict[str, Any] = {}
        self._all: dict[str, Any] | None = None

    @staticmethod
    def pack(items: Mapping[str, Any]) -> bytes:
        entries = sorted((_hash(key), key, pickle.dumps((key, value), protocol=pickle.HIGHEST_PROTOCOL))
                         for key, value in items.items())
        offsets, records = array("Q", [0]), bytearray()
        for _, _, record in entries:
            records += record
            offsets.append(len(records))
        return b"".join([_SIZE.pack(len(entries)), array("Q", (h for h, _, _ in entries)).tobytes(),
                         offsets.tobytes(), bytes(records)])

    def _record(self, i: int) -> tuple[str, Any]:
        begin, end = self._offsets[i], self._offsets[i + 1]
        return pickle.loads(self._sections.read(self._name, self._records + begin, end - begin))  # noqa: S301

    def __getitem__(self, key: str) -> Any:
        if key in self._found:
            return self._found[key]
        if self._all is not None or not isinstance(key, str):
            return (self._all or {})[key]
        wanted = _hash(key)
        i = bisect_left(self._hashes, wanted)
        while i < len(self._hashes) and self._hashes[i] == wanted:
            stored, value = self._record(i)
            if stored == key:
                self._found[key] = value
                return value
            i += 1
        raise KeyError(key)

    def _every(self) -> dict[str, Any]:
        if self._all is None:
            with bulk_objects():
                self._all = dict(self._record(i) for i in range(len(self._hashes)))
        return self._all

    def __iter__(self) -> Iterator[str]:
        return iter(self._every())

    def __len__(self) -> int:
        return len(self._hashes)

    def __reduce__(self) -> tuple[type[dict[str, Any]], tuple[dict[str, Any]]]:
        return (dict, (self._every(),))


def _hash(key: str) -> int:
    """A stable 64-bit hash of a key (Python's own changes from one process to the next)."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


class _OnDemand(Sequence[Any]):
    """A list kept in a section of the cache, read on first use; pickled as a plain list."""

    def __init__(self, sections: _Sections, name: str) -> None:
        self._sections, self._name = sections, name
        self._items: list[Any] | None = None

    @property
    def items(self) -> list[Any]:
        if self._items is None:
            with bulk_objects():
                self._items = pickle.loads(self._sections.read(self._name))  # noqa: S301
        return self._items

    def __getitem__(self, index: Any) -> Any:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __eq__(self, other: object) -> bool:
        return self.items == (other.items if isinstance(other, _OnDemand) else other)

    __hash__ = None  # type: ignore[assignment]  # a list, as far as equality goes

    def __reduce__(self) -> tuple[type[list[Any]], tuple[list[Any]]]:
        return (list, (self.items,))


__all__ = ["read_engine", "write_engine"]
