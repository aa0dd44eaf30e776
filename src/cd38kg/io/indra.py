"""INDRA statements JSON (literature-assembled causal statements): ``from_indra`` reads them.

The input is checked against our own JSON Schema of the subset we accept
(``schemas/indra-statements.schema.json``, written from INDRA's documented statement
format), so a malformed statement stops the load with its line and field. Each statement
type maps to one of our signed relations; its agents are matched by their ``db_refs``
(``{"HGNC": "1667"}`` is our CD38) and then by name, and an unmatched agent becomes a new
entity of the kind its namespace implies. Each evidence with a PMID or DOI becomes one
finding with that source; INDRA's belief is kept in the note. A statement of another type,
or about an agent we cannot place, is reported with its position, never dropped silently.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputFileError
from ..knowledge.identifiers import from_namespace
from ..vocab import CD38
from .matching import Imported, Importer

if TYPE_CHECKING:
    from rdflib import Graph

    from ..knowledge.written import WrittenTriples

#: INDRA statement types and the relation each one states.
RELATIONS: dict[str, str] = {
    "Activation": CD38.activates,
    "Inhibition": CD38.inhibits,
    "IncreaseAmount": CD38.increasesExpressionOf,
    "DecreaseAmount": CD38.decreasesExpressionOf,
    "Complex": CD38.binds,
}
#: A change in amount of a cell population is a change in its number.
CELL_AMOUNT = {CD38.increasesExpressionOf: CD38.increasesNumberOf, CD38.decreasesExpressionOf: CD38.depletes}

#: The kind of a new entity, from the first of its namespaces listed here.
KIND_OF_NAMESPACE: tuple[tuple[str, str], ...] = (
    ("HGNC", CD38.Protein), ("UP", CD38.Protein), ("FPLX", CD38.Protein),
    ("DRUGBANK", CD38.Drug), ("CHEBI", CD38.Drug), ("PUBCHEM", CD38.Drug), ("CHEMBL", CD38.Drug),
    ("CL", CD38.CellPopulation), ("GO", CD38.Process),
)
#: How sure we are of a statement read by machine from the literature: we have not read it.
EVIDENCE_LEVEL = "hypothesis"


@lru_cache(maxsize=1)
def statement_validator() -> Any:
    """A JSON Schema validator for one statement of the accepted subset."""
    from jsonschema import Draft202012Validator

    schema = json.loads(resources.files("cd38kg.io").joinpath("schemas/indra-statements.schema.json").read_text())
    return Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/statement"})


def statements_with_lines(path: Path, text: str) -> list[tuple[int, Any]]:
    """The top-level list's items with the line each starts on (for error positions)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputFileError(str(path), f"not valid JSON: {err.msg} (column {err.colno})", err.lineno) from None
    if not isinstance(data, list):
        raise InputFileError(str(path), "INDRA statements JSON must be a list of statements", 1)
    decoder = json.JSONDecoder()
    position = text.index("[") + 1
    out = []
    for _ in data:
        while text[position] in " \t\r\n,":
            position += 1
        item, end = decoder.raw_decode(text, position)
        out.append((text.count("\n", 0, position) + 1, item))
        position = end
    return out


def from_indra(path: Path, text: str, graph: Graph, written: WrittenTriples | None = None) -> Imported:
    """Read INDRA statements JSON into findings for the knowledge graph ``graph``."""
    from jsonschema.exceptions import best_match

    statements = statements_with_lines(path, text)
    validator = statement_validator()
    for number, (line, statement) in enumerate(statements, 1):
        error = best_match(validator.iter_errors(statement))
        if error is not None:
            where = ".".join(str(p) for p in error.absolute_path) or "statement"
            raise InputFileError(str(path), f"statement {number}: {where}: {error.message}", line)
    importer = Importer(path, graph, written)
    for number, (line, statement) in enumerate(statements, 1):
        _read_statement(importer, line, number, statement)
    return importer.result


def _read_statement(importer: Importer, line: int, number: int, statement: dict[str, Any]) -> None:
    kind = statement["type"]
    label = f"statement {number} ({kind})"
    relation = RELATIONS.get(kind)
    if relation is None:
        importer.note(line, f"{label}: no relation of this knowledge base states a {kind}; skipped")
        return
    agents = statement["members"] if kind == "Complex" else [statement.get("subj"), statement["obj"]]
    if len(agents) != 2 or agents[0] is None:
        importer.note(line, f"{label}: only statements between two agents can be read; skipped")
        return
    ends = []
    for agent in agents:
        entity, why = _agent(importer, agent)
        if entity is None:
            importer.note(line, f"{label}: {why}; skipped")
            return
        ends.append(entity)
    subject, obj = ends
    if importer.is_a(obj, CD38.CellPopulation):
        relation = CELL_AMOUNT.get(relation, relation)
    relation, why = importer.fit_relation(relation, subject, obj)
    if relation is None:
        importer.note(line, f"{label}: {why}; skipped")
        return
    belief = statement.get("belief")
    sources_seen: set[str] = set()
    for index, evidence in enumerate(statement.get("evidence") or [{}]):
        source = _evidence_source(evidence) or f"INDRA statement {statement.get('id') or number}"
        if source in sources_seen:
            continue
        sources_seen.add(source)
        negated = (evidence.get("epistemics") or {}).get("negated") is True
        text = f': "{evidence["text"]}"' if evidence.get("text") else ""
        note = (f"INDRA {kind} statement {statement.get('id', '')}".rstrip()
                + (f", belief {belief}" if belief is not None else "")
                + f"; read by {evidence.get('source_api', 'an unknown reader')}{text}")
        importer.finding(line, index, subject, relation, obj, {
            "source": source, "section": f"INDRA evidence {index + 1} ({evidence.get('source_api', 'unknown source')})",
            "evidence_level": EVIDENCE_LEVEL, "magnitude": "none" if negated else "", "note": note,
        })


def _agent(importer: Importer, agent: dict[str, Any]) -> tuple[str | None, str]:
    """The entity an INDRA agent names (matched or new), or None and why."""
    refs = {ns: str(value) for ns, value in agent["db_refs"].items() if isinstance(value, str | int) and ns != "TEXT"}
    curies = [c for c in (from_namespace(ns, value) for ns, value in refs.items()) if c]
    found = importer.match(curies, agent["name"])
    if found:
        return found, ""
    kinds = [kind for ns, kind in KIND_OF_NAMESPACE if ns in refs]
    if not kinds:
        grounding = ", ".join(f"{ns}:{v}" for ns, v in refs.items()) or "no grounding"
        return None, f"agent {agent['name']!r} ({grounding}) is not in the knowledge base and its kind cannot be told"
    return importer.new_entity(agent["name"], kinds[:1], identifiers=curies), ""


def _evidence_source(evidence: dict[str, Any]) -> str:
    """The publication an evidence cites, as a finding's source (a DOI, or a PubMed URL)."""
    refs = evidence.get("text_refs") or {}
    doi = refs.get("DOI") or refs.get("doi")
    if doi:
        return str(doi)
    pmid = evidence.get("pmid") or refs.get("PMID") or refs.get("pmid")
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else ""
