"""The triples a load writes, kept by layer and predicate, so the reads that follow need no store.

After writing a million statements a load used to read most of them straight back: the
findings to project them, the names for the names graph, class memberships and relations for
the materialiser, types and causal triples for the facts. On disk every row read turns
RocksDB's term identifiers back into strings, and those reads were more than a third of the
load. The loader writes every triple from Python, so it keeps them here, as the strings a
query would return, and the reads that follow are answered from them
(:class:`cd38kg.knowledge.pattern.Pattern`).

A term is kept only as Python holds it exactly as Oxigraph gives it back: IRIs, and literals
with no datatype (plain or language-tagged) or ``xsd:string``. Oxigraph writes other typed
literals in canonical form (``"1.50"^^xsd:decimal`` comes back as ``1.5``) and renames blank
nodes when it loads them, so a triple with such a term is not kept; a read it would belong to
is answered ``None`` (unknown) and goes to the store. The store's own triples (the bundled
files, loaded first) are taken from the store, blank nodes and all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from sys import intern
from typing import TYPE_CHECKING

from ..vocab import XSD
from .pattern import Pattern

if TYPE_CHECKING:
    import pyoxigraph

#: (subject, object) pairs by predicate
Pairs = dict[str, list[tuple[str, str]]]


class WrittenTriples:
    """Every triple written to the knowledge layers, by layer and predicate, in three kinds of
    rows: IRI to IRI, IRI to literal (its lexical form), and rows with a blank node of the
    store's own (rare: the bundled files' restrictions), which every read filters one by one.
    """

    def __init__(self) -> None:
        self._iris: dict[str, Pairs] = defaultdict(lambda: defaultdict(list))
        self._literals: dict[str, Pairs] = defaultdict(lambda: defaultdict(list))
        self._blank: dict[str, dict[str, list[tuple[str, str, bool]]]] = defaultdict(lambda: defaultdict(list))
        #: (layer, predicate) -> the objects (IRIs, "" for others) of triples not kept for a blank subject
        self._unkept_subjects: dict[tuple[str, str], set[str]] = defaultdict(set)
        #: (layer, predicate, "blank" or "literal"): an object of that kind not kept
        self._unkept_objects: set[tuple[str, str, str]] = set()

    def take_stored(self, store: pyoxigraph.Store, layer: str) -> None:
        """Everything ``store`` holds in ``layer``, as the store gives it back."""
        import pyoxigraph

        for s, p, o, _ in store.quads_for_pattern(None, None, None, pyoxigraph.NamedNode(layer)):
            subject, obj = _stored(s), _stored(o)
            literal = isinstance(o, pyoxigraph.Literal)
            if isinstance(s, pyoxigraph.BlankNode) or isinstance(o, pyoxigraph.BlankNode):
                self._blank[layer][p.value].append((subject, obj, literal))
            else:
                (self._literals if literal else self._iris)[layer][p.value].append((subject, obj))

    def passing(self, triples: Iterable[tuple[object, object, object]], layer: str) -> Iterator[tuple[object, object, object]]:
        """``triples`` unchanged, each kept on the way into ``layer``. IRIs are strings (or rdflib
        ``URIRef``s), everything else rdflib terms (:func:`cd38kg.store.base.add_triples`)."""
        from rdflib import Literal, URIRef

        iris, literals, text = self._iris[layer], self._literals[layer], str(XSD.string)
        for triple in triples:
            s, p, o = triple
            predicate = p if type(p) is str else str(p)
            if type(s) is not str and not isinstance(s, URIRef):
                self._unkept_subjects[(layer, predicate)].add(
                    str(o) if type(o) is str or isinstance(o, URIRef) else "")
            elif type(o) is str or isinstance(o, URIRef):
                iris[predicate].append((intern(str(s)), intern(str(o))))
            elif isinstance(o, Literal) and (o.datatype is None or str(o.datatype) == text):
                literals[predicate].append((intern(str(s)), str(o)))
            else:
                self._unkept_objects.add((layer, predicate, "literal" if isinstance(o, Literal) else "blank"))
            yield triple

    def take(self, triples: Iterable[tuple[object, object, object]], layer: str) -> None:
        """Keep ``triples`` (written to ``layer`` some other way)."""
        for _ in self.passing(triples, layer):
            pass

    def rows(self, pattern: Pattern, layers: Iterable[str]) -> list[tuple[str, ...]] | None:
        """The rows :attr:`Pattern.query` would select over the union of ``layers``, or None when a
        triple not kept could be among them."""
        out: list[tuple[str, ...]] = []
        predicate, value = pattern.predicate, pattern.value
        for layer in layers:
            if not self._exact(pattern, layer):
                return None
            iris = self._iris[layer].get(predicate, ())
            if value is not None:
                out += [(s,) for s, o in iris if o == value]
            else:
                out += iris
                if pattern.objects == "any":
                    out += self._literals[layer].get(predicate, ())
            for s, o, literal in self._blank[layer].get(predicate, ()):
                if pattern.iri_subject and s.startswith("_:"):
                    continue
                if value is not None:
                    out += [(s,)] if o == value else []
                elif pattern.objects == "any" or not (literal or (pattern.objects == "iri" and o.startswith("_:"))):
                    out.append((s, o))
        return out

    def _exact(self, pattern: Pattern, layer: str) -> bool:
        """No triple left out of ``layer`` could be a row of ``pattern``."""
        predicate = pattern.predicate
        if not pattern.iri_subject:
            objects = self._unkept_subjects.get((layer, predicate), set())
            if objects if pattern.value is None else pattern.value in objects:
                return False
        if pattern.value is not None or pattern.objects == "iri":
            return True
        kinds = ("blank", "literal") if pattern.objects == "any" else ("blank",)
        return not any((layer, predicate, kind) in self._unkept_objects for kind in kinds)


def _stored(term: object) -> str:
    """A store's term as its cell in Oxigraph's CSV results (a blank node as ``_:id``)."""
    import pyoxigraph

    return f"_:{term.value}" if isinstance(term, pyoxigraph.BlankNode) else intern(term.value)  # type: ignore[attr-defined]
