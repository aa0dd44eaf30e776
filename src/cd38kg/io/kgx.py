"""KGX (the exchange format of Biolink knowledge graphs): ``to_kgx`` writes, ``from_kgx`` reads.

Written by our own code: the ``kgx`` package cannot be installed with current dependencies.
Nodes and edges go to ``nodes.tsv``/``edges.tsv`` (multivalued fields joined by ``|``) and
``nodes.jsonl``/``edges.jsonl``, per the KGX specification (biolink/kgx,
``specification/kgx-format.md``). Each finding is one edge with its provenance; a finding
about a class of agents is written once for the class and once per member, the copies
marked with ``expanded_from`` and ``knowledge_level: logical_entailment``. Our own
identifiers of anything Biolink says differently (a molecule in a cell, a class, one of
our relations) travel in Biolink's ``original_subject``/``original_predicate``/
``original_object`` slots, so a KGX export read back gives the same knowledge base.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputFileError
from ..knowledge.names import curie, expand
from ..vocab import CD38, CURATED_GRAPH, DOI, OWL, PREFIXES
from .biolink import (
    BY_RELATION,
    CONTEXT_RELATIONS,
    EXPRESSION_LEVEL,
    INFORES,
    KIND_OF_CATEGORY,
    biolink_curie,
    category_for,
    relation_for,
)
from .matching import Imported, Importer

if TYPE_CHECKING:
    from rdflib import Graph

    from ..knowledge.written import WrittenTriples
    from ..model import Entity, Finding
    from ..view import KnowledgeView

NODE_COLUMNS = ("id", "category", "name", "synonym", "xref", "iri", "provided_by", "cd38_types")
EDGE_COLUMNS = (
    "id", "subject", "predicate", "object", "qualified_predicate", "object_aspect_qualifier",
    "object_direction_qualifier", "subject_context_qualifier", "anatomical_context_qualifier",
    "quantifier_qualifier", "original_subject", "original_predicate", "original_object", "negated",
    "knowledge_level", "agent_type", "primary_knowledge_source", "publications", "evidence_level",
    "magnitude", "section", "description", "quantity", "expanded_from", "conflicts_with",
)
MULTIVALUED = {"category", "synonym", "xref", "provided_by", "cd38_types", "publications",
               "anatomical_context_qualifier", "conflicts_with"}
#: Standard identifiers preferred as node ids, best first (Bioregistry prefixes).
ID_PRIORITY = ("hgnc", "uniprot", "chebi", "drugbank", "ncit", "cl", "go", "cellosaurus", "clinicaltrials")
#: Kinds of entities written as nodes (others appear only when an edge needs them).
NODE_KINDS = (CD38.Agent, CD38.ResistanceMechanism, CD38.MechanismOfAction, CD38.Process, CD38.CellPopulation,
              CD38.Molecule, CD38.MoleculeInCell, CD38.PatientFactor, CD38.ClinicalTrial, CD38.Regimen)


# -- writing ------------------------------------------------------------------------------


class _Writer:
    """Turns the loaded knowledge base into KGX node and edge records."""

    def __init__(self, kb: KnowledgeView) -> None:
        self.kb = kb
        self.facts = kb.facts
        self.nodes: dict[str, dict[str, Any]] = {}

    def node_id(self, iri: str) -> str:
        entity = self.facts.entities.get(iri)
        if entity is None or CD38.MoleculeInCell in entity.types:
            return curie(iri)
        ranked = sorted((x for x in entity.xrefs if x.split(":", 1)[0].lower() in ID_PRIORITY),
                        key=lambda x: ID_PRIORITY.index(x.split(":", 1)[0].lower()))
        return biolink_curie(ranked[0]) if ranked else curie(iri)

    def node(self, iri: str) -> str:
        """Record the node for ``iri`` (once) and return its KGX id."""
        node_id = self.node_id(iri)
        if node_id in self.nodes:
            return node_id
        entity = self.facts.entities.get(iri)
        if entity is None:
            self.nodes[node_id] = {"id": node_id, "category": ["biolink:NamedThing"], "name": curie(iri), "iri": iri}
            return node_id
        self.nodes[node_id] = self._node_record(entity, node_id)
        return node_id

    def _node_record(self, entity: Entity, node_id: str) -> dict[str, Any]:
        is_class = OWL.Class in entity.types
        types = set(entity.types) | (set(self.facts.superclasses.get(entity.iri, ())) if is_class else set())
        if CD38.MoleculeInCell in types:
            molecule = self.kb.facts.entities.get(self._context_parts(entity.iri)[0])
            category = category_for(set(molecule.types)) if molecule else "biolink:MolecularEntity"
        else:
            category = category_for(types)
        own = sorted(curie(t) for t in entity.types if t.startswith(str(CD38)))
        return {
            "id": node_id, "category": [category], "name": entity.label, "synonym": list(entity.synonyms),
            "xref": [biolink_curie(x) for x in entity.xrefs if biolink_curie(x) != node_id],
            "iri": entity.iri, "provided_by": [INFORES],
            "cd38_types": (["owl:Class"] if is_class else []) + own,
        }

    def _context_parts(self, iri: str) -> tuple[str, str]:
        from rdflib import URIRef

        graph = self.kb.dataset
        molecule = graph.value(URIRef(iri), URIRef(CD38.ofMolecule))
        cell = graph.value(URIRef(iri), URIRef(CD38.inCell))
        return (str(molecule) if molecule else "", str(cell) if cell else "")

    def end(self, iri: str) -> tuple[str, str, str]:
        """(KGX node id, cell-context node id, original id) for one end of an edge."""
        entity = self.facts.entities.get(iri)
        if entity is not None and CD38.MoleculeInCell in entity.types:
            molecule, cell = self._context_parts(iri)
            if molecule and cell:
                self.node(iri)  # the context node itself, so a reader can restore it by name
                return self.node(molecule), self.node(cell), curie(iri)
        return self.node(iri), "", ""

    def edge(self, edge_id: str, subject: str, relation: str, obj: str) -> dict[str, Any]:
        """An edge record without provenance: predicate, qualifiers, contexts, originals."""
        mapping = BY_RELATION[relation]
        s_id, s_cell, s_orig = self.end(subject)
        o_id, o_cell, o_orig = self.end(obj)
        record: dict[str, Any] = {"id": edge_id, "predicate": mapping.predicate, **mapping.qualifiers(),
                                  "original_predicate": curie(relation)}
        if mapping is EXPRESSION_LEVEL:
            # "CD38 on myeloma cells has level high" -> CD38 expressed in myeloma cells, quantified.
            record.update(subject=s_id, object=s_cell or s_id, original_subject=s_orig or curie(subject),
                          quantifier_qualifier=curie(obj), original_object=curie(obj))
            return record
        record.update(subject=s_id, object=o_id)
        if s_cell:
            record["subject_context_qualifier"] = s_cell
        if o_cell:
            record["anatomical_context_qualifier"] = [o_cell]
        if s_orig or subject in self.facts.classes:
            record["original_subject"] = s_orig or curie(subject)
        if o_orig or obj in self.facts.classes:
            record["original_object"] = o_orig or curie(obj)
        return record

    def finding_edges(self, finding: Finding) -> list[dict[str, Any]]:
        """The edge for a finding, plus one per member when it is about a class."""
        base = self.edge(curie(finding.iri), finding.subject, finding.predicate, finding.object)
        base.update(self.provenance(finding))
        edges = [base]
        for side in ("subject", "object"):
            cls = getattr(finding, side)
            if cls not in self.facts.classes:
                continue
            members = sorted(m for m in self.facts.members.get(cls, ()) if m not in self.facts.classes)
            for member in members:
                ends = {"subject": finding.subject, "object": finding.object, side: member}
                copy = self.edge(f"{curie(finding.iri)}#{curie(member)}", ends["subject"], finding.predicate, ends["object"])
                copy.update(self.provenance(finding), knowledge_level="logical_entailment", expanded_from=curie(cls))
                copy[f"original_{side}"] = curie(cls)
                edges.append(copy)
        return edges

    def provenance(self, finding: Finding) -> dict[str, Any]:
        facts = self.facts
        record: dict[str, Any] = {
            "knowledge_level": "knowledge_assertion", "agent_type": "manual_agent",
            "primary_knowledge_source": INFORES, "publications": [publication_curie(finding.source)] if finding.source else [],
            "evidence_level": facts.evidence_label.get(finding.evidence_level, ""), "magnitude": finding.magnitude,
            "section": finding.section, "description": finding.note, "quantity": finding.quantity,
            "conflicts_with": sorted(curie(other) for other, _ in facts.conflicts.get(finding.iri, [])),
        }
        if finding.magnitude == "none":
            record["negated"] = True
        return record

    def assertion_edges(self) -> list[dict[str, Any]]:
        """Plain triples of the curated graph between entities (an antibody targets CD38...)."""
        from rdflib import URIRef

        curated = self.kb.dataset.graph(URIRef(CURATED_GRAPH))
        edges = []
        for relation in BY_RELATION:
            if relation in CONTEXT_RELATIONS:
                continue
            for s, _, o in curated.triples((None, URIRef(relation), None)):
                if str(s) not in self.facts.entities or str(o) not in self.facts.entities:
                    continue
                digest = hashlib.sha256(f"{s} {relation} {o}".encode()).hexdigest()[:12]
                record = self.edge(f"cd38kg:assertion-{digest}", str(s), relation, str(o))
                record.update(knowledge_level="knowledge_assertion", agent_type="manual_agent",
                              primary_knowledge_source=INFORES)
                edges.append(record)
        return edges


def publication_curie(iri: str) -> str:
    """A publication IRI as Biolink writes it: ``doi:10.…``, ``PMID:…``, or the IRI."""
    if iri.startswith(DOI):
        return "doi:" + iri[len(DOI):]
    pmid = re.match(r"^https?://pubmed\.ncbi\.nlm\.nih\.gov/(\d+)/?$", iri)
    return f"PMID:{pmid.group(1)}" if pmid else iri


def kgx_records(kb: KnowledgeView) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The knowledge base as KGX node and edge records (dicts of Biolink slots)."""
    writer = _Writer(kb)
    for entity in sorted(kb.facts.entities.values(), key=lambda e: e.iri):
        if OWL.Class not in entity.types and any(kind in entity.types for kind in NODE_KINDS):
            writer.node(entity.iri)
    edges: list[dict[str, Any]] = []
    for finding in kb.facts.findings:
        if finding.predicate in BY_RELATION:
            edges.extend(writer.finding_edges(finding))
    edges.extend(writer.assertion_edges())
    edges.sort(key=lambda e: e["id"])
    return sorted(writer.nodes.values(), key=lambda n: n["id"]), edges


def to_kgx(kb: KnowledgeView, out_dir: str | Path) -> dict[str, Any]:
    """Write ``nodes.tsv``, ``edges.tsv``, ``nodes.jsonl`` and ``edges.jsonl`` into ``out_dir``."""
    from ..store import write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    nodes, edges = kgx_records(kb)
    paths = []
    for name, records, columns in (("nodes", nodes, NODE_COLUMNS), ("edges", edges, EDGE_COLUMNS)):
        paths.append(write_text(_tsv(records, columns), out / f"{name}.tsv"))
        paths.append(write_text(_jsonl(records), out / f"{name}.jsonl"))
    return {"nodes": len(nodes), "edges": len(edges), "files": [str(p) for p in paths]}


def _tsv(records: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([_cell(record.get(c)) for c in columns])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list):
        return "|".join(str(v) for v in value)
    return str(value)


def _jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps({k: v for k, v in r.items() if v not in ("", [], None)}, ensure_ascii=False) + "\n"
                   for r in records)


# -- reading ------------------------------------------------------------------------------


def kgx_kind(path: Path, text: str) -> str | None:
    """"nodes" or "edges" when ``text`` is a KGX file of that kind (by extension and content)."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        first = next((line for line in text.splitlines() if line.strip()), "")
        try:
            record = json.loads(first)
        except ValueError:
            return None
        if isinstance(record, dict):
            return "edges" if "subject" in record and "predicate" in record else "nodes" if "id" in record else None
        return None
    if suffix == ".tsv":
        header = [c.strip().lower() for c in text.split("\n", 1)[0].lstrip("\ufeff").split("\t")]
        if {"subject", "predicate", "object"} <= set(header) and header[:4] != ["subject", "predicate", "object", "source"]:
            return "edges"
        if {"id", "category"} <= set(header):
            return "nodes"
    return None


def read_records(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    """(line, record) pairs from a KGX TSV or JSON Lines file; malformed lines stop with their position."""
    if path.suffix.lower() == ".jsonl":
        out = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as err:
                raise InputFileError(str(path), f"not JSON: {err}", number) from None
            if not isinstance(record, dict):
                raise InputFileError(str(path), "each line must be a JSON object", number)
            out.append((number, record))
        return out
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter="\t"))
    header = [c.strip() for c in rows[0]] if rows else []
    out = []
    for number, row in enumerate(rows[1:], 2):
        if not any(c.strip() for c in row):
            continue
        if len(row) > len(header):
            raise InputFileError(str(path), f"{len(row)} columns but the header has {len(header)}", number)
        record: dict[str, Any] = {}
        for column, value in zip(header, row, strict=False):
            if value == "":
                continue
            record[column] = value.split("|") if column in MULTIVALUED else value
        out.append((number, record))
    return out


def from_kgx(path: Path, text: str, graph: Graph, written: WrittenTriples | None = None) -> Imported:
    """Read a KGX nodes or edges file into triples for the knowledge graph ``graph``."""
    kind = kgx_kind(path, text)
    importer = Importer(path, graph, written)
    records = read_records(path, text)
    if kind == "nodes":
        for line, record in records:
            _read_node(importer, line, record)
    else:
        _read_edges(importer, records)
    return importer.result


def _listed(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _text(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    return "" if value is None else str(value[0] if isinstance(value, list) and value else value)


def _read_node(importer: Importer, line: int, record: dict[str, Any]) -> None:
    node_id = _text(record, "id")
    if not node_id:
        raise InputFileError(str(importer.path), "a node needs an id", line)
    identifiers = [x for x in (_text(record, "iri"), node_id, *_listed(record.get("xref"))) if x]
    name = _text(record, "name") or node_id
    matched = importer.match(identifiers, name)
    if matched:
        importer.add_xref(matched, node_id)
        return
    own = [t for t in (expand(c) for c in _listed(record.get("cd38_types"))) if t]
    if OWL.Class in own:
        importer.note(line, f"class {node_id} ({name}) is not in the ontology; skipped")
        return
    kinds = [t for t in own if importer.facts.classes and t in importer.facts.classes]
    if not kinds:
        kinds = [KIND_OF_CATEGORY[c] for c in _listed(record.get("category")) if c in KIND_OF_CATEGORY][:1]
    if not kinds:
        importer.note(line, f"node {node_id} ({name}): no kind of this knowledge base fits its category "
                            f"{'|'.join(_listed(record.get('category'))) or '(none)'}; skipped")
        return
    iri = _own_iri(_text(record, "iri")) or _own_iri(expand(node_id) or "")
    importer.new_entity(name, kinds, identifiers=[x for x in identifiers if x != _text(record, "iri")],
                        synonyms=_listed(record.get("synonym")), iri=iri)


def _own_iri(iri: str) -> str:
    """``iri`` if it is in one of our namespaces (kept on import so a round trip is exact)."""
    return iri if iri.startswith((PREFIXES["kb"], PREFIXES["user"])) else ""


def _read_edges(importer: Importer, records: list[tuple[int, dict[str, Any]]]) -> None:
    findings: dict[str, str] = {}
    conflicts: list[tuple[str, list[str]]] = []
    derived = 0
    for line, record in records:
        for key in ("subject", "predicate", "object"):
            if not _text(record, key):
                raise InputFileError(str(importer.path), f"an edge needs a {key}", line)
        if _text(record, "expanded_from"):
            derived += 1
            continue
        made = _read_edge(importer, line, record)
        if made:
            findings[_text(record, "id")] = made
            if record.get("conflicts_with"):
                conflicts.append((made, _listed(record.get("conflicts_with"))))
    from rdflib import URIRef

    for finding, others in conflicts:
        for other in others:
            if other in findings:
                importer.add((URIRef(finding), URIRef(CD38.conflictsWith), URIRef(findings[other])))
    if derived:
        importer.note("-", f"{derived} edges copy a class-level statement to the class's members "
                           "(expanded_from); the class-level edges were read instead")


def _read_edge(importer: Importer, line: int, record: dict[str, Any]) -> str | None:
    """Add the finding (or plain triple) an edge states; None when it was only structure or skipped."""
    relation = _relation(importer, record)
    if relation is None:
        importer.note(line, f"predicate {_text(record, 'predicate')} with these qualifiers has no counterpart "
                            "relation in this knowledge base; edge skipped")
        return None
    if relation == CD38.expressionLevel:
        # "molecule expressed in cell" quantified by a level: the level is stated of the context node.
        molecule, cell = importer.by_identifier(_text(record, "subject")), importer.by_identifier(_text(record, "object"))
        original = expand(_text(record, "original_subject")) or ""
        subject = importer.context(molecule, cell, iri=original) if molecule and cell else None
        obj = importer.by_identifier(_text(record, "original_object") or _text(record, "quantifier_qualifier"))
    else:
        subject = _end(importer, record, "subject", _text(record, "subject_context_qualifier"))
        obj = _end(importer, record, "object", _text(record, "anatomical_context_qualifier"))
    for role, found in (("subject", subject), ("object", obj)):
        if not found:
            importer.note(line, f"{role} {_text(record, role)} matches no entity (give the nodes file first); edge skipped")
            return None
    assert subject is not None and obj is not None  # noqa: S101 - narrowed above
    relation, why = importer.fit_relation(relation, subject, obj)
    if relation is None:
        importer.note(line, f"{why}; edge skipped")
        return None
    publications = _listed(record.get("publications"))
    if not publications and not _text(record, "evidence_level"):
        importer.assertion(subject, relation, obj)
        return None
    made = []
    for index, publication in enumerate(publications or [_text(record, "primary_knowledge_source") or "KGX edge"]):
        negated = str(record.get("negated", "")).lower() == "true"
        provenance = {
            "source": _publication_source(publication), "section": _text(record, "section"),
            "evidence_level": _text(record, "evidence_level"),
            "magnitude": _text(record, "magnitude") or ("none" if negated else ""),
            "note": _text(record, "description"), "quantity": _text(record, "quantity"),
        }
        iri = (expand(_text(record, "id")) or "") if index == 0 else ""
        made.append(importer.finding(line, index, subject, relation, obj, provenance, iri=iri))
    return made[0]


def _relation(importer: Importer, record: dict[str, Any]) -> str | None:
    original = expand(_text(record, "original_predicate"))
    if original and original in importer.facts.relations:
        return original
    if _text(record, "predicate") == EXPRESSION_LEVEL.predicate and _text(record, "quantifier_qualifier"):
        return CD38.expressionLevel
    qualifiers = {k: _text(record, k) for k in ("object_aspect_qualifier", "object_direction_qualifier")}
    return relation_for(_text(record, "predicate"), qualifiers)


def _end(importer: Importer, record: dict[str, Any], role: str, cell_id: str) -> str | None:
    """The entity at one end of an edge: our original id if known, else the node with its cell context."""
    original = _text(record, f"original_{role}")
    if original and importer.by_identifier(original):
        found = importer.by_identifier(original)
        if found and importer.is_a(found, CD38.MoleculeInCell) and cell_id:
            molecule, cell = importer.by_identifier(_text(record, role)), importer.by_identifier(cell_id)
            if molecule and cell:
                return importer.context(molecule, cell, iri=found)
        return found
    node = importer.by_identifier(_text(record, role))
    if node and cell_id and importer.is_a(node, CD38.Molecule):
        cell = importer.by_identifier(cell_id)
        return importer.context(node, cell) if cell else None
    return node


def _publication_source(publication: str) -> str:
    """A publication CURIE as the source text findings take (a DOI, or a PubMed URL)."""
    prefix, _, local = publication.partition(":")
    if prefix.lower() == "doi":
        return local
    if prefix.lower() in ("pmid", "pubmed"):
        return f"https://pubmed.ncbi.nlm.nih.gov/{local}/"
    return publication
