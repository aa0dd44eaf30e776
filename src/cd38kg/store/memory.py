"""The default backend: an in-memory Oxigraph store, filled in this process on every load.

No setup and nothing left behind; the caches beside the reasoner's (inferences, parsed
extensions, derived strategies) keep a reload down to bulk-loading N-Triples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Manifest, memory_copy_with

if TYPE_CHECKING:
    import pyoxigraph


class MemoryStore:
    """An Oxigraph store in this process's memory."""

    name = "memory"
    loads_inputs = True
    fills_on_demand = True
    focus: tuple[str, ...] = ()
    names_only = False

    def __init__(self, location: str | None = None) -> None:
        import pyoxigraph

        self._store = pyoxigraph.Store()

    @property
    def oxigraph(self) -> pyoxigraph.Store:
        return self._store

    def holding(self, key: str) -> Manifest | None:
        return None  # a new process starts empty

    def begin(self) -> pyoxigraph.Store:
        self._store.clear()
        return self._store

    def commit(self, manifest: Manifest) -> None:
        """Nothing to record: the store ends with the process."""

    def describe(self) -> str:
        return "memory"

    def copy_with(self, ntriples: bytes, graph: str) -> pyoxigraph.Store:
        return memory_copy_with(self._store, ntriples, graph)
