"""What every importer of another format shares: finding entities, minting new ones, writing findings.

An imported entity is matched by identifier first (our own IRI or CURIE, then any standard
CURIE in Bioregistry's normal form against the entities' cross-references), then by name;
only an unmatched one becomes a new entity, with the kind its category implies. Findings
are written with the same triples as a curated or TSV finding, so the engine cannot tell
where a statement came from except by its provenance.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputFileError
from ..knowledge.extend import _finding_triples, slug
from ..knowledge.facts import select_facts
from ..knowledge.identifiers import standard_curie
from ..knowledge.names import NameIndex, expand
from ..vocab import CD38, HAS_XREF, KB, OWL, RDF, RDFS, SKOS, USER

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rdflib import Graph
    from rdflib.term import Node

    from ..knowledge.written import WrittenTriples

#: IRIs as plain strings (as the TSV reader writes them) or rdflib terms; literals as rdflib terms.
Triple = tuple["str | Node", "str | Node", "str | Node"]


@dataclass
class Imported:
    """Triples read from one file, the entities it introduced, and what it could not map.

    ``triples`` may be made as they are consumed, once (the TSV reader's are: the loader writes
    them while the file is still being read); ``new_entities`` is complete once they have been.
    """

    path: str
    triples: Iterable[Triple] = field(default_factory=list)
    new_entities: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Importer:
    """Matches and mints entities against the knowledge graph as loaded so far."""

    def __init__(self, path: Path, graph: Graph, written: WrittenTriples | None = None) -> None:
        self.path = path
        self.graph = graph
        self.facts = select_facts(graph, written=written)
        self.names = NameIndex(self.facts.entities.values())
        self.result = Imported(str(path))
        self.file_tag = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]
        self.described: set[str] = set()  # the sources whose type and label are written
        self.types: dict[str, set[str]] = {iri: set(e.types) for iri, e in self.facts.entities.items()}
        self.by_xref: dict[str, str] = {}
        for iri, entity in self.facts.entities.items():
            for xref in entity.xrefs:
                self.by_xref.setdefault(standard_curie(xref) or xref, iri)
        self._contexts: dict[tuple[str, str], str] = {}
        for ctx in self.facts.members.get(CD38.MoleculeInCell, ()):
            molecule, cell = self._value(ctx, CD38.ofMolecule), self._value(ctx, CD38.inCell)
            if molecule and cell:
                self._contexts[(molecule, cell)] = ctx

    def _value(self, subject: str, predicate: str) -> str:
        from rdflib import URIRef

        value = self.graph.value(URIRef(subject), URIRef(predicate))
        return str(value) if value is not None else ""

    def note(self, line: int | str, message: str) -> None:
        """Report something the file says that could not be taken in (never dropped silently)."""
        self.result.notes.append(f"{self.path}:{line}: {message}")

    def add(self, *triples: Triple) -> None:
        self.result.triples.extend(triples)

    # -- entities -------------------------------------------------------------------------

    def known(self, iri: str) -> bool:
        return iri in self.types

    def by_identifier(self, identifier: str) -> str | None:
        """The entity an identifier names: one of our IRIs/CURIEs, or a standard CURIE."""
        iri = expand(identifier)
        if iri and self.known(iri):
            return iri
        std = standard_curie(identifier)
        return self.by_xref.get(std or identifier)

    def match(self, identifiers: list[str], name: str = "") -> str | None:
        """The one entity these identifiers (tried first, in order) or this name mean."""
        for identifier in identifiers:
            found = self.by_identifier(identifier)
            if found:
                return found
        if name:  # a name means an individual: classes are named by identifier only
            candidates = {c for c in self.names.candidates(name) if c not in self.facts.classes}
            if len(candidates) == 1:
                return next(iter(candidates))
        return None

    def add_xref(self, iri: str, identifier: str) -> None:
        """Record that the file calls ``iri`` by ``identifier`` (so its edges find it)."""
        from rdflib import Literal, URIRef

        std = standard_curie(identifier) or identifier
        if expand(identifier) is None and std not in self.by_xref:
            self.add((URIRef(iri), URIRef(HAS_XREF), Literal(std)))
            self.by_xref[std] = iri

    def new_entity(self, label: str, kinds: list[str], identifiers: list[str] = (),  # type: ignore[assignment]
                   synonyms: list[str] = (), iri: str = "") -> str:  # type: ignore[assignment]
        """Mint an entity (under our IRI if the file gives one, else a user IRI)."""
        from rdflib import Literal, URIRef

        iri = iri or USER.term(slug(label))
        node = URIRef(iri)
        self.add((node, URIRef(RDFS.label), Literal(label)), (node, URIRef(RDF.type), URIRef(OWL.NamedIndividual)))
        types = set()
        for kind in kinds:
            self.add((node, URIRef(RDF.type), URIRef(kind)))
            types |= {kind, *self.facts.superclasses.get(kind, ())}
        for synonym in synonyms:
            if synonym and synonym != label:
                self.add((node, URIRef(SKOS.altLabel), Literal(synonym)))
        for identifier in identifiers:
            std = standard_curie(identifier) or identifier
            if expand(identifier) is None:  # our own CURIEs are IRIs, not cross-references
                self.add((node, URIRef(HAS_XREF), Literal(std)))
                self.by_xref.setdefault(std, iri)
        self.types[iri] = types
        self.result.new_entities.append(iri)
        return iri

    def context(self, molecule: str, cell: str, iri: str = "", label: str = "") -> str:
        """The node "molecule on/in cell", created (with ``iri``/``label`` if given) when missing."""
        from rdflib import URIRef

        key = (molecule, cell)
        if key in self._contexts:
            return self._contexts[key]
        if not iri or not self.known(iri):
            mol_label, cell_label = self.label(molecule), self.label(cell)
            iri = self.new_entity(label or f"{mol_label} on {cell_label}", [CD38.MoleculeInCell], iri=iri)
        self.add((URIRef(iri), URIRef(CD38.ofMolecule), URIRef(molecule)), (URIRef(iri), URIRef(CD38.inCell), URIRef(cell)))
        self._contexts[key] = iri
        return iri

    def label(self, iri: str) -> str:
        return self.facts.label(iri) if iri in self.facts.entities else self._pending_label(iri)

    def _pending_label(self, iri: str) -> str:
        from rdflib import URIRef

        for s, p, o in self.result.triples:
            if s == URIRef(iri) and p == URIRef(RDFS.label):
                return str(o)
        return iri

    def is_a(self, iri: str, kind: str) -> bool:
        """True for a member of ``kind``, and for ``kind`` or a subclass (class-level statements)."""
        return kind in self.types.get(iri, set()) or iri == kind or kind in self.facts.superclasses.get(iri, ())

    # -- statements -----------------------------------------------------------------------

    def fit_relation(self, relation: str, subject: str, obj: str) -> tuple[str | None, str]:
        """The relation to use between these two entities, or None and why not.

        A change in expression (or number) stated for a bare molecule is kept as the plain
        signed relation ("X decreases CD59"): the engine carries it to every cell context
        of that molecule; inventing a cell context here would claim more than the source.
        """
        domain, range_ = self._value(relation, RDFS.domain), self._value(relation, RDFS.range)
        sign = self.facts.relations[relation].sign if relation in self.facts.relations else 0
        if range_ and not self.is_a(obj, range_):
            if sign and (self.is_a(obj, CD38.Molecule) or self.is_a(obj, CD38.CellPopulation)):
                return (CD38.increases if sign > 0 else CD38.decreases), ""
            return None, f"{self.label(obj)} is not a {self.facts.label(range_)}"
        if domain and not self.is_a(subject, domain):
            return None, f"{self.label(subject)} is not a {self.facts.label(domain)}"
        return relation, ""

    def finding(self, line: int, index: int, subject: str, relation: str, obj: str, record: dict[str, str],
                iri: str = "") -> str:
        """Add one finding with provenance: the ``index``-th one read at ``line`` of the file."""
        from rdflib import Literal, URIRef

        record = {"section": f"{self.path.name} line {line}", "note": f"From {self.path.name}, line {line}.",
                  **{k: v for k, v in record.items() if v}}
        try:
            triples = _finding_triples(self.path, line * 1000 + index, self.file_tag, subject, relation, obj, record,
                                       self.described)
        except InputFileError as err:
            raise InputFileError(str(self.path), err.reason, line) from None
        minted = triples[0][0]
        if iri and iri.startswith((str(KB), str(USER))) and not self.known(iri):
            triples = [(URIRef(iri) if s == minted else s, p, o) for s, p, o in triples]
        finding = triples[0][0]
        if record.get("quantity"):
            triples.append((finding, URIRef(CD38.quantity), Literal(record["quantity"])))
        self.add(*triples)
        return str(finding)

    def assertion(self, subject: str, relation: str, obj: str) -> None:
        """A plain triple with no provenance record (structure: targets, components)."""
        from rdflib import URIRef

        self.add((URIRef(subject), URIRef(relation), URIRef(obj)))
