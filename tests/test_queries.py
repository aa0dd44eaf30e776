"""The named competency queries, run on the bundled knowledge base, and the query library."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pyoxigraph
import pytest
from rdflib import Graph, Literal, URIRef

from cd38kg import KnowledgeBase
from cd38kg.errors import Cd38kgError, UnknownEntityError
from cd38kg.interfaces.cli import main
from cd38kg.interfaces.queries import (
    QueryError,
    QueryRefused,
    QueryResult,
    QuerySyntaxError,
    bind,
    execute,
    inspect_query,
    list_queries,
    load_query,
    parse_assignments,
    reads_derived,
    render,
    run_named,
)
from cd38kg.resources import queries_dir
from cd38kg.store import values_clause

KB_NS = "https://w3id.org/cd38kg/kb/"
REQUIRED = {"mechanisms-of-action", "resistance-mechanisms", "strategies", "cells-expressing",
            "drug-effects-on-cells", "clinical-evidence", "ongoing-trials", "evidence-for", "conflicts",
            "class-members"}


@pytest.fixture(scope="module")
def kb():
    return KnowledgeBase.load()


@pytest.fixture(scope="module")
def dataset(kb):
    return kb.sparql_dataset()


@pytest.fixture(scope="module")
def run(kb, dataset):
    def _run(name, **values):
        return run_named(kb, dataset, name, values)
    return _run


def canonical(result: QueryResult) -> list[tuple[tuple[str, ...], ...]]:
    """Rows with each cell's words sorted: GROUP_CONCAT joins values in no fixed order."""
    return sorted(tuple(tuple(sorted(w for w in re.split(r"[\s;,()]+", str(getattr(term, "value", ""))) if w))
                        for term in row) for row in result.rows)


def rows_where(result: QueryResult, **expected) -> list[dict[str, str]]:
    return [row for row in result.records() if all(row.get(k) == v for k, v in expected.items())]


# -- every query ---------------------------------------------------------------------------


def test_the_required_queries_are_all_there():
    assert {q.name for q in list_queries()} >= REQUIRED


@pytest.mark.parametrize("query", list_queries(), ids=lambda q: q.name)
def test_header_documents_question_params_and_columns(query):
    assert query.question.endswith((".", "?")) and len(query.question) > 30
    assert query.columns, "every query lists its result columns"
    for param in query.params:
        assert re.search(rf"\?{param.name}\b", query.text.split("PREFIX", 1)[1]), f"?{param.name} is not used"
        assert param.description


@pytest.mark.parametrize("query", list_queries(), ids=lambda q: q.name)
def test_runs_with_defaults_and_returns_the_documented_columns(query, kb, dataset):
    result = execute(dataset, bind(query, kb, {}))
    assert len(result) > 0
    assert set(result.variables) == {c.name for c in query.columns}


@pytest.mark.parametrize("query", [q for q in list_queries() if not reads_derived(q.text)], ids=lambda q: q.name)
def test_a_query_that_reads_no_derived_strategy_runs_on_the_knowledge_bases_own_store(query, kb, dataset):
    """The store holds the claims beside the knowledge graphs, so such a query needs no copy."""
    own = kb.sparql_store(include_derived=False)
    assert own is kb.store.oxigraph
    text = bind(query, kb, {})
    assert canonical(execute(own, text)) == canonical(execute(dataset, text))


def test_the_claims_sit_in_their_own_graph_and_no_fact_is_read_from_it(kb):
    """Queries join the claims without a copy; the engine still never sees them."""
    import pyoxigraph

    from cd38kg.knowledge.facts import select_facts
    from cd38kg.vocab import CLAIMS_GRAPH

    store = kb.store.oxigraph
    claims = list(store.quads_for_pattern(None, None, None, pyoxigraph.NamedNode(CLAIMS_GRAPH)))
    assert len(claims) > 100
    claim_subjects = {q.subject.value for q in claims}
    assert not claim_subjects & set(kb.facts.entities), "a claim became an entity"
    assert select_facts(kb.dataset) == kb.facts
    assert {c.iri for c in kb.claims} <= claim_subjects


#: Parameter values beyond the defaults, so binding is checked on more than one answer.
_BOUND_VALUES = {"evidence-for": {"entity": "NK cells"}, "drug-effects-on-cells": {"drug": "lenalidomide"},
                 "clinical-evidence": {"drug": "DRd"}, "mechanisms-of-action": {"antibody": "isatuximab"},
                 "class-members": {"class": "anti-CD38 antibody"}, "resistance-mechanisms": {"resistance": "soluble CD38"},
                 "strategies": {"resistance": "NK cell depletion"}, "ongoing-trials": {"status": "reported"}}


@pytest.mark.parametrize("values", [{}, "other"], ids=["defaults", "other-values"])
@pytest.mark.parametrize("query", list_queries(), ids=lambda q: q.name)
def test_parameters_bound_where_the_pattern_starts_answer_as_a_trailing_values_clause(query, values, kb, dataset):
    """Binding at the start of WHERE lets the engine start from the value (seconds faster with a
    large extension); SPARQL's trailing VALUES clause is the reference meaning."""
    from cd38kg.interfaces.queries import where_group_start

    chosen = _BOUND_VALUES.get(query.name, {}) if values == "other" else {}
    bound = bind(query, kb, chosen)
    trailing = query.text + values_clause({p.name: p.term(kb, chosen.get(p.name, p.default)) for p in query.params
                                           if chosen.get(p.name, p.default) is not None})
    assert where_group_start(query.text) is not None
    if bound != query.text:
        assert bound != trailing, "the parameters open the WHERE group"
    result = execute(dataset, bound)
    assert len(result) > 0
    assert canonical(result) == canonical(execute(dataset, trailing))


@pytest.mark.parametrize(("text", "opens"), [
    ("SELECT * WHERE { ?s ?p ?o }", "SELECT * WHERE {"),
    ('# a WHERE { in a comment\nSELECT ("WHERE {" AS ?x) where{ ?s ?p ?o }', "?x) where{"),
    ("PREFIX a: <http://x/WHERE> SELECT (IF(1 < 2, 'WHERE {', 'b') AS ?x) WHERE { ?s ?p ?o }", "?x) WHERE {"),
    ("SELECT * { ?s ?p ?o }", None),
])
def test_the_outer_where_group_is_found_outside_comments_strings_and_iris(text, opens):
    from cd38kg.interfaces.queries import where_group_start

    at = where_group_start(text)
    assert (text[:at].endswith(opens) if opens else at is None)


@pytest.mark.parametrize("resistance", ["CD38 downregulation", "complement inhibitor upregulation", "soluble CD38"])
def test_strategies_for_one_resistance_need_only_its_derived_strategies(kb, dataset, resistance):
    """The derived graph of a query bound to one resistance holds that resistance's strategies
    alone (ranking every resistance took minutes with a large extension); the answer is the same."""
    from cd38kg.interfaces.queries import derived_resistances

    query = load_query("strategies")
    only = derived_resistances(query, kb, {"resistance": resistance})
    assert only == {kb.entity(resistance).iri}
    text = bind(query, kb, {"resistance": resistance})
    partial = kb.sparql_store(derived_for=only)
    assert len(partial) < len(kb.sparql_store())
    assert canonical(execute(partial, text)) == canonical(execute(dataset, text))
    assert derived_resistances(replace(query, origin="my.rq"), kb, {"resistance": resistance}) is None


# -- answers -------------------------------------------------------------------------------


def test_mechanisms_of_action_compare_the_antibodies(run):
    result = run("mechanisms-of-action")
    isa_direct = rows_where(result, antibody=KB_NS + "isatuximab", mechanism=KB_NS + "direct-apoptosis")
    assert {row["magnitude"] for row in isa_direct} == {"strong"}
    dara_direct = rows_where(result, antibody=KB_NS + "daratumumab", mechanism=KB_NS + "direct-apoptosis")
    assert {row["magnitude"] for row in dara_direct} == {"none"}
    cdc = rows_where(result, antibody=KB_NS + "daratumumab", mechanism=KB_NS + "cdc")[0]["comparison"]
    assert "daratumumab strong" in cdc and "isatuximab none (2020)" in cdc and "isatuximab weak (2022)" in cdc
    # Class-level statements count for every antibody and say so.
    assert rows_where(result, antibody=KB_NS + "mor202", mechanism=KB_NS + "adcc", statedFor="anti-CD38 antibody")


def test_mechanisms_of_action_for_one_antibody(run):
    result = run("mechanisms-of-action", antibody="Sarclisa")
    assert set(result.column("antibody")) == {KB_NS + "isatuximab"}


def test_resistance_impairment_is_derived_through_the_chain(run, dataset):
    # Nothing states "CD38 downregulation impairs CDC" ...
    assert not dataset.query("ASK { kb:cd38-downregulation ?p kb:cdc }", initNs={"kb": KB_NS}).askAnswer
    result = run("resistance-mechanisms")
    down = rows_where(result, resistance=KB_NS + "cd38-downregulation", effect="impairs")
    impaired = {row["mechanismLabel"]: row for row in down}
    # ... the query derives it: the resistance lowers CD38 on myeloma cells, which CDC and ADCC require.
    assert {"CDC", "ADCC", "ADCP"} <= set(impaired)
    assert impaired["CDC"]["through"] == "CD38 on myeloma cells"
    assert impaired["CDC"]["shortestChain"] == "2"
    assert set(down[0]["onset"].split(", ")) == {"primary", "acquired"}
    # Raising an inhibitor impairs too: CD47 -> SIRPα -| ADCP is three steps.
    cd47 = rows_where(result, resistance=KB_NS + "cd47-upregulation", mechanism=KB_NS + "adcp")
    assert [(r["effect"], r["shortestChain"]) for r in cd47] == [("impairs", "3")]
    # NK fratricide removes CD38-high NK cells, part of the NK cells ADCC is carried out by.
    nk = rows_where(result, resistance=KB_NS + "nk-cell-depletion", mechanism=KB_NS + "adcc")
    assert [(r["effect"], r["through"], r["onset"]) for r in nk] == [("impairs", "NK cells", "acquired")]
    # The sign is kept: less tumour CD38 means less adenosine, which frees T cells.
    support = rows_where(result, resistance=KB_NS + "cd38-downregulation", mechanism=KB_NS + "immunomodulation")
    assert [r["effect"] for r in support] == ["supports"]
    # A mechanism without a causal path is listed, with nothing impaired.
    assert rows_where(result, resistance=KB_NS + "high-risk-cytogenetics") == [
        {"resistance": KB_NS + "high-risk-cytogenetics", "resistanceLabel": "high-risk cytogenetics",
         "onset": "primary"}]


def test_resistance_query_uses_every_signed_relation_with_its_sign(dataset):
    text = load_query("resistance-mechanisms").text

    def iris(names: str) -> frozenset[str]:
        return frozenset(n.strip().replace("cd38:", "https://w3id.org/cd38kg/vocab#") for n in names.split(","))

    # Each step of a chain is one pattern restricted to the causal relations; the lowering ones flip the sign.
    steps = {iris(m) for m in re.findall(r"FILTER\(\?p\d IN \(([^)]*)\)\)", text)}
    lowering = {iris(m) for m in re.findall(r"IF\(\?p\d IN \(([^)]*)\), -1, 1\)", text)}
    assert len(steps) == 1 and len(lowering) == 1, "every step must use the same relations and signs"
    (causal,), (negative,) = steps, lowering
    signs = {"-1": set(negative), "1": set(causal - negative)}
    ontology = {}
    # Signed relations keep or flip the sign; the unsigned part-of link (a subpopulation's change
    # is its population's change) keeps it.
    for p, sign in dataset.query('SELECT ?p ?sign WHERE { { ?p cd38:causalSign ?sign } UNION '
                                 '{ ?p cd38:causalAspect "part-of" BIND(1 AS ?sign) } '
                                 'FILTER NOT EXISTS { ?p cd38:causalDirection "reverse" } }',
                                 initNs={"cd38": "https://w3id.org/cd38kg/vocab#"}):
        ontology.setdefault(str(int(sign)), set()).add(str(p))
    assert signs == ontology


def test_resistance_query_for_one_mechanism(run):
    result = run("resistance-mechanisms", resistance="CAM-IR")
    assert set(result.column("mechanismLabel")) == {"ADCC", "programmed cell death by Fc cross-linking",
                                                    "direct apoptosis"}


def test_strategies_against_cd38_downregulation_include_atra(run):
    result = run("strategies")
    atra = rows_where(result, partner=KB_NS + "atra")
    assert atra and atra[0]["verdict"] == "overcomes"
    assert atra[0]["resistance"] == KB_NS + "cd38-downregulation"
    assert atra[0]["status"] in ("reported", "novel")
    ranks = [int(r) for r in result.column("rank")]
    assert ranks == sorted(ranks)


def test_myeloma_cells_express_cd38_the_most(run):
    result = run("cells-expressing")
    first = result.records()[0]
    assert (first["cellLabel"], first["levelLabel"]) == ("myeloma cells", "very high")
    levels = {row["cellLabel"]: row["levelLabel"] for row in result.records()}
    assert levels["CD38-high NK cells"] == "high"
    assert levels["CD38- Tregs"] == "absent"
    assert result.records()[-1]["levelLabel"] == "absent"


def test_cells_expressing_another_molecule(run):
    result = run("cells-expressing", molecule="CD16")
    assert [(r["cellLabel"], r["levelLabel"]) for r in result.records()] == [("NK cells", "high")]


def test_daratumumab_effects_on_cells(run):
    result = run("drug-effects-on-cells", drug="daratumumab")
    effects = {(row["effect"], row["cellLabel"]) for row in result.records()}
    assert {("depletes", "NK cells"), ("depletes", "CD38+ Tregs"), ("depletes", "regulatory B cells"),
            ("depletes", "myeloid-derived suppressor cells"), ("spares", "CD38-low/negative NK cells"),
            ("spares", "CD38- Tregs"), ("expands", "CD8+ T cells"), ("activates", "CD8+ T cells")} <= effects
    assert ("depletes", "CD38- Tregs") not in effects
    # Every anti-CD38 antibody depletes myeloma cells: a class-level statement.
    assert rows_where(result, effect="depletes", cellLabel="myeloma cells")[0]["statedFor"] == "anti-CD38 antibody"
    assert len(result.rows) == len({tuple(r) for r in result.rows}), "no duplicate rows"


def test_pollux_drd_against_rd(run):
    result = run("clinical-evidence", drug="daratumumab")
    pollux = rows_where(result, trialLabel="POLLUX", arm=KB_NS + "arm-pollux-drd")
    assert len(pollux) == 1
    row = pollux[0]
    assert row["comparatorLabel"] == "POLLUX: Rd" and row["phase"] == "3" and row["nct"] == "NCT02076009"
    assert (float(row["orrPercent"]), float(row["comparatorOrrPercent"])) == (93.0, 76.0)
    assert (float(row["pfsMonths"]), float(row["comparatorPfsMonths"])) == (44.5, 17.5)


def test_clinical_evidence_for_a_regimen(run):
    result = run("clinical-evidence", drug="DRd")
    assert {"POLLUX", "MAIA"} <= set(result.column("trialLabel"))
    assert set(result.column("regimenLabel")) == {"DRd"}


def test_ongoing_trials(run):
    result = run("ongoing-trials")
    trials = {row["trialLabel"]: row for row in result.records()}
    assert trials["APOLLO"]["nct"] == "NCT03180736" and trials["APOLLO"]["phase"] == "3"
    assert set(trials["APOLLO"]["arms"].split("; ")) == {"DPd", "Pd"}
    assert trials["NCT02751255"]["arms"] == "daratumumab plus ATRA"
    assert "POLLUX" not in trials
    assert set(result.column("status")) == {"ongoing"}
    reported = run("ongoing-trials", status="reported")
    assert "POLLUX" in reported.column("trialLabel") and "APOLLO" not in reported.column("trialLabel")


def test_evidence_for_panobinostat(run):
    result = run("evidence-for", entity="panobinostat")
    no_cdc = rows_where(result, finding=KB_NS + "f-pano-no-cdc")[0]
    assert no_cdc["magnitude"] == "none" and no_cdc["role"] == "subject"
    assert no_cdc["statement"] == "panobinostat activates CDC"
    assert no_cdc["source"] == "https://doi.org/10.3390/jcm9041195" and no_cdc["evidenceLevel"] == "ex vivo"


def test_evidence_for_includes_class_level_statements(run):
    result = run("evidence-for", entity="lenalidomide")
    roles = set(result.column("role"))
    assert {"subject", "subject (as immunomodulatory drug)"} <= roles


def test_conflicts_report_both_sides_once(run):
    result = run("conflicts")
    pairs = [(row["a"], row["b"]) for row in result.records()]
    assert len(pairs) == len(set(pairs))
    assert not {(b, a) for a, b in pairs} & set(pairs)
    # The Table 2 "panobinostat (only CDC)" entry is a strategy proposal, kept in the claims graph.
    pano = rows_where(result, a=KB_NS + "claim-franssen2020-s51-panobinostat-cd38",
                      b=KB_NS + "claim-franssen2020-t2-panobinostat-cd38")
    assert len(pano) == 1
    assert "Table 2" in pano[0]["note"] and "ADCC" in pano[0]["note"]
    assert {"finding", "trial arm", "literature claim"} <= set(result.column("kind"))


def test_class_members_of_imid_include_inferred_members(run):
    result = run("class-members", **{"class": "cd38:IMiD"})
    members = {row["memberLabel"]: row["how"] for row in result.records()}
    assert {"lenalidomide", "pomalidomide", "thalidomide", "iberdomide"} <= set(members)
    assert members["iberdomide"] == "subclass" and members["lenalidomide"] == "asserted"


def test_class_members_found_by_the_reasoner(run):
    result = run("class-members", **{"class": "anti-CD38 antibody"})
    members = {row["memberLabel"]: row["how"] for row in result.records()}
    assert members["daratumumab"] == "asserted"
    assert "reasoner" in members.values()


# -- parameters ----------------------------------------------------------------------------


def test_parameters_are_bound_as_terms_not_text(kb, dataset):
    query = load_query("ongoing-trials")
    hostile = 'ongoing" } } SELECT * WHERE { ?s ?p ?o } #'
    text = bind(query, kb, {"status": hostile})
    clause = values_clause({"status": pyoxigraph.Literal(hostile)})
    assert Literal(hostile).n3() in clause
    assert text.replace(clause, "", 1) == query.text, "the query's own text is untouched"
    assert len(execute(dataset, text)) == 0


def test_entity_parameters_resolve_names_and_curies(kb):
    query = load_query("drug-effects-on-cells")
    for name in ("daratumumab", "Darzalex", "kb:daratumumab", f"<{KB_NS}daratumumab>"):
        assert f"<{KB_NS}daratumumab>" in bind(query, kb, {"drug": name})
    with pytest.raises(UnknownEntityError, match="Did you mean"):
        bind(query, kb, {"drug": "daratumumabb"})
    with pytest.raises(Cd38kgError, match="not a"):
        bind(query, kb, {"drug": "NK cells"})


def test_unknown_parameter_lists_the_valid_ones(kb):
    with pytest.raises(QueryError, match=r"no parameter 'drug'.*molecule \(entity:molecule\)"):
        bind(load_query("cells-expressing"), kb, {"drug": "x"})
    with pytest.raises(QueryError, match="declares no parameters"):
        bind(load_query("conflicts"), kb, {"x": "y"})


def test_unknown_query_lists_the_named_ones():
    with pytest.raises(QueryError, match="clinical-evidence") as err:
        load_query("clinical-evidenc")
    assert "unknown query" in str(err.value)


def test_parse_assignments():
    assert parse_assignments(["drug=daratumumab", "x = a=b "]) == {"drug": "daratumumab", "x": "a=b"}
    with pytest.raises(QueryError, match="KEY=VALUE"):
        parse_assignments(["daratumumab"])
    with pytest.raises(QueryError, match="twice"):
        parse_assignments(["a=1", "a=2"])


def test_user_query_file_with_declared_parameter(tmp_path, kb, dataset):
    path = tmp_path / "labels.rq"
    path.write_text("# What is an entity called?\n# @param thing entity default=ATRA  the entity\n#   to name\n"
                    "# @column label  its name\nSELECT ?label WHERE { ?thing rdfs:label ?label }\n", encoding="utf-8")
    query = load_query(str(path))
    assert query.question == "What is an entity called?"
    assert (query.params[0].default, query.params[0].description) == ("ATRA", "the entity to name")
    assert execute(dataset, bind(query, kb, {})).column("label") == ["ATRA"]
    assert execute(dataset, bind(query, kb, {"thing": "Sarclisa"})).column("label") == ["isatuximab"]


def test_bad_param_declaration_names_the_line(tmp_path):
    path = tmp_path / "bad.rq"
    path.write_text("# Question?\n# @param drug number default=3\nSELECT * WHERE { ?s ?p ?o }\n", encoding="utf-8")
    with pytest.raises(QueryError, match=r"bad\.rq:2: bad @param"):
        load_query(str(path))


# -- checking queries ----------------------------------------------------------------------


def test_syntax_error_gives_line_and_column():
    with pytest.raises(QuerySyntaxError) as err:
        inspect_query("SELECT ?s\nWHERE {\n  ?s ?p ?o\n  FILTER(\n}\n")
    assert (err.value.line, err.value.column) == (4, 3)
    assert "line 4, column 3" in str(err.value)


@pytest.mark.parametrize("text", [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "select * where { ?a ?b ?c { select ?s where { service silent <http://example.org/> { ?s ?p ?o } } } }",
    "SELECT * WHERE { \\u0053ERVICE <http://example.org/> { ?s ?p ?o } }",
    "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
    "LOAD <http://example.org/data.ttl>",
    "DELETE WHERE { ?s ?p ?o }",
])
def test_outbound_and_update_requests_are_refused(text):
    with pytest.raises(QueryRefused):
        inspect_query(text)


def test_from_and_unknown_prefixes_are_rejected_with_advice():
    with pytest.raises(QueryError, match="GRAPH"):
        inspect_query("SELECT * FROM <https://w3id.org/cd38kg/graph/asserted> WHERE { ?s ?p ?o }")
    with pytest.raises(QueryError, match="unknown prefix 'ex:'"):
        inspect_query("SELECT * WHERE { ?s ex:p ?o }")
    assert inspect_query("PREFIX ex: <http://example.org/> ASK { ?s ex:p ?o }") == "ASK"
    assert inspect_query("DESCRIBE kb:daratumumab") == "DESCRIBE"


def test_row_cap_marks_the_result_truncated(dataset):
    result = execute(dataset, "SELECT * WHERE { ?s ?p ?o }", max_rows=7)
    assert len(result) == 7 and result.truncated
    assert not execute(dataset, "SELECT * WHERE { ?s a cd38:IMiD }", max_rows=7).truncated


# -- output formats --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pollux(run):
    return run("clinical-evidence", drug="DRd")


def test_json_is_w3c_sparql_results(pollux):
    document = json.loads(render(pollux, "json"))
    assert document["head"]["vars"] == pollux.variables
    row = next(b for b in document["results"]["bindings"] if b["arm"]["value"] == KB_NS + "arm-pollux-drd")
    assert row["trial"] == {"type": "uri", "value": KB_NS + "trial-pollux"}
    assert row["orrPercent"]["type"] == "literal"
    assert row["orrPercent"]["datatype"] == "http://www.w3.org/2001/XMLSchema#decimal"
    assert "datatype" not in row["trialLabel"]
    assert "patients" not in row, "unbound variables are left out"


def test_xml_csv_tsv_and_table(pollux):
    ns = {"r": "http://www.w3.org/2005/sparql-results#"}
    root = ET.fromstring(render(pollux, "xml"))
    assert [v.get("name") for v in root.findall("r:head/r:variable", ns)] == pollux.variables
    assert len(root.findall("r:results/r:result", ns)) == len(pollux.rows)
    table = list(csv.reader(io.StringIO(render(pollux, "csv"))))
    assert table[0] == pollux.variables and len(table) == len(pollux.rows) + 1
    tsv = render(pollux, "tsv").splitlines()
    assert tsv[0].split("\t")[0] == "?drug" and len(tsv) == len(pollux.rows) + 1
    assert "POLLUX" in render(pollux, "table")


def test_tsv_and_csv_keep_awkward_literals_on_one_row():
    result = QueryResult(form="SELECT", variables=["note", "iri"],
                         rows=[(Literal('a\t"b"\nc'), URIRef("https://example.org/x"))])
    assert render(result, "tsv").splitlines()[1] == '"a\\t\\"b\\"\\nc"\t<https://example.org/x>'
    assert list(csv.reader(io.StringIO(render(result, "csv"))))[1] == ['a\t"b"\nc', "https://example.org/x"]


def test_graph_results(dataset):
    result = execute(dataset, "CONSTRUCT { ?d a cd38:IMiD } WHERE { ?d a cd38:IMiD }")
    assert result.is_graph and len(result) == 3
    assert "kb:lenalidomide a cd38:IMiD" in render(result, "table")
    assert len(render(result, "nt").strip().splitlines()) == 3
    assert {node["@id"] for node in json.loads(render(result, "json"))} >= {KB_NS + "lenalidomide"}
    assert len(Graph().parse(data=render(result, "xml"), format="xml")) == 3, "RDF/XML"
    with pytest.raises(QueryError, match="cannot be written as turtle"):
        render(execute(dataset, "SELECT * WHERE { ?d a cd38:IMiD }"), "turtle")


def test_graph_that_rdf_xml_cannot_express_is_a_clear_error(dataset):
    result = execute(dataset, "CONSTRUCT { ?d <urn:x:1> ?d } WHERE { ?d a cd38:IMiD }")
    with pytest.raises(QueryError, match="cannot be written as RDF/XML"):
        render(result, "xml")
    assert len(Graph().parse(data=render(result, "turtle"), format="turtle")) == 3


def test_ask(dataset):
    result = execute(dataset, "ASK { kb:daratumumab a cd38:AntiCD38Antibody }")
    assert json.loads(render(result, "json")) == {"head": {}, "boolean": True}
    assert render(result, "table") == "true\n"


# -- the command line ------------------------------------------------------------------------


def cli(monkeypatch, capsys, *args):
    monkeypatch.setattr("sys.argv", ["cd38kg", *args])
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = exit_.code or 0
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_list(monkeypatch, capsys):
    code, out, _ = cli(monkeypatch, capsys, "query", "--list")
    assert code == 0
    for name in REQUIRED:
        assert f"\n{name}: " in f"\n{out}"
    assert "--param drug=<entity> (default daratumumab)" in out


def test_cli_runs_a_named_query_as_sparql_json(monkeypatch, capsys):
    code, out, _ = cli(monkeypatch, capsys, "query", "clinical-evidence", "--param", "drug=DRd", "--format", "json")
    assert code == 0
    bindings = json.loads(out)["results"]["bindings"]
    arm = next(b for b in bindings if b["arm"]["value"] == KB_NS + "arm-pollux-drd")
    assert float(arm["orrPercent"]["value"]) == 93.0


def test_cli_errors_are_one_line(monkeypatch, capsys, tmp_path):
    code, _, err = cli(monkeypatch, capsys, "query", "cells-expressing", "--param", "cell=NK cells")
    assert code != 0 and err.count("\n") == 1 and "molecule" in err
    bad = tmp_path / "bad.rq"
    bad.write_text("SELECT * WHERE {\n  ?s ?p\n}\n", encoding="utf-8")
    code, _, err = cli(monkeypatch, capsys, "query", str(bad))
    assert code != 0 and err.count("\n") == 1 and "line 2, column 3" in err


def test_queries_folder_is_the_bundled_one():
    assert {p.stem for p in queries_dir().glob("*.rq")} >= REQUIRED


def test_cli_query_reads_extension_files(monkeypatch, capsys):
    extra = Path(__file__).parent / "fixtures" / "extend" / "new_imid.tsv"
    code, out, _ = cli(monkeypatch, capsys, "query", "class-members", "--param", "class=IMiD",
                       "--extra", str(extra), "--format", "csv")
    assert code == 0
    members = {row["memberLabel"] for row in csv.DictReader(io.StringIO(out))}
    assert {"novalidomide", "lenalidomide", "iberdomide"} <= members
