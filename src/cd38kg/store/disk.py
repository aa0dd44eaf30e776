"""An on-disk Oxigraph store (``--store DIR``): load once, reopen in well under a second.

``DIR/oxigraph`` is an ordinary Oxigraph database (RocksDB), so the Oxigraph server can
serve the same directory (``oxigraph serve-read-only --location DIR/oxigraph``). A query that
joins the engine's derived strategies reads a RocksDB checkpoint with that graph added
(``DIR/scratch-*``: hard links to the same files, made in milliseconds instead of copying
hundreds of thousands of quads), removed when the command ends.
``DIR/cd38kg-store.json`` records the fingerprint of the inputs it was loaded from; a
store loaded from other inputs (another ``--extra``, an edited file, a newer cd38kg) is
emptied and loaded again, and the manifest is removed first so a load broken off halfway
is never taken for a complete one. A store that holds the inputs is opened read-only, so
several commands (and a server) can read it at once.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import Cd38kgError
from ..pickles import collect_exempted
from ..progress import say
from .base import Manifest
from .files import write_text

if TYPE_CHECKING:
    import pyoxigraph

MANIFEST = "cd38kg-store.json"
DATA = "oxigraph"
#: Checkpoints of ``DATA`` with a graph added (see :meth:`DiskStore.copy_with`).
SCRATCH = "scratch-"


class DiskStore:
    """An Oxigraph database in a directory, with the manifest of what it holds beside it."""

    name = "disk"
    loads_inputs = True
    fills_on_demand = False
    focus: tuple[str, ...] = ()
    names_only = False

    def __init__(self, location: str | None = None) -> None:
        if not location:
            raise Cd38kgError("the disk store needs a directory: give --store DIR (or set CD38KG_STORE_DIR)")
        self.directory = Path(location).expanduser()
        if self.directory.exists() and not self.directory.is_dir():
            raise Cd38kgError(f"--store {self.directory}: not a directory")
        if self.directory.is_dir():
            foreign = sorted(p.name for p in self.directory.iterdir()
                             if p.name not in (MANIFEST, DATA) and not p.name.startswith(SCRATCH))
            if foreign:
                raise Cd38kgError(f"--store {self.directory}: not a cd38kg store (it holds {foreign[0]!r}"
                                  f"{' and more' if len(foreign) > 1 else ''}); give a new or empty directory")
        self._store: pyoxigraph.Store | None = None

    @property
    def oxigraph(self) -> pyoxigraph.Store:
        if self._store is None:
            raise Cd38kgError(f"the store in {self.directory} is not open")
        return self._store

    def holding(self, key: str) -> Manifest | None:
        import pyoxigraph

        manifest = self._manifest()
        if manifest is None:
            return None
        if manifest.key != key:
            say(f"The store in {self.directory} was loaded from other inputs; loading it again")
            return None
        try:
            self._store = pyoxigraph.Store.read_only(str(self.directory / DATA))
        except OSError as err:
            raise Cd38kgError(f"cannot open the store in {self.directory}: {_first_line(err)}") from None
        return manifest

    def begin(self) -> pyoxigraph.Store:

        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            (self.directory / MANIFEST).unlink(missing_ok=True)
            for scratch in self.directory.glob(SCRATCH + "*"):  # left by commands that were killed
                shutil.rmtree(scratch, ignore_errors=True)
            self._store = _writable(self.directory / DATA)
            self._store.clear()
        except OSError as err:
            raise Cd38kgError(f"cannot write the store in {self.directory}: {_first_line(err)} "
                              "(is another cd38kg or oxigraph process using it?)") from None
        return self._store

    def commit(self, manifest: Manifest) -> None:
        self.oxigraph.flush()
        write_text(manifest.to_text(), self.directory / MANIFEST)

    def describe(self) -> str:
        return str(self.directory)

    def copy_with(self, ntriples: bytes, graph: str) -> pyoxigraph.Store:
        """A checkpoint of the store in ``DIR/scratch-*`` (hard links: the same filesystem, no
        copying) with ``graph`` added, reopened read-only: a store open for writing has RocksDB
        threads that a query worker forked from this process could deadlock on. The checkpoint
        is removed when this process (not a worker forked from it) ends."""
        import pyoxigraph

        try:
            scratch = Path(tempfile.mkdtemp(prefix=SCRATCH, dir=self.directory))
            atexit.register(_remove_scratch, scratch, os.getpid())
            self.oxigraph.backup(str(scratch / DATA))
            writable = pyoxigraph.Store(str(scratch / DATA))
            writable.bulk_load(ntriples, pyoxigraph.RdfFormat.N_TRIPLES, to_graph=pyoxigraph.NamedNode(graph))
            writable.flush()
            del writable  # closed: RocksDB allows one writer, and the reader below must see it all
            return pyoxigraph.Store.read_only(str(scratch / DATA))
        except OSError as err:
            raise Cd38kgError(f"cannot make a working copy of the store in {self.directory}: {_first_line(err)}") from None

    def _manifest(self) -> Manifest | None:
        path = self.directory / MANIFEST
        if not path.is_file():
            return None
        try:
            return Manifest.from_text(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError) as err:
            raise Cd38kgError(f"--store {self.directory}: unreadable {MANIFEST} ({_first_line(err)}); "
                              "delete the directory to start again") from None


def _writable(location: Path) -> pyoxigraph.Store:
    """The store at ``location`` opened for writing, even when a knowledge base this process
    loaded from it earlier and dropped still holds its lock, uncollected."""
    import pyoxigraph

    try:
        return pyoxigraph.Store(str(location))
    except OSError as err:
        if "lock hold by current process" not in str(err):
            raise
    collect_exempted()
    return pyoxigraph.Store(str(location))


def _remove_scratch(scratch: Path, owner: int) -> None:
    """Remove a checkpoint, from the process that made it only (a forked worker ends too)."""
    if os.getpid() == owner:
        shutil.rmtree(scratch, ignore_errors=True)


def _first_line(err: BaseException) -> str:
    return (str(err) or type(err).__name__).splitlines()[0]
