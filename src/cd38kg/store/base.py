"""The store interface every backend implements, and the conversions they share.

Whatever the backend, the engine reads one local pyoxigraph ``Store`` holding the named
graphs ``graph/curated``, ``graph/asserted`` and ``graph/inferred`` under their fixed IRIs
(a graph created by oxrdflib's ``Graph()`` gets a blank-node name that raw pyoxigraph
queries do not see). Backends differ only in where those quads come from: parsed in this
process (:mod:`.memory`), a directory reopened (:mod:`.disk`), or the neighbourhood the
engine needs fetched from a SPARQL 1.1 endpoint (:mod:`.remote`). A :class:`Manifest`
says what a store holds, so a store that already holds the knowledge base for the same
inputs is used as it is instead of being loaded again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyoxigraph
    from rdflib import Dataset


@dataclass
class Manifest:
    """What a store holds: the fingerprint of its inputs and what the loader learnt reading them."""

    key: str
    inference_key: str = ""
    extras: list[str] = field(default_factory=list)
    new_entities: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_text(self) -> str:
        """One line of JSON, then the new entities' IRIs one per line: a million statements
        bring 400,000 of them, and splitting lines reads them several times quicker than JSON,
        on every command that opens the store."""
        head = {name: value for name, value in asdict(self).items() if name != "new_entities"}
        return "".join([json.dumps(head, ensure_ascii=False), "\n", *(f"{iri}\n" for iri in self.new_entities)])

    @classmethod
    def from_text(cls, text: str) -> Manifest:
        head, _, rest = text.partition("\n")
        try:
            data = json.loads(head)
        except ValueError:  # a manifest written as one JSON document (cd38kg before 2026-12-08)
            data = json.loads(text)
        else:
            data["new_entities"] = rest.split("\n")[:-1]  # each line ends in one: IRIs hold none
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


class KnowledgeStore(Protocol):
    """Where the knowledge base lives. The loader asks :meth:`holding` first; when the store
    does not hold these inputs it fills :meth:`begin`'s empty store and calls :meth:`commit`."""

    #: The backend's name, as ``CD38KG_STORE`` spells it.
    name: str
    #: False when the knowledge base is someone else's (an endpoint): nothing is loaded into it.
    loads_inputs: bool
    #: True when filling can wait until something reads the store (a private in-memory store);
    #: a store others open (a directory) is filled at once so it always holds what was loaded.
    fills_on_demand: bool
    #: The names of the one question whose neighbourhood the local copy holds (an endpoint's
    #: copy fetched for ``explain``); empty when it holds what every question needs.
    focus: tuple[str, ...]
    #: True when the local copy holds only the entities ``focus`` names (an endpoint's copy for
    #: resolving a query's parameters, the query itself running on the server): no question.
    names_only: bool

    @property
    def oxigraph(self) -> pyoxigraph.Store:
        """The local store the engine reads."""
        ...

    def holding(self, key: str) -> Manifest | None:
        """The manifest when the store already holds the knowledge base for inputs ``key``."""
        ...

    def begin(self) -> pyoxigraph.Store:
        """An empty store to load the knowledge base into."""
        ...

    def commit(self, manifest: Manifest) -> None:
        """Record that the store now holds what ``manifest`` describes."""
        ...

    def describe(self) -> str:
        """Where the store is, for messages."""
        ...

    def copy_with(self, ntriples: bytes, graph: str) -> pyoxigraph.Store:
        """A copy of the store with one more named graph (the derived strategies a query
        joins), leaving the store itself as it was."""
        ...


def dataset_over(store: pyoxigraph.Store) -> Dataset:
    """An rdflib Dataset view of a pyoxigraph store; its default graph is the union of the named graphs."""
    from oxrdflib import OxigraphStore
    from rdflib import Dataset

    return Dataset(store=OxigraphStore(store=store), default_union=True)


def to_ox(term: Any) -> Any:
    """An rdflib term as a pyoxigraph term (IRIs, blank nodes and literals)."""
    import pyoxigraph as ox
    from rdflib import BNode, Literal, URIRef

    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)) if term.datatype else None)
    raise ValueError(f"not an RDF term: {term!r}")


def add_triples(store: pyoxigraph.Store, triples: Iterable[tuple[Any, Any, Any]], graph: str) -> None:
    """Put rdflib (or plain-IRI) triples into one named graph in a single bulk insert, never one by one."""
    import pyoxigraph as ox

    name = ox.NamedNode(graph)
    store.bulk_extend(ox.Quad(_term(s), _term(p), _term(o), name) for s, p, o in triples)


def _term(term: Any) -> Any:
    """Strings are IRIs (the reasoner's output); everything else is an rdflib term."""
    import pyoxigraph as ox

    return ox.NamedNode(term) if type(term) is str else to_ox(term)


def memory_copy_with(source: pyoxigraph.Store, ntriples: bytes, graph: str) -> pyoxigraph.Store:
    """Every quad of ``source`` and the N-Triples ``ntriples`` in ``graph``, in a new in-memory
    store, in bulk."""
    import pyoxigraph

    target = pyoxigraph.Store()
    target.bulk_extend(source.quads_for_pattern(None, None, None, None))
    target.bulk_load(ntriples, pyoxigraph.RdfFormat.N_TRIPLES, to_graph=pyoxigraph.NamedNode(graph))
    return target
