"""INDRA statements JSON as an extension: schema-checked, matched by CURIE, unmappable ones reported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cd38kg import KnowledgeBase

ROOT = Path(__file__).resolve().parents[1]
INDRA = ROOT / "tests" / "fixtures" / "indra"
STATEMENTS = INDRA / "statements.json"
DECLARED = INDRA / "mb59-declared.tsv"
RESISTANCE = "complement inhibitor upregulation"


@pytest.fixture(scope="module")
def extended(cache_home) -> KnowledgeBase:
    return KnowledgeBase.load(extras=[DECLARED, STATEMENTS])


def user_findings(kb: KnowledgeBase) -> set[tuple[str, str, str, str]]:
    return {(kb.facts.label(f.subject), f.predicate.rsplit("#", 1)[1], kb.facts.label(f.object), f.source)
            for f in kb.facts.findings if f.iri.startswith("https://w3id.org/cd38kg/user/")}


def test_statements_become_findings_on_matched_and_new_entities(extended):
    pubmed = "https://pubmed.ncbi.nlm.nih.gov/15971270/"
    found = user_findings(extended)
    # CD59 matched by HGNC:1689, ATRA by CHEBI:15367 though INDRA calls it "tretinoin".
    assert ("MB-59", "inhibits", "CD59", pubmed) in found
    assert ("ATRA", "increases", "CD38", "https://doi.org/10.3389/fimmu.2018.02134") in found
    assert ("Ikaros", "decreases", "CD38") in {f[:3] for f in found}
    # Unmatched agents become entities of the kind their namespace implies.
    assert ("rituximab", "binds", "MS4A1", pubmed) in found
    by_label = {extended.facts.label(i): extended.facts.entities[i] for i in extended.new_entities}
    assert "https://w3id.org/cd38kg/vocab#Drug" in by_label["rituximab"].types
    assert "drugbank:DB00073" in by_label["rituximab"].xrefs
    assert "https://w3id.org/cd38kg/vocab#Protein" in by_label["MS4A1"].types


def test_two_evidences_from_one_paper_make_one_finding(extended):
    atra = [f for f in extended.facts.findings if f.iri.startswith("https://w3id.org/cd38kg/user/")
            and extended.facts.label(f.subject) == "ATRA"]
    assert len(atra) == 1
    assert "belief 0.93" in atra[0].note


def test_unmappable_statements_are_reported_with_their_line(extended):
    notes = extended.import_notes
    assert any(n.startswith(f"{STATEMENTS}:15: statement 2 (Inhibition): agent 'MB-55'") for n in notes)
    assert any(n.startswith(f"{STATEMENTS}:62: statement 6 (Phosphorylation)") for n in notes)
    assert len(notes) == 2


def test_a_new_agent_against_cd59_becomes_a_hypothesis(kb, extended):
    """MB-59 inhibits bare CD59; the engine carries that to CD59 on myeloma cells."""
    before = {h.partner.label for h in kb.hypotheses(RESISTANCE, antibody="daratumumab", top=30)}
    after = {h.partner.label: h for h in extended.hypotheses(RESISTANCE, antibody="daratumumab", top=30)}
    assert "MB-59" not in before
    assert "MB-59" in after
    assert after["MB-59"].result.verdict.value in ("overcomes", "partial")


def run_cli(*args: str, cache) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    return subprocess.run([sys.executable, "-m", "cd38kg.interfaces.cli", *args], capture_output=True, text=True,
                          env=env, timeout=300, cwd=ROOT)


def test_malformed_statement_is_one_line_with_its_position(cache_home):
    result = run_cli("info", "--extra", str(INDRA / "malformed.json"), cache=cache_home)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {INDRA / 'malformed.json'}:5: statement 2: obj: 'name' is a required property"]


def test_broken_json_is_one_line_with_its_position(tmp_path, cache_home):
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"type": "Activation",\n  "subj": }\n]\n')
    result = run_cli("info", "--extra", str(path), cache=cache_home)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}:3: not valid JSON")


def test_the_cli_reports_skipped_statements_on_stderr(cache_home):
    result = run_cli("info", "--format", "json", "--extra", str(DECLARED), "--extra", str(STATEMENTS), cache=cache_home)
    assert result.returncode == 0, result.stderr
    assert "statement 6 (Phosphorylation)" in result.stderr
