"""``cd38kg validate``: the bundled knowledge base is clean, seeded curation errors are caught.

Everything runs the real checks: pyshacl with ontology/shapes.ttl and HermiT through
owlready2. HermiT costs seconds per run, so each validation is shared by a module-scoped
fixture and the seeded errors are checked together in one run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from cd38kg.knowledge.validate import ValidationReport, check_disjointness, check_shapes, locate, validate
from cd38kg.resources import claims_file, ontology_dir, ontology_files, shapes_file
from cd38kg.vocab import CD38, KB

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "fixtures" / "bad"
SEEDED = ("missing_source.ttl", "dangling.ttl", "inconsistent.ttl", "range_conflict.tsv")
SEEDS = Path(__file__).parents[1].parent / "shared" / "seeds"
REVIEWS = {
    "https://doi.org/10.7150/ijbs.68148": "000_161535b05e0af99c.txt",
    "https://doi.org/10.3389/fimmu.2018.02134": "001_cced23c437165cc5.txt",
    "https://doi.org/10.3390/jcm9041195": "002_21a764f9491a543e.txt",
}


def line_of(path: Path, text: str) -> int:
    """The 1-based number of the first line of ``path`` containing ``text``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def same_file(a: str | None, b: Path) -> bool:
    return a is not None and Path(a).resolve() == b.resolve()


def about(report: ValidationReport, entity: str) -> list:
    return [p for p in report.problems if p.entity == entity]



@pytest.fixture(scope="module")
def bundled(cache_home) -> ValidationReport:
    return validate([])


@pytest.fixture(scope="module")
def seeded(cache_home) -> ValidationReport:
    return validate([BAD / name for name in SEEDED])


def run_cli(*args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    return subprocess.run([sys.executable, "-m", "cd38kg.interfaces.cli", *args], capture_output=True, text=True,
                          env=env, timeout=300, cwd=ROOT)


# -- the bundled knowledge base --------------------------------------------------------------


def test_bundled_knowledge_base_is_clean_and_consistent(bundled):
    assert bundled.problems == [], "\n".join(map(str, bundled.problems))
    assert bundled.ok
    assert bundled.consistent is True
    # HermiT really ran: it reclassifies individuals (e.g. antibodies that target CD38).
    assert bundled.inferred > 0
    assert bundled.findings >= 250
    assert bundled.triples > 5000
    assert {Path(f).name for f in bundled.files} >= {"core.ttl", "agents.ttl", "trials.ttl", "claims.ttl"}
    assert "shapes.ttl" not in {Path(f).name for f in bundled.files}
    assert bundled.summary().startswith("OK: ")
    assert "consistent (HermiT" in bundled.summary()


# -- seeded errors (one validation run for all of them) ---------------------------------------


def test_statement_without_source_is_reported(seeded):
    path = BAD / "missing_source.ttl"
    problems = about(seeded, "kb:f-user-no-source")
    assert len(problems) == 1, problems
    problem = problems[0]
    assert "cd38:source" in problem.message
    assert same_file(problem.file, path)
    assert problem.line == line_of(path, "kb:f-user-no-source a cd38:Finding")
    assert str(problem).startswith(f"{problem.file}:{problem.line}: kb:f-user-no-source ")


def test_dangling_reference_is_reported_with_a_suggestion(seeded):
    path = BAD / "dangling.ttl"
    problems = about(seeded, "kb:nk-cel")
    assert len(problems) == 1, problems  # not also "has no rdfs:label"
    problem = problems[0]
    assert "never defined" in problem.message
    assert "did you mean kb:nk-cell?" in problem.message
    assert same_file(problem.file, path)
    assert problem.line == line_of(path, "cd38:object kb:nk-cel ;")


def test_inconsistent_class_assertion_is_explained(seeded):
    path = BAD / "inconsistent.ttl"
    assert seeded.consistent is False
    problems = about(seeded, "kb:agent-or-cell")
    assert len(problems) == 1, problems
    problem = problems[0]
    assert "kb:agent-or-cell is both cd38:Agent and cd38:CellPopulation, which are disjoint" in problem.message
    assert same_file(problem.file, path)
    assert problem.line == line_of(path, "kb:agent-or-cell a cd38:CellPopulation")
    assert f"{path.name}:{line_of(path, 'kb:agent-or-cell a cd38:Agent')}" in problem.message


def test_range_clash_from_a_tsv_row_is_explained(seeded):
    path = BAD / "range_conflict.tsv"
    problems = about(seeded, "kb:CD38")
    assert len(problems) == 1, problems
    problem = problems[0]
    assert re.search(r"is both cd38:(CellPopulation|Molecule) and cd38:(Molecule|CellPopulation), which are disjoint",
                     problem.message)
    assert "as object of cd38:depletes" in problem.message
    assert same_file(problem.file, path)
    assert problem.line == line_of(path, "daratumumab\tdepletes\tCD38")


def test_seeded_report_has_exactly_the_seeded_problems(seeded):
    assert not seeded.ok
    assert len(seeded.problems) == len(SEEDED), "\n".join(map(str, seeded.problems))
    blamed = {Path(p.file).name for p in seeded.problems}
    assert blamed == set(SEEDED)
    assert "inconsistent (HermiT)" in seeded.summary()


def test_inconsistency_without_disjoint_pair_falls_back_to_hermit(cache_home):
    # cd38:requires is irreflexive: "ADCC requires ADCC" is inconsistent, with no disjoint classes involved.
    report = validate([BAD / "irreflexive.ttl"])
    assert report.consistent is False
    assert len(report.problems) == 1, report.problems
    assert "HermiT" in report.problems[0].message
    assert "inconsistent" in report.problems[0].message


def test_blank_node_finding_is_named_and_placed_by_its_subject(tmp_path):
    # check_shapes alone (no reasoner): core.ttl plus one user file with an anonymous finding.
    path = tmp_path / "anonymous.ttl"
    path.write_text(
        "@prefix cd38: <https://w3id.org/cd38kg/vocab#> .\n"
        "@prefix kb: <https://w3id.org/cd38kg/kb/> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "kb:thing a cd38:Agent ; rdfs:label \"thing\" .\n"
        "[] a cd38:Finding ;\n"
        "    cd38:subject kb:thing ; cd38:predicate cd38:activates ; cd38:object kb:thing ;\n"
        "    cd38:source <https://doi.org/10.7150/ijbs.68148> ; cd38:evidenceLevel cd38:InVitro .\n",
        encoding="utf-8",
    )
    core = ontology_dir() / "core.ttl"
    sources = [(core, Graph().parse(core, format="turtle")), (path, Graph().parse(path, format="turtle"))]
    data = sources[0][1] + sources[1][1]
    problems = check_shapes(data, sources, [path, core])
    assert len(problems) == 1, problems
    assert problems[0].message.startswith("a blank-node cd38:Finding about kb:thing has no cd38:section")
    assert same_file(problems[0].file, path)
    assert problems[0].line == 6


def test_disjointness_scan_uses_types_domains_and_ranges(tmp_path):
    # check_disjointness alone (no reasoner) on core.ttl plus one user file.
    path = tmp_path / "clashes.ttl"
    path.write_text(
        "@prefix cd38: <https://w3id.org/cd38kg/vocab#> .\n"
        "@prefix kb: <https://w3id.org/cd38kg/kb/> .\n"
        "kb:rrmm a cd38:Agent .\n"  # core.ttl: a cd38:DiseaseSetting (a class with no subclasses)
        "kb:ndmm cd38:hasArm kb:smm .\n"  # domain ClinicalTrial, range TrialArm; both are settings
        "kb:fine a cd38:Agent .\n",
        encoding="utf-8",
    )
    core = ontology_dir() / "core.ttl"
    sources = [(core, Graph().parse(core, format="turtle")), (path, Graph().parse(path, format="turtle"))]
    problems = {p.entity: p for p in check_disjointness(sources[0][1] + sources[1][1], sources, [path, core])}
    assert set(problems) == {"kb:rrmm", "kb:ndmm", "kb:smm"}
    assert "is both cd38:Agent and cd38:DiseaseSetting" in problems["kb:rrmm"].message
    assert f"core.ttl:{line_of(core, 'kb:rrmm a cd38:DiseaseSetting')}" in problems["kb:rrmm"].message
    assert "as subject of cd38:hasArm" in problems["kb:ndmm"].message
    assert "as object of cd38:hasArm" in problems["kb:smm"].message
    for problem in problems.values():  # blamed on the user's file, not on core.ttl
        assert same_file(problem.file, path)
    assert problems["kb:rrmm"].line == 3
    assert problems["kb:ndmm"].line == problems["kb:smm"].line == 4


# -- locating entities in files --------------------------------------------------------------


def test_locate_finds_the_definition_in_the_bundled_files():
    path, line = locate(KB.daratumumab, ontology_files())
    assert path.name == "agents.ttl"
    assert line == line_of(path, "kb:daratumumab a ")


def test_locate_matches_whole_curies_under_the_files_own_prefixes(tmp_path):
    path = tmp_path / "x.ttl"
    path.write_text(
        "@prefix k: <https://w3id.org/cd38kg/kb/> .\n"
        "# k:cd38 in a comment is not a statement\n"
        "k:cd38-on-mm k:rel k:cd38x .\n"
        "k:other k:rel k:cd38 .\n"
        "k:cd38 k:rel k:other .\n",
        encoding="utf-8",
    )
    assert locate(KB.term("cd38"), [path]) == (path, 5)  # the definition beats the mention on line 4
    assert locate(KB.term("cd38x"), [path]) == (path, 3)  # only a mention
    assert locate(KB.term("cd38-on"), [path]) is None
    assert locate(KB.term("cd38"), [path], value=KB.other) == (path, 5)


# -- the command line ------------------------------------------------------------------------


def test_cli_validate_bundled_prints_one_ok_line(cache_home):
    result = run_cli("validate", cache=cache_home)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("OK: ")
    assert "consistent (HermiT" in lines[0]
    assert "Traceback" not in result.stderr


def test_cli_validate_inconsistent_json(cache_home):
    path = BAD / "inconsistent.ttl"
    result = run_cli("validate", "--extra", str(path), "--format", "json", cache=cache_home)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["consistent"] is False
    assert [p["entity"] for p in report["problems"]] == ["kb:agent-or-cell"]
    assert report["problems"][0]["line"] == line_of(path, "kb:agent-or-cell a cd38:CellPopulation")
    stderr = result.stderr.strip().splitlines()
    assert len(stderr) == 1
    assert stderr[0].startswith("error: 1 problem(s) found: ")


# -- curation integrity ----------------------------------------------------------------------


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


@pytest.mark.skipif(not SEEDS.is_dir(), reason=f"the source reviews are not present at {SEEDS}")
def test_every_cited_section_occurs_in_the_cited_review():
    """Each cd38:section of a finding, trial, arm or claim is text of (one of) the review(s) it cites."""
    reviews = {doi: _collapse((SEEDS / name).read_text(encoding="utf-8")) for doi, name in REVIEWS.items()}
    files = [p for p in sorted(ontology_dir().glob("*.ttl")) if p != shapes_file()]
    assert claims_file() in files
    kinds = [URIRef(CD38.Finding), URIRef(CD38.TrialArm), URIRef(CD38.ClinicalTrial), URIRef(CD38.LiteratureClaim)]
    checked, missing = 0, []
    for path in files:
        graph = Graph().parse(path, format="turtle")
        for kind in kinds:
            for node in graph.subjects(RDF.type, kind):
                sources = [str(s) for s in graph.objects(node, URIRef(CD38.source))]
                unknown = [s for s in sources if s not in reviews]
                if unknown:
                    missing.append(f"{path.name}: {node} cites {unknown}, not one of the three reviews")
                for section in graph.objects(node, URIRef(CD38.section)):
                    checked += 1
                    if not any(_collapse(str(section)) in reviews[s] for s in sources if s in reviews):
                        missing.append(f"{path.name}: {node} section {str(section)!r} not in {sources}")
    assert checked > 300  # findings, arms, trials and claims were all seen
    assert missing == [], "\n".join(missing)
