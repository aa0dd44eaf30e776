"""Answers as data: every JSON answer follows the shipped JSON Schema; TSV gives one row per
hypothesis with the score's factors as columns; ``hypotheses --all`` screens every pair."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import jsonschema
import pytest

from cd38kg.engine.profile import assess_profile
from cd38kg.serialize import answer_schema, explain_json, hypotheses_json

QUESTIONS = [
    ("daratumumab + ATRA", "CD38 downregulation"),
    ("daratumumab + panobinostat", "CD38 downregulation"),
    ("TAK-079 + ATRA", "complement inhibitor upregulation"),
    ("isatuximab + anti-PD-1 antibody", "soluble CD38"),
    ("daratumumab + dexamethasone", "CD38 downregulation"),
    ("daratumumab + ATRA", "high-risk cytogenetics"),
]


def check(kind: str, data: dict) -> None:
    jsonschema.validate(data, answer_schema(kind), cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize(("combination", "resistance"), QUESTIONS)
def test_explain_answers_follow_the_schema(kb, combination, resistance):
    check("explain", explain_json(kb.explain(combination, resistance)))


def test_hypotheses_answers_follow_the_schema_for_every_resistance_mechanism(kb):
    for resistance, antibody, ranked in kb.screen(top=None):
        check("hypotheses", hypotheses_json(resistance, antibody, ranked))


def test_profile_answers_follow_the_schema(kb):
    result = assess_profile(kb, {"antibody": "daratumumab", "cd38_level": "low", "cd55_cd59": "high",
                                 "soluble_cd38": "detected"})
    check("profile", result.to_json())


def test_the_schema_rejects_an_answer_without_its_paths(kb):
    data = explain_json(kb.explain("daratumumab + ATRA", "CD38 downregulation"))
    del data["explanations"]
    with pytest.raises(jsonschema.ValidationError):
        check("explain", data)
    data = explain_json(kb.explain("daratumumab + ATRA", "CD38 downregulation"))
    data["score"] = 1.7
    with pytest.raises(jsonschema.ValidationError):
        check("explain", data)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cd38kg.interfaces.cli", *args], capture_output=True, text=True, timeout=300)


def test_tsv_gives_one_row_per_hypothesis_with_the_score_factors():
    done = run_cli("hypotheses", "-r", "complement inhibitor upregulation", "--antibody", "daratumumab",
                   "--top", "5", "--format", "tsv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout), delimiter="\t"))
    assert len(rows) == 5
    for row in rows:
        band, net, score = int(row["band"]), float(row["net_benefit"]), float(row["score"])
        assert score == pytest.approx((band + net) / 3, abs=2e-4)
    assert rows[0]["partner"] == "ATRA"


def test_screening_every_resistance_and_antibody_in_one_run(kb):
    done = run_cli("hypotheses", "--all", "--top", "3", "--format", "json")
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    expected = [(r.label, a.label) for r, a, _ in kb.screen(top=3)]
    assert [(x["resistance"]["label"], x["antibody"]["label"]) for x in answers] == expected
    for answer in answers:
        check("hypotheses", answer)
    assert "screened" in done.stderr
    usage = run_cli("hypotheses", "--all", "--resistance", "CD38 downregulation")
    assert usage.returncode == 2 and len(usage.stderr.strip().splitlines()) <= 2
