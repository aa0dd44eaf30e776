"""User extension files in TSV: one finding per line, turned into the same triples as curation.

Format (tab-separated, header required)::

    subject  predicate  object  source  [section]  [evidence_level]  [magnitude]  [note]

``predicate`` is ``is_a``, ``synonym`` or the ``cd38:tsvName`` of a relation in the
ontology (``increases``, ``decreases``, ``activates``, ``inhibits``, ``depletes``,
``requires``, ``increases_expression``, ...). Names are resolved like everywhere else; a
name the knowledge base does not know becomes a new entity only if the file declares it
with an ``is_a`` row, so a typo is reported (with near matches) instead of silently
creating a node. Every line is checked before the knowledge base is committed: the loader
writes a file's triples while they are made, and a bad line stops the load with nothing
committed (:mod:`cd38kg.store`).

Triples name IRIs as plain strings (the reasoner's convention, see
:func:`cd38kg.store.base.add_triples`) and only literals as rdflib terms: building an
rdflib ``URIRef`` and converting it to Oxigraph's term cost more than the rest of reading a
100,000-statement file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputFileError, NameTooLongError
from ..model import Relation
from ..store import rdf_format, read_text
from ..vocab import CD38, DOI, OWL, RDF, RDFS, SKOS, USER
from .names import NameIndex, normalize

if TYPE_CHECKING:
    from rdflib import Literal

#: A triple as read: IRIs are strings, literals rdflib terms.
Triple = tuple[str, str, "str | Literal"]

REQUIRED = ["subject", "predicate", "object", "source"]
OPTIONAL = ["section", "evidence_level", "magnitude", "note"]
EVIDENCE_LEVELS = {
    "hypothesis": CD38.Hypothesis, "in vitro": CD38.InVitro, "ex vivo": CD38.ExVivo,
    "animal model": CD38.AnimalModel, "animal": CD38.AnimalModel, "case series": CD38.CaseSeries,
    "phase 1": CD38.Phase1, "phase 2": CD38.Phase2, "phase 3": CD38.Phase3, "approved": CD38.Approved,
}
MAGNITUDES = ("strong", "moderate", "weak", "none", "unknown")
_DOI = re.compile(r"^(?:doi:|https?://(?:dx\.)?doi\.org/)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)
_URL = re.compile(r"^https?://\S+$")


@dataclass
class Extension:
    """Triples read from one TSV file, and the entities it declared.

    ``triples`` are made as they are consumed, once: at a million statements, making them
    while the store writes the ones before took most of reading the file off a load's time.
    ``new_entities`` is complete once they have been consumed.
    """

    path: str
    triples: Iterator[Triple]
    new_entities: list[str] = field(default_factory=list)


def slug(text: str) -> str:
    """An IRI-safe local name for a user-supplied name."""
    return re.sub(r"[^a-z0-9]+", "-", normalize(text)).strip("-") or "entity"


def read_tsv_extension(path: Path, names: NameIndex, relations: dict[str, Relation],
                       is_class: set[str]) -> Extension:
    """Parse and check a TSV extension file against the names the knowledge base knows."""
    from rdflib import Literal

    text = read_text(path)
    reader = csv.reader(io.StringIO(text), delimiter="\t")
    numbered = []
    try:
        for row in reader:
            if row and any(c.strip() for c in row) and not row[0].lstrip().startswith("#"):
                numbered.append((reader.line_num, row))
    except csv.Error as err:
        raise InputFileError(str(path), f"cannot read this line as TSV ({err})", reader.line_num) from None
    if not numbered:
        raise InputFileError(str(path), "empty file: expected a header line 'subject<TAB>predicate<TAB>object<TAB>source'")
    header_line, header = numbered[0]
    columns = [c.strip().lower() for c in header]
    if columns[:4] != REQUIRED:
        raise InputFileError(str(path), "the header must start with 'subject<TAB>predicate<TAB>object<TAB>source'"
                             f" (found {'|'.join(header[:4])!r})", header_line)
    unknown_cols = [c for c in columns[4:] if c not in OPTIONAL]
    if unknown_cols:
        raise InputFileError(str(path), f"unknown column {unknown_cols[0]!r}; optional columns are "
                             f"{', '.join(OPTIONAL)}", header_line)
    by_tsv = {rel.tsv_name: rel for rel in relations.values() if rel.tsv_name}
    file_tag = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]

    found_for: dict[str, set[str]] = {}  # a name is looked up once, however many rows use it

    def lookup(name: str, line: int) -> set[str]:
        found = found_for.get(name)
        if found is None:
            try:
                found = found_for[name] = names.candidates(name)
            except NameTooLongError as err:
                raise InputFileError(str(path), str(err), line) from None
        return found

    # First pass: which new names does the file declare with is_a?
    declared: dict[str, tuple[str, str]] = {}
    records = []
    for line, row in numbered[1:]:
        cells = [c.strip() for c in row] + [""] * (len(columns) - len(row))
        if len(row) > len(columns):
            raise InputFileError(str(path), f"{len(row)} columns but the header has {len(columns)}", line)
        record = dict(zip(columns, cells, strict=False))
        for key in REQUIRED:
            if not record.get(key):
                raise InputFileError(str(path), f"empty {key}", line)
        records.append((line, record))
        if record["predicate"].lower() == "is_a" and not lookup(record["subject"], line):
            declared.setdefault(normalize(record["subject"]), (record["subject"], str(USER.term(slug(record["subject"])))))

    new_entities: list[str] = []

    def node_for(name: str, line: int, role: str) -> str:
        found = lookup(name, line)
        if len(found) == 1:
            return next(iter(found))
        if len(found) > 1:
            options = ", ".join(sorted(names.entities[i].label for i in found))
            raise InputFileError(str(path), f"{role} {name!r} is ambiguous: {options}", line)
        key = normalize(name)
        if key in declared:
            return declared[key][1]
        hint = names.suggest(name)
        tail = f"; did you mean {', '.join(repr(h) for h in hint)}?" if hint else ""
        raise InputFileError(str(path), f"unknown {role} {name!r} (declare a new entity with an is_a row{tail})", line)

    def triples() -> Iterator[Triple]:
        new_labels: dict[str, str] = {}
        described: set[str] = set()
        for line, record in records:
            predicate = record["predicate"].strip().lower()
            subject = node_for(record["subject"], line, "subject")
            if subject.startswith(str(USER)) and subject not in new_labels:
                new_labels[subject] = declared[normalize(record["subject"])][0]
            if predicate == "is_a":
                cls = node_for(record["object"], line, "class")
                if cls not in is_class:
                    raise InputFileError(str(path), f"is_a needs a class, but {record['object']!r} is an individual", line)
                yield subject, RDF_TYPE, cls
                continue
            if predicate == "synonym":
                yield subject, ALT_LABEL, Literal(record["object"])
                continue
            relation = by_tsv.get(predicate)
            if relation is None:
                choices = ", ".join(sorted(["is_a", "synonym", *by_tsv]))
                raise InputFileError(str(path), f"unknown predicate {record['predicate']!r}; use one of {choices}", line)
            obj = node_for(record["object"], line, "object")
            if obj.startswith(str(USER)) and obj not in new_labels:
                new_labels[obj] = declared[normalize(record["object"])][0]
            yield from _finding_triples(path, line, file_tag, subject, relation.iri, obj, record, described)
        for iri, label in new_labels.items():
            yield iri, LABEL, Literal(label)
            yield iri, RDF_TYPE, OWL.NamedIndividual
            new_entities.append(iri)

    return Extension(str(path), triples(), new_entities)


def _finding_triples(path: Path, line: int, file_tag: str, subject: str, predicate: str, obj: str,
                     record: dict[str, str], described: set[str]) -> list[Triple]:
    """A finding's triples, and its source's type and label unless the source is among the
    ``described`` (then added to them): a source cited by a thousand findings is stated once."""
    from rdflib import Literal

    level_name = normalize(record.get("evidence_level") or "hypothesis")
    if level_name not in EVIDENCE_LEVELS:
        raise InputFileError(str(path), f"unknown evidence level {record['evidence_level']!r}; use one of "
                             f"{', '.join(sorted(EVIDENCE_LEVELS))}", line)
    magnitude = (record.get("magnitude") or "").lower()
    if magnitude and magnitude not in MAGNITUDES:
        raise InputFileError(str(path), f"unknown magnitude {magnitude!r}; use one of {', '.join(MAGNITUDES)}", line)
    source = record["source"].strip()
    finding = USER.term(f"finding-{file_tag}-{line}")
    triples: list[Triple] = [
        (finding, RDF_TYPE, FINDING),
        (finding, SUBJECT, subject),
        (finding, PREDICATE, predicate),
        (finding, OBJECT, obj),
        (finding, SECTION, Literal(record.get("section") or f"{path.name} line {line}")),
        (finding, EVIDENCE_LEVEL, EVIDENCE_LEVELS[level_name]),
        (finding, COMMENT, Literal(record.get("note") or f"From {path.name}, line {line}.")),
    ]
    if magnitude:
        triples.append((finding, MAGNITUDE, Literal(magnitude)))
    publication = _publication(source)
    if not publication:
        raise InputFileError(str(path), f"source {source!r} is not a valid IRI (a DOI or a web address)", line)
    triples.append((finding, SOURCE, publication))
    if publication not in described:
        described.add(publication)
        triples += [(publication, RDF_TYPE, PUBLICATION), (publication, LABEL, Literal(source))]
    return triples


@lru_cache(maxsize=2**16)
def _publication(source: str) -> str:
    """The IRI of a source: its DOI, its web address, or a user IRI for a free-text citation;
    "" when the DOI or address is not a valid IRI (checked by Oxigraph, which stores it)."""
    import pyoxigraph

    doi = _DOI.match(source)
    if not doi and not _URL.match(source):
        return USER.term(f"source-{slug(source)}")
    iri = DOI + doi.group(1) if doi else source
    try:
        pyoxigraph.NamedNode(iri)
    except ValueError:
        return ""
    return iri


# The IRIs every finding is written with, spelled once (a namespace attribute is a lookup each time).
RDF_TYPE, LABEL, COMMENT, ALT_LABEL = RDF.type, RDFS.label, RDFS.comment, SKOS.altLabel
FINDING, PUBLICATION, SUBJECT, PREDICATE, OBJECT = CD38.Finding, CD38.Publication, CD38.subject, CD38.predicate, CD38.object
SECTION, EVIDENCE_LEVEL, MAGNITUDE, SOURCE = CD38.section, CD38.evidenceLevel, CD38.magnitude, CD38.source


def check_extension_path(path: Path) -> None:
    """Fail early, with the file named, when an extension path is unusable."""
    if not path.exists():
        raise InputFileError(str(path), "no such file")
    if path.suffix.lower() != ".tsv":
        rdf_format(path)  # refuses RDF/XML and JSON-LD with the reason, and unknown types
