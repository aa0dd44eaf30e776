"""Where the knowledge base lives: one interface (:mod:`.base`), one module per backend.

``BACKENDS`` lists them; :func:`open_store` is the one entry point. Adding a backend is
one module with a class following :class:`.base.KnowledgeStore` plus one line here. The
backend is chosen by ``--store DIR`` (on-disk Oxigraph), ``--endpoint URL`` (a SPARQL 1.1
endpoint), or their environment variables ``CD38KG_STORE_DIR`` and ``CD38KG_ENDPOINT``;
``CD38KG_STORE`` names a backend outright. The default is in-memory Oxigraph.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import import_module
from typing import TYPE_CHECKING

from ..errors import Cd38kgError
from .files import max_input_bytes, new_graph, parse_into, rdf_format, read_text, values_clause, write_text

if TYPE_CHECKING:
    from .base import KnowledgeStore

#: Backend name -> "module:class", imported only when chosen.
BACKENDS: dict[str, str] = {
    "memory": "cd38kg.store.memory:MemoryStore",
    "disk": "cd38kg.store.disk:DiskStore",
    "remote": "cd38kg.store.remote:RemoteStore",
}


def open_store(store_dir: str | None = None, endpoint: str | None = None,
               question: Sequence[str] = (), reach: int | None = None) -> KnowledgeStore:
    """The store to load into or read from: arguments first, then the environment, else memory.

    ``question`` names what one question is about (``explain``'s agents and resistance) and
    ``reach`` is the longest path searched (default: the default weights'): an endpoint then sends
    only the neighbourhood they need (a local store holds everything anyway)."""
    store_dir = store_dir or os.environ.get("CD38KG_STORE_DIR") or None
    endpoint = endpoint or os.environ.get("CD38KG_ENDPOINT") or None
    if store_dir and endpoint:
        raise Cd38kgError("give either --store DIR or --endpoint URL, not both")
    name = "disk" if store_dir else "remote" if endpoint else os.environ.get("CD38KG_STORE", "memory")
    if name not in BACKENDS:
        raise Cd38kgError(f"CD38KG_STORE={name!r} is not a known store; use one of {', '.join(BACKENDS)}")
    module, _, cls = BACKENDS[name].partition(":")
    backend = getattr(import_module(module), cls)
    if name == "remote":
        return backend(endpoint, focus=question, **({"hops": reach} if reach else {}))
    return backend(store_dir)


__all__ = ["BACKENDS", "max_input_bytes", "new_graph", "open_store", "parse_into", "rdf_format", "read_text",
           "values_clause", "write_text"]
