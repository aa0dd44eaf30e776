"""KGX export validated against the Biolink model, and read back into the same answers."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from cd38kg import KnowledgeBase
from cd38kg.io.biolink import BIOLINK_PREFIXES, EXTENSION_EDGE_PROPERTIES, EXTENSION_NODE_PROPERTIES
from cd38kg.io.kgx import EDGE_COLUMNS, NODE_COLUMNS, read_records, to_kgx

SHOWCASES = [
    ("daratumumab + ATRA", "CD38 downregulation"),
    ("isatuximab + cyclophosphamide", "CD47 upregulation"),
    ("daratumumab + CD38-knockout NK cells", "NK cell fratricide"),
]


@pytest.fixture(scope="module")
def exported(kb, tmp_path_factory):
    out = tmp_path_factory.mktemp("kgx")
    to_kgx(kb, out)
    return out


def jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def nodes(exported):
    return {n["id"]: n for n in jsonl(exported / "nodes.jsonl")}


@pytest.fixture(scope="module")
def edges(exported):
    return jsonl(exported / "edges.jsonl")


@pytest.fixture(scope="module")
def toolkit():
    bmt = pytest.importorskip("bmt")
    pytest.importorskip("biolink_model")
    schema = resources.files("biolink_model") / "schema" / "biolink_model.yaml"
    # The bundled schema and no predicate map: bmt would otherwise fetch both from the web.
    return bmt.Toolkit(schema=str(schema), predicate_map={"predicate mappings": []})


def test_tsv_and_jsonl_hold_the_same_records(exported, nodes, edges):
    tsv_nodes = read_records(exported / "nodes.tsv", (exported / "nodes.tsv").read_text())
    tsv_edges = read_records(exported / "edges.tsv", (exported / "edges.tsv").read_text())
    assert {r["id"] for _, r in tsv_nodes} == set(nodes)
    assert {r["id"] for _, r in tsv_edges} == {e["id"] for e in edges}
    assert (exported / "nodes.tsv").read_text().split("\n", 1)[0].split("\t") == list(NODE_COLUMNS)


def test_every_node_has_a_standard_identifier_where_one_exists(kb, nodes):
    by_iri = {n["iri"]: n for n in nodes.values()}
    for entity in kb.facts.entities.values():
        node = by_iri.get(entity.iri)
        if node is None or not entity.xrefs or "cd38:MoleculeInCell" in node["cd38_types"]:
            continue
        assert not node["id"].startswith(("kb:", "cd38:", "user:")), (entity.label, node["id"])
    assert nodes["HGNC:1667"]["name"] == "CD38"
    assert nodes["CLINICALTRIALS:NCT02076009"]["category"] == ["biolink:ClinicalTrial"]


def test_molecule_in_a_cell_is_the_molecule_with_a_cell_context(edges):
    atra = [e for e in edges if e["id"] == "kb:f-atra-cd38" or e.get("original_object") == "kb:cd38-on-mm"
            and e["subject"] == "CHEBI:15367"]
    assert atra, "ATRA raising CD38 on myeloma cells is exported"
    edge = atra[0]
    assert (edge["object"], edge["predicate"], edge["qualified_predicate"]) == ("HGNC:1667", "biolink:affects", "biolink:causes")
    assert (edge["object_aspect_qualifier"], edge["object_direction_qualifier"]) == ("expression", "increased")
    assert edge["anatomical_context_qualifier"] == ["kb:myeloma-cell"]
    assert edge["original_object"] == "kb:cd38-on-mm"


def test_provenance_on_every_finding_edge(edges):
    findings = [e for e in edges if e["id"].startswith("kb:f-")]
    assert findings
    for edge in findings:
        assert edge["primary_knowledge_source"] == "infores:cd38kg"
        assert edge["knowledge_level"] in ("knowledge_assertion", "logical_entailment")
        assert edge["agent_type"] == "manual_agent"
        assert edge["publications"] and all(p.startswith("doi:10.") for p in edge["publications"])
        assert edge["evidence_level"]
    assert any(e.get("negated") is True and e["magnitude"] == "none" for e in findings)


def test_class_level_findings_are_expanded_and_marked(kb, edges):
    expanded = [e for e in edges if e.get("expanded_from") == "cd38:IMiD"]
    members = {m for m in kb.facts.members["https://w3id.org/cd38kg/vocab#IMiD"] if m not in kb.facts.classes}
    assert expanded and all(e["knowledge_level"] == "logical_entailment" for e in expanded)
    assert all(e["original_subject"] == "cd38:IMiD" for e in expanded)
    lenalidomide = next(n for n in kb.facts.entities.values() if n.label == "lenalidomide")
    assert lenalidomide.iri in members
    assert any(e["subject"] == "CHEBI:63791" for e in expanded)
    class_level = {e["id"] for e in edges if e["subject"] == "cd38:IMiD"}
    assert {e["id"].split("#")[0] for e in expanded} <= class_level


def test_nodes_pass_biolink_validation(toolkit, nodes):
    for node in nodes.values():
        assert all(toolkit.is_category(c) for c in node["category"]), node
    slots = {c for n in nodes.values() for c in n} - set(EXTENSION_NODE_PROPERTIES)
    assert all(toolkit.get_element(s) is not None for s in slots), slots


def test_edges_pass_biolink_validation(toolkit, edges):
    enums = {"object_aspect_qualifier": "GeneOrGeneProductOrChemicalEntityAspectEnum",
             "object_direction_qualifier": "DirectionQualifierEnum", "knowledge_level": "KnowledgeLevelEnum",
             "agent_type": "AgentTypeEnum"}
    for edge in edges:
        assert toolkit.is_predicate(edge["predicate"]), edge
        if "qualified_predicate" in edge:
            assert toolkit.is_predicate(edge["qualified_predicate"])
        for slot, enum in enums.items():
            if slot in edge:
                assert toolkit.is_permissible_value_of_enum(enum, edge[slot]), (slot, edge[slot])
        for slot in ("object_aspect_qualifier", "object_direction_qualifier", "subject_context_qualifier",
                     "anatomical_context_qualifier"):
            assert slot not in edge or toolkit.is_qualifier(slot), slot
    slots = {c for e in edges for c in e} - set(EXTENSION_EDGE_PROPERTIES)
    assert all(toolkit.get_element(s) is not None for s in slots), slots
    assert set(EDGE_COLUMNS) >= {c for e in edges for c in e}


def test_biolink_prefix_spellings_match_the_biolink_model():
    pytest.importorskip("biolink_model")
    import bioregistry

    path = resources.files("biolink_model") / "prefixmaps" / "biolink_model_prefix_map.json"
    biolink = {bioregistry.normalize_prefix(p): p for p in json.loads(path.read_text())}
    for ours, spelled in BIOLINK_PREFIXES.items():
        if ours in biolink:
            assert biolink[ours] == spelled


def outcome(result):
    chains = [[(s.subject.label, s.predicate.iri, s.object.label, s.sign) for s in chain] for chain in result.explanations]
    return result.verdict, result.outcome, result.score, chains


def test_round_trip_gives_the_same_answers(kb, exported, cache_home):
    """Export, read the KGX into a store holding only the ontology, ask the showcase questions."""
    back = KnowledgeBase.load(extras=[exported / "nodes.tsv", exported / "edges.tsv"], bundled_data=False)
    key = lambda f: (f.subject, f.predicate, f.object, f.source, f.evidence_level, f.magnitude)  # noqa: E731
    assert {key(f) for f in back.facts.findings} == {key(f) for f in kb.facts.findings}
    for combination, resistance in SHOWCASES:
        assert outcome(back.explain(combination, resistance)) == outcome(kb.explain(combination, resistance))
    assert len(back.import_notes) == 1 and "expanded_from" in back.import_notes[0]


def test_round_trip_through_json_lines(kb, exported, cache_home):
    back = KnowledgeBase.load(extras=[exported / "nodes.jsonl", exported / "edges.jsonl"], bundled_data=False)
    combination, resistance = SHOWCASES[0]
    assert outcome(back.explain(combination, resistance)) == outcome(kb.explain(combination, resistance))


def test_foreign_kgx_edges_match_by_curie_and_report_what_does_not_map(kb, tmp_path):
    from cd38kg.io import read_extension

    path = tmp_path / "edges.tsv"
    path.write_text(
        "id\tsubject\tpredicate\tobject\tobject_aspect_qualifier\tobject_direction_qualifier\tpublications\n"
        "e1\tCHEBI:15367\tbiolink:affects\tHGNC:1689\texpression\tdecreased\tPMID:15971270\n"
        "e2\tCHEBI:15367\tbiolink:treats\tHGNC:1689\t\t\tPMID:15971270\n"
        "e3\tCHEBI:99999999\tbiolink:affects\tHGNC:1689\tactivity\tdecreased\tPMID:15971270\n")
    imported = read_extension(path, path.read_text(), kb.dataset)
    statements = {(str(s).rsplit("/", 1)[-1], str(o)) for s, p, o in imported.triples if str(p).endswith("#predicate")}
    assert {o.rsplit("#", 1)[1] for _, o in statements} == {"decreases"}  # bare CD59: no cell context invented
    assert [n.split(": ", 1)[0] for n in imported.notes] == [f"{path}:3", f"{path}:4"]


def test_malformed_kgx_line_is_an_error_with_its_position(kb, tmp_path):
    from cd38kg.errors import InputFileError
    from cd38kg.io import read_extension

    path = tmp_path / "edges.jsonl"
    path.write_text('{"subject": "HGNC:1667", "predicate": "biolink:affects", "object": "HGNC:1689"}\n{"subject": \n')
    with pytest.raises(InputFileError, match=r"edges\.jsonl:2: not JSON"):
        read_extension(path, path.read_text(), kb.dataset)
