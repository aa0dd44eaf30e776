"""How this ontology reads in the Biolink model: categories, predicates, qualifiers, prefixes.

One table per question, used in both directions: the KGX writer reads them forwards, the
KGX reader backwards. Statements about a molecule in one cell ("CD38 on myeloma cells")
become statements about the molecule with the cell as context, as Biolink composes
concepts from a core node plus qualifiers instead of minting a node per combination.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..vocab import CD38, OBO

#: Our infores (the knowledge source every curated edge names as primary).
INFORES = "infores:cd38kg"

#: Our kinds (most specific first) to Biolink categories.
CATEGORIES: tuple[tuple[str, str], ...] = (
    (CD38.Drug, "biolink:Drug"),
    (CD38.Agent, "biolink:Treatment"),
    (CD38.Regimen, "biolink:Treatment"),
    (CD38.CellPopulation, "biolink:Cell"),
    (CD38.Metabolite, "biolink:SmallMolecule"),
    (CD38.Protein, "biolink:Protein"),
    (CD38.Molecule, "biolink:MolecularEntity"),
    (CD38.MechanismOfAction, "biolink:BiologicalProcess"),
    (CD38.Process, "biolink:BiologicalProcess"),
    (CD38.ResistanceMechanism, "biolink:BiologicalProcess"),
    (CD38.PatientFactor, "biolink:PhenotypicFeature"),
    (CD38.ClinicalTrial, "biolink:ClinicalTrial"),
)

#: Biolink categories back to our kinds, for entities an import creates.
KIND_OF_CATEGORY: dict[str, str] = {
    "biolink:Drug": CD38.Drug,
    "biolink:SmallMolecule": CD38.Metabolite,
    "biolink:ChemicalEntity": CD38.Drug,
    "biolink:MolecularMixture": CD38.Drug,
    "biolink:Treatment": CD38.Agent,
    "biolink:Cell": CD38.CellPopulation,
    "biolink:CellLine": CD38.CellPopulation,
    "biolink:Protein": CD38.Protein,
    "biolink:Gene": CD38.Protein,
    "biolink:GeneProduct": CD38.Protein,
    "biolink:GeneOrGeneProduct": CD38.Protein,
    "biolink:MolecularEntity": CD38.Molecule,
    "biolink:BiologicalProcess": CD38.Process,
    "biolink:BiologicalProcessOrActivity": CD38.Process,
    "biolink:PhenotypicFeature": CD38.PatientFactor,
    "biolink:ClinicalTrial": CD38.ClinicalTrial,
}

#: Bioregistry prefixes spelled differently by Biolink (checked against biolink-model's
#: prefix map by the tests).
BIOLINK_PREFIXES: dict[str, str] = {
    "hgnc": "HGNC",
    "drugbank": "DRUGBANK",
    "uniprot": "UniProtKB",
    "pubmed": "PMID",
    "clinicaltrials": "CLINICALTRIALS",
    "ncbigene": "NCBIGene",
    "pubchem.compound": "PUBCHEM.COMPOUND",
    "mesh": "MESH",
}


@dataclass(frozen=True)
class Predicate:
    """One of our relations as a Biolink predicate with its qualifiers."""

    relation: str
    predicate: str
    qualified_predicate: str = ""
    aspect: str = ""
    direction: str = ""

    def qualifiers(self) -> dict[str, str]:
        """The non-empty qualifier columns of an edge with this predicate."""
        pairs = {"qualified_predicate": self.qualified_predicate, "object_aspect_qualifier": self.aspect,
                 "object_direction_qualifier": self.direction}
        return {k: v for k, v in pairs.items() if v}


def _causes(relation: str, aspect: str, direction: str) -> Predicate:
    return Predicate(relation, "biolink:affects", "biolink:causes", aspect, direction)


#: Our relations as Biolink predicates. The order matters for reading foreign KGX: the
#: first relation matching an edge's predicate and qualifiers wins.
PREDICATES: tuple[Predicate, ...] = (
    _causes(CD38.increasesExpressionOf, "expression", "increased"),
    _causes(CD38.decreasesExpressionOf, "expression", "decreased"),
    _causes(CD38.activates, "activity", "increased"),
    _causes(CD38.inhibits, "activity", "decreased"),
    _causes(CD38.increasesNumberOf, "abundance", "increased"),
    _causes(CD38.depletes, "abundance", "decreased"),
    _causes(CD38.increases, "", "increased"),
    _causes(CD38.decreases, "", "decreased"),
    Predicate(CD38.induces, "biolink:causes"),
    Predicate(CD38.contributesTo, "biolink:contributes_to"),
    Predicate(CD38.subpopulationOf, "biolink:subclass_of"),
    Predicate(CD38.mediatedBy, "biolink:has_participant"),
    Predicate(CD38.requires, "biolink:has_input"),
    Predicate(CD38.binds, "biolink:binds"),
    Predicate(CD38.targets, "biolink:physically_interacts_with"),
    Predicate(CD38.indicates, "biolink:associated_with"),
    Predicate(CD38.hasComponent, "biolink:has_part"),
    Predicate(OBO.BFO_0000051, "biolink:has_part"),
    Predicate(OBO.BFO_0000050, "biolink:part_of"),
)

#: Expression levels ("CD38 on myeloma cells has a high level") read as "CD38 is
#: expressed in myeloma cells" with the level as quantifier.
EXPRESSION_LEVEL = Predicate(CD38.expressionLevel, "biolink:expressed_in")

BY_RELATION: dict[str, Predicate] = {p.relation: p for p in (*PREDICATES, EXPRESSION_LEVEL)}

#: Relations that hold between a molecule in a cell and something else only through the
#: molecule and the cell: never exported as edges themselves.
CONTEXT_RELATIONS = (CD38.ofMolecule, CD38.inCell)

#: Edge properties that are ours, not Biolink slots (documented in the README).
EXTENSION_EDGE_PROPERTIES = ("evidence_level", "magnitude", "section", "quantity", "expanded_from", "conflicts_with")
#: Node properties that are ours: our own classes of the entity, which Biolink cannot name.
EXTENSION_NODE_PROPERTIES = ("cd38_types",)


def category_for(types: set[str]) -> str:
    """The Biolink category of an entity with these (asserted and inferred) types."""
    for kind, category in CATEGORIES:
        if kind in types:
            return category
    return "biolink:NamedThing"


def relation_for(predicate: str, qualifiers: dict[str, str]) -> str | None:
    """Our relation for a Biolink predicate with qualifiers (foreign KGX), if one fits."""
    direction = qualifiers.get("object_direction_qualifier", "")
    direction = {"upregulated": "increased", "downregulated": "decreased"}.get(direction, direction)
    aspect = qualifiers.get("object_aspect_qualifier", "")
    for candidate in PREDICATES:
        if candidate.predicate != predicate:
            continue
        if candidate.direction and candidate.direction != direction:
            continue
        if candidate.aspect and candidate.aspect != aspect:
            continue
        return candidate.relation
    return None


def biolink_curie(curie: str) -> str:
    """A standard CURIE with the prefix spelling Biolink uses (``hgnc:1667`` → ``HGNC:1667``)."""
    prefix, sep, local = curie.partition(":")
    return f"{BIOLINK_PREFIXES.get(prefix.lower(), prefix)}{sep}{local}" if sep else curie
