"""The Python API, the JSON contract, patient profiles and the runnable example."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from cd38kg import KnowledgeBase
from cd38kg.errors import Cd38kgError
from cd38kg.serialize import explain_json, hypotheses_json

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"

ENTITY_KEYS = {"id", "label", "synonyms"}


def test_info_counts(kb):
    info = kb.info()
    assert info["findings"] > 200 and info["claims"] > 30 and info["conflicts"] > 5
    assert info["per_kind"]["resistance"] >= 10
    assert set(info["per_evidence_level"]) >= {"in vitro", "ex vivo", "phase 2"}
    assert len(info["per_source"]) == 3


def test_info_reopened_reads_its_cached_counts(kb, monkeypatch):
    """A reopened knowledge base reports the same counts without reading a fact again."""
    expected = kb.info()
    reopened = KnowledgeBase.load(with_engine=False)
    monkeypatch.setattr(KnowledgeBase, "_summary", lambda self: pytest.fail("counted the facts again"))
    assert reopened.info() == expected


def test_changed_claims_fill_the_store_again(tmp_path, monkeypatch):
    """The store holds the claims (graph/claims), so a changed claims file is a new knowledge base."""
    from cd38kg.knowledge import loader
    from cd38kg.resources import claims_file

    before = loader.load(bundled_data=False).manifest.key
    edited = tmp_path / "claims.ttl"
    edited.write_bytes(claims_file().read_bytes() + b"\n# one more line\n")
    monkeypatch.setattr(loader, "claims_file", lambda: edited)
    assert loader.load(bundled_data=False).manifest.key != before


def test_entities_filter_and_search(kb):
    found = kb.entities(kind="drug", search="dara")
    assert found[0].label == "daratumumab"
    assert all("dara" in " ".join((e.label, *e.synonyms)).lower() for e in found)
    with pytest.raises(Cd38kgError, match="unknown entity type"):
        kb.entities(kind="gizmo")


def test_every_table_entity_is_findable_by_its_names(kb):
    names = ["daratumumab", "isatuximab", "MOR202", "TAK-079", "ATRA", "panobinostat", "YM-155",
             "low-dose cyclophosphamide", "IMiDs", "lenalidomide", "pomalidomide", "bortezomib", "carfilzomib",
             "dexamethasone", "melphalan", "prednisone", "thalidomide", "iberdomide", "durvalumab", "elotuzumab",
             "FT538", "CD55", "CD59", "CD47", "SIRPα", "LAG3", "TIGIT", "KIR2DL1", "HLA-C", "CDC", "ADCC", "ADCP",
             "CAM-IR", "POLLUX", "CASTOR", "ALCYONE", "MAIA", "NCT04614636", "NCT04700176",
             # 2020 review Table 1 regimens and Table 2 strategies, 2022 review Table 1 arms
             "DRd", "DPd", "DVd", "DKd", "Kd", "VMP", "Dara-VMP", "VTd", "D-VRd", "VRd", "Isatuximab-Pd", "IberDd",
             "CD47-SIRPα-blocking antibodies", "immune-checkpoint inhibitors", "fully human antibodies",
             "NCT02076009", "GEN501", "SIRIUS", "EQUULEUS", "ICARIA-MM", "CANDOR", "GRIFFIN", "CASSIOPEIA",
             "tretinoin", "felzartamab", "mezagitamab", "lirilumab", "sepantronium bromide", "Ikaros", "Aiolos",
             "CD16", "FcγRIIIA", "KHYG1", "NK-92", "g-NK", "CD38KO NK", "Tregs", "Bregs", "MDSCs", "pDCs", "BMSCs"]
    for name in names:
        assert kb.names.candidates(name), f"{name} is not findable"


def test_explain_json_contract(kb):
    data = explain_json(kb.explain("isatuximab + cyclophosphamide", "CD47 upregulation"))
    assert {"combination", "resistance", "verdict", "score", "score_breakdown", "explanations", "conflicts"} <= set(data)
    assert all(set(e) >= ENTITY_KEYS for e in data["combination"])
    assert set(data["resistance"]) >= ENTITY_KEYS
    step = data["explanations"][0][0]
    assert {"subject", "predicate", "object", "sign", "sentence", "sources", "evidence_level"} <= set(step)
    assert step["sources"][0]["doi"].startswith("10.")
    json.dumps(data)


def test_hypotheses_json_contract(kb):
    target = kb.entity("NK cell fratricide", kind="resistance")
    ranked = kb.hypotheses("NK cell fratricide", antibody="daratumumab", top=3)
    data = hypotheses_json(target, ranked[0].antibody, ranked)
    assert data["antibody"]["label"] == "daratumumab"
    first = data["hypotheses"][0]
    assert {"partner", "antibody", "score", "score_breakdown", "verdict", "status", "mechanisms",
            "explanation"} <= set(first)
    assert first["status"] in {"reported", "novel"}


def test_profile_finds_active_mechanisms_and_caveats(kb):
    result = kb.profile(ROOT / "examples" / "patient-relapsed.yaml")
    active = {a.resistance.label for a in result.active}
    assert {"CD38 downregulation", "complement inhibitor upregulation", "NK cell depletion"} <= active
    assert result.combinations and result.combinations[0]["addresses"] >= 3
    notes = " ".join(c["note"] for c in result.caveats)
    assert "F/F" in notes, "the FcγRIIIA-158 F/F conflict must be a caveat"
    assert "4-6 months" in notes


def test_profile_rejects_unknown_keys_and_values(kb, tmp_path):
    bad_key = tmp_path / "p.yaml"
    bad_key.write_text("cd38_levle: low\n")
    with pytest.raises(Cd38kgError, match=r"p.yaml:1: unknown profile key 'cd38_levle'"):
        kb.profile(bad_key)
    bad_value = tmp_path / "q.yaml"
    bad_value.write_text("fcgr3a_158: X/Y\n")
    with pytest.raises(Cd38kgError, match="must be one of V/V, V/F, F/F"):
        kb.profile(bad_value)
    bad_drug = tmp_path / "r.yaml"
    bad_drug.write_text("refractory_to: [daratumumob]\n")
    with pytest.raises(Cd38kgError, match="daratumumab"):
        kb.profile(bad_drug)


def test_example_script_runs():
    namespace = runpy.run_path(str(ROOT / "examples" / "api_example.py"), run_name="not_main")
    assert namespace["main"]() is None


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cd38kg.interfaces.cli", *args], capture_output=True, text=True, timeout=300)


def test_cli_explain_json_and_errors():
    ok = run_cli("explain", "--combination", "daratumumab + ATRA", "--resistance", "CD38 downregulation",
                 "--format", "json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["verdict"] == "overcomes"
    bad = run_cli("explain", "--combination", "daratumomab + ATRA", "--resistance", "CD38 downregulation")
    assert bad.returncode != 0
    assert "did you mean" in bad.stderr.lower() and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_cli_hypotheses_evaluate_profile():
    hyp = run_cli("hypotheses", "--resistance", "NK cell fratricide", "--antibody", "daratumumab", "--top", "5",
                  "--format", "json")
    assert hyp.returncode == 0, hyp.stderr
    assert len(json.loads(hyp.stdout)["hypotheses"]) == 5
    ev = run_cli("evaluate", "--format", "json")
    assert ev.returncode == 0 and json.loads(ev.stdout)["recall@5"] >= 0.85
    assert json.loads(ev.stdout)["expert_agreement"] == 1.0
    prof = run_cli("profile", str(ROOT / "examples" / "patient-relapsed.yaml"))
    assert prof.returncode == 0 and "CD38 downregulation" in prof.stdout
    empty = run_cli("hypotheses", "--resistance", "high-risk cytogenetics", "--format", "json")
    assert empty.returncode == 0 and json.loads(empty.stdout)["hypotheses"] == []
    assert "no causal effect" in json.loads(empty.stdout)["message"]
    bad_top = run_cli("hypotheses", "--resistance", "CD47 upregulation", "--top", "0")
    assert bad_top.returncode == 2 and "Traceback" not in bad_top.stderr


def test_cli_extra_tsv_with_bad_row_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("subject\tpredicate\tobject\tsource\nATRA\tincreases_expression\tCD38 on myelomma cells\tdoi:10.1/x\n")
    result = run_cli("hypotheses", "--resistance", "CD47 upregulation", "--extra", str(bad))
    assert result.returncode != 0
    assert f"{bad}:2" in result.stderr and "CD38 on myeloma cells" in result.stderr
    assert "Traceback" not in result.stderr


def test_fixture_dir_exists():
    assert FIXTURES.is_dir()
