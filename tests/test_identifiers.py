"""Standard identifiers: Bioregistry normal forms, every xref checked, CURIEs accepted wherever names are."""

from __future__ import annotations

import pytest

from cd38kg.io.matching import Importer
from cd38kg.knowledge.identifiers import check_curie, standard_curie

CD38_IRI = "https://w3id.org/cd38kg/kb/CD38"
TRIAL_IRI = "https://w3id.org/cd38kg/kb/trial-nct02751255"


@pytest.mark.parametrize(("text", "expected"), [
    ("HGNC:1667", "hgnc:1667"),
    ("hgnc:1667", "hgnc:1667"),
    ("NCT02751255", "clinicaltrials:NCT02751255"),
    ("NCT:NCT02751255", "clinicaltrials:NCT02751255"),
    ("clinicaltrials:NCT02751255", "clinicaltrials:NCT02751255"),
    ("UniProtKB:P28907", "uniprot:P28907"),
    ("chebi:15367", "CHEBI:15367"),
    ("CHEBI:CHEBI:15367", "CHEBI:15367"),  # INDRA repeats the prefix
    ("DB09331", "drugbank:DB09331"),
    ("CVCL_2142", "cellosaurus:2142"),
    ("CD38", None),
    ("t(4;14)", None),
    ("HGNC:CD38", None),  # wrong pattern
])
def test_standard_curie(text, expected):
    assert standard_curie(text) == expected


def test_every_xref_is_a_standard_identifier_in_normal_form(kb):
    problems = [f"{e.label}: {x}: {check_curie(x)}" for e in kb.facts.entities.values() for x in e.xrefs if check_curie(x)]
    assert problems == []


def test_no_trial_keeps_the_nonstandard_nct_prefix(kb):
    xrefs = [x for e in kb.entities(kind="trial") for x in e.xrefs]
    assert xrefs and all(x.startswith("clinicaltrials:NCT") for x in xrefs)


@pytest.mark.parametrize("name", ["HGNC:1667", "hgnc:1667", "UniProtKB:P28907", "uniprot:P28907", "CD38"])
def test_names_take_curies_in_any_spelling(kb, name):
    assert kb.entity(name).iri == CD38_IRI


@pytest.mark.parametrize("name", ["NCT02751255", "nct02751255", "clinicaltrials:NCT02751255", "NCT:NCT02751255"])
def test_trials_by_nct_number_in_any_spelling(kb, name):
    assert kb.entity(name, kind="trial").iri == TRIAL_IRI


def test_entities_search_takes_a_curie_synonym(kb):
    assert [e.iri for e in kb.entities(search="NCT:NCT02751255")] == [TRIAL_IRI]


def test_explain_takes_curies_for_the_combination(kb):
    by_name = kb.explain("daratumumab + ATRA", "CD38 downregulation")
    by_curie = kb.explain("DrugBank:DB09331 + chebi:15367", "CD38 downregulation")
    assert (by_curie.antibody.label, [p.label for p in by_curie.partners]) == ("daratumumab", ["ATRA"])
    assert (by_curie.verdict, by_curie.score) == (by_name.verdict, by_name.score)


def test_tsv_cells_take_curies(kb, tmp_path):
    from cd38kg.io import read_extension

    path = tmp_path / "curies.tsv"
    path.write_text("subject\tpredicate\tobject\tsource\n"
                    "CHEBI:15367\tincreases_expression\tCD38 on myeloma cells\tdoi:10.1234/example\n")
    imported = read_extension(path, path.read_text(), kb.dataset)
    subjects = {str(o) for s, p, o in imported.triples if str(p).endswith("#subject")}
    assert subjects == {"https://w3id.org/cd38kg/kb/atra"}


def test_importers_match_by_curie_before_name(kb, tmp_path):
    importer = Importer(tmp_path / "x.json", kb.dataset)
    # The CURIE wins over a misleading name; an unknown CURIE falls back to the name.
    assert importer.match(["HGNC:1667"], "CD59") == CD38_IRI
    assert importer.match(["HGNC:99999"], "CD38") == CD38_IRI
    assert importer.match([], "no such thing") is None
