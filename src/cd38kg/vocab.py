"""Namespaces and term constants: the only module that spells out IRIs.

Everything else imports terms from here, so renaming an IRI is a one-line change and a
typo is an AttributeError rather than a silently empty query.
"""

from __future__ import annotations


class Namespace(str):
    """An IRI prefix; ``NS.term`` is the full IRI as a plain string.

    Plain strings keep this module free of rdflib, so the fast query path (which works
    on a compiled cache) never pays rdflib's import time; rdflib code wraps terms in
    ``URIRef`` where it needs nodes.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> str:
        if name.startswith("__"):
            raise AttributeError(name)
        return self + name

    def term(self, name: str) -> str:
        """The IRI for a local name that is not a Python identifier."""
        return self + name


RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
OWL = Namespace("http://www.w3.org/2002/07/owl#")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
SH = Namespace("http://www.w3.org/ns/shacl#")

CD38 = Namespace("https://w3id.org/cd38kg/vocab#")
KB = Namespace("https://w3id.org/cd38kg/kb/")
USER = Namespace("https://w3id.org/cd38kg/user/")
SHAPES = Namespace("https://w3id.org/cd38kg/shapes#")
OBO = Namespace("http://purl.obolibrary.org/obo/")
OBOINOWL = Namespace("http://www.geneontology.org/formats/oboInOwl#")
DOI = "https://doi.org/"

ONTOLOGY_IRI = "https://w3id.org/cd38kg/vocab"
CURATED_GRAPH = "https://w3id.org/cd38kg/graph/curated"
ASSERTED_GRAPH = "https://w3id.org/cd38kg/graph/asserted"
CLAIMS_GRAPH = "https://w3id.org/cd38kg/graph/claims"
INFERRED_GRAPH = "https://w3id.org/cd38kg/graph/inferred"
DERIVED_GRAPH = "https://w3id.org/cd38kg/graph/derived"
#: Every entity's normalised names (``cd38:nameKey``): an index a server answers by lookup.
NAMES_GRAPH = "https://w3id.org/cd38kg/graph/names"
#: The graphs a loaded knowledge base holds, which user queries see (their union as the
#: default graph); the derived strategies are added only for queries that read them.
QUERIED_GRAPHS = (CURATED_GRAPH, ASSERTED_GRAPH, INFERRED_GRAPH, CLAIMS_GRAPH, NAMES_GRAPH)

HAS_XREF = OBOINOWL.hasDbXref

#: Prefixes offered to users in CURIEs, queries and serialisations.
PREFIXES: dict[str, str] = {
    "cd38": str(CD38),
    "kb": str(KB),
    "user": str(USER),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "skos": str(SKOS),
    "xsd": str(XSD),
    "dcterms": str(DCTERMS),
    "obo": str(OBO),
    "oboInOwl": str(OBOINOWL),
}

#: Top-level kinds in the order used to name an entity's kind.
KINDS: dict[str, str] = {
    "agent": CD38.Agent,
    "resistance": CD38.ResistanceMechanism,
    "mechanism": CD38.MechanismOfAction,
    "process": CD38.Process,
    "cell": CD38.CellPopulation,
    "molecule-context": CD38.MoleculeInCell,
    "molecule": CD38.Molecule,
    "patient-factor": CD38.PatientFactor,
    "trial": CD38.ClinicalTrial,
    "trial-arm": CD38.TrialArm,
    "regimen": CD38.Regimen,
    "publication": CD38.Publication,
    "finding": CD38.Finding,
    "claim": CD38.LiteratureClaim,
    "evidence-level": CD38.EvidenceLevel,
    "expression-level": CD38.ExpressionLevel,
    "setting": CD38.DiseaseSetting,
    "relation": OWL.ObjectProperty,
    "data-property": OWL.DatatypeProperty,
    "annotation-property": OWL.AnnotationProperty,
}

#: Aliases accepted by ``--type``.
KIND_ALIASES: dict[str, str] = {
    "drugs": "drug",
    "agents": "agent",
    "antibody": "antibody",
    "cells": "cell",
    "cell-type": "cell",
    "molecules": "molecule",
    "mechanisms": "mechanism",
    "moa": "mechanism",
    "resistance-mechanism": "resistance",
    "trials": "trial",
}

MAGNITUDES = ("strong", "moderate", "weak", "none", "unknown")

__all__ = [
    "CD38", "KB", "USER", "OBO", "OBOINOWL", "DOI", "ONTOLOGY_IRI", "CURATED_GRAPH", "ASSERTED_GRAPH",
    "CLAIMS_GRAPH", "INFERRED_GRAPH", "DERIVED_GRAPH", "NAMES_GRAPH", "QUERIED_GRAPHS", "HAS_XREF", "PREFIXES", "KINDS",
    "KIND_ALIASES", "MAGNITUDES", "Namespace", "OWL", "RDF", "RDFS", "SKOS", "XSD", "DCTERMS",
]
