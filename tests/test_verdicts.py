"""The principles behind trustworthy verdicts (issue 8), each checked on the real knowledge base
or on a small purpose-built extension."""

from __future__ import annotations

from pathlib import Path

import pytest

from cd38kg import KnowledgeBase
from cd38kg.engine.expert import ask, load_questions
from cd38kg.engine.explain import PARALLEL, RESTORES
from cd38kg.engine.graph import Edge
from cd38kg.engine.paths import Path as CausalPath
from cd38kg.engine.paths import strength
from cd38kg.model import Finding, Relation, Support, Verdict

VERDICT_ORDER = [Verdict.OVERCOMES, Verdict.PARTIAL, Verdict.MIXED, Verdict.DOES_NOT, Verdict.UNKNOWN]
HEADER = "subject\tpredicate\tobject\tsource\tsection\tevidence_level\tmagnitude\tnote\n"


@pytest.mark.parametrize("question", load_questions(), ids=lambda q: q["id"])
def test_expert_question(kb, question):
    answer = ask(kb, question)
    assert answer.passed, f"{question['id']}: {'; '.join(answer.problems)} ({question['reason']})"


def resistance_names(kb):
    return sorted(kb.facts.label(r) for r in kb.engine().resistances)


def test_ranks_follow_the_shown_score_for_every_resistance_mechanism(kb):
    checked = 0
    for name in resistance_names(kb):
        ranked = kb.hypotheses(name, top=None)
        for above, below in zip(ranked, ranked[1:]):
            checked += 1
            assert above.score >= below.score, f"{name}: {above.partner.label} {above.score} above {below.partner.label} {below.score}"
            assert VERDICT_ORDER.index(above.result.verdict) <= VERDICT_ORDER.index(below.result.verdict), name
            if above.score == below.score:
                assert above.result.evidence_rank >= below.result.evidence_rank, name
    assert checked > 50


def test_every_score_is_in_the_unit_interval_and_recomputable_from_its_breakdown(kb):
    bands = {Verdict.OVERCOMES: 2, Verdict.PARTIAL: 1, Verdict.MIXED: 0}
    for name in resistance_names(kb):
        for hyp in kb.hypotheses(name, top=None):
            breakdown = hyp.result.score_breakdown
            assert 0.0 <= hyp.score <= 1.0
            expected = round((bands[hyp.result.verdict] + breakdown["net_benefit"]) / 3, 4)
            assert abs(hyp.score - expected) <= 2e-4, (name, hyp.partner.label)


def write_tsv(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def test_facts_that_lead_nowhere_change_no_score(kb, tmp_path, cache_home):
    extra = write_tsv(tmp_path / "dead-ends.tsv", [
        "dead-end marker one\tis_a\tmolecule\tuser: test\tx\thypothesis\t\tnew",
        "dead-end marker two\tis_a\tbiological process\tuser: test\tx\thypothesis\t\tnew",
        "dead-end marker three\tis_a\tmolecule\tuser: test\tx\thypothesis\t\tnew",
        "CD38 on myeloma cells\tincreases\tdead-end marker one\tuser: test\tx\tin vitro\t\tleads nowhere",
        "CD38 on myeloma cells\tactivates\tdead-end marker two\tuser: test\tx\tin vitro\t\tleads nowhere",
        "dead-end marker one\tinhibits\tdead-end marker three\tuser: test\tx\tin vitro\t\tleads nowhere",
    ])
    grown = KnowledgeBase.load(extras=[extra])
    for name in ("CD38 downregulation", "complement inhibitor upregulation", "CD47 upregulation"):
        before = {(h.partner.iri, h.antibody.iri): h.score for h in kb.hypotheses(name, top=None)}
        after = {(h.partner.iri, h.antibody.iri): h.score for h in grown.hypotheses(name, top=None)}
        assert before == after, name
    assert grown.explain("daratumumab + ATRA", "CD38 downregulation").score == \
        kb.explain("daratumumab + ATRA", "CD38 downregulation").score


def test_a_fact_on_a_bare_molecule_reaches_its_cell_contexts(tmp_path, cache_home):
    extra = write_tsv(tmp_path / "cd59-blocker.tsv", [
        "rILYd4\tis_a\tdrug\tuser: test\tx\thypothesis\t\ta CD59 blocker",
        "rILYd4\tdecreases\tCD59\tuser: lab notebook 12\tx\tin vitro\t\tlowers CD59, no cell named",
    ])
    grown = KnowledgeBase.load(extras=[extra])
    ranked = grown.hypotheses("complement inhibitor upregulation", antibody="daratumumab", top=None)
    hyp = next(h for h in ranked if h.partner.label == "rILYd4")
    assert hyp.result.verdict in (Verdict.OVERCOMES, Verdict.PARTIAL)
    steps = [s for steps in hyp.result.explanations for s in steps if s.subject.label == "rILYd4"]
    assert steps and steps[0].object.label != "CD59", "the step names the molecule in its cell context"
    assert any(s.context_from for s in steps[0].supports)
    assert "without a cell" in steps[0].sentence


def test_compensation_is_not_restoration(kb):
    result = kb.explain("daratumumab + bortezomib", "NK cell depletion")
    assert result.verdict is not Verdict.OVERCOMES
    assert all(m["how"].startswith(("compensates", "nothing")) for m in result.mechanisms)
    restoring = kb.explain("daratumumab + CD38-knockout NK cells", "NK cell depletion")
    assert restoring.verdict is Verdict.OVERCOMES
    assert restoring.mechanisms[0]["how"].startswith("restores")


def test_small_harm_is_a_caveat_not_a_mixed_verdict(kb):
    result = kb.explain("daratumumab + panobinostat", "CD38 downregulation")
    breakdown = result.score_breakdown
    assert 0 < breakdown["harm"] < breakdown["support"] * kb.engine().weights.material_harm
    assert result.verdict is not Verdict.MIXED
    assert result.caveats and all(c["steps"] for c in result.caveats)


def test_downstream_help_cannot_stand_in_for_a_neutralised_antibody(kb):
    result = kb.explain("isatuximab + anti-PD-1 antibody", "soluble CD38")
    assert result.verdict is Verdict.DOES_NOT
    assert result.score == 0.0
    ranked = kb.hypotheses("soluble CD38", antibody="isatuximab", top=None)
    assert all(h.kind == "antibody-switch" for h in ranked), "no partner acting downstream is proposed"
    if not ranked:
        assert "acts on isatuximab itself" in kb.why_no_hypotheses("soluble CD38", "isatuximab")


def test_class_only_knowledge_is_labelled_and_weighs_less(kb):
    inherited = kb.explain("TAK-079 + ATRA", "complement inhibitor upregulation")
    own = kb.explain("daratumumab + ATRA", "complement inhibitor upregulation")
    assert inherited.extrapolated and not own.extrapolated
    assert inherited.score < own.score


def test_counter_evidence_for_one_member_disputes_the_class_statement_for_every_member(kb):
    disputes = {f.iri for f in kb.facts.findings if f.is_negative and kb.facts.label(f.subject) == "lenalidomide"
                and kb.facts.label(f.object) == "CD38 on myeloma cells"}
    assert disputes, "the GEN503 observation is recorded for lenalidomide"
    for member in ("pomalidomide", "thalidomide", "iberdomide"):
        result = kb.explain(f"daratumumab + {member}", "CD38 downregulation")
        shown = {c.other.iri for c in result.conflicts} | {c.finding.iri for c in result.conflicts}
        assert disputes & shown, member
    lenalidomide = kb.explain("daratumumab + lenalidomide", "CD38 downregulation")
    pomalidomide = kb.explain("daratumumab + pomalidomide", "CD38 downregulation")
    assert lenalidomide.score >= pomalidomide.score


def test_only_true_equivalents_are_grouped(kb):
    for name in resistance_names(kb):
        for hyp in kb.hypotheses(name, top=None):
            if not hyp.equivalents:
                continue
            classes = kb.facts.therapeutic_classes
            lead = set(hyp.partner.types) & classes
            assert lead, f"{hyp.partner.label} leads a group without a therapeutic class"
            for other in hyp.equivalents:
                assert set(other.types) & classes == lead, (name, hyp.partner.label, other.label)
                alone = kb.explain([hyp.antibody.label, other.label], name, antibody=hyp.antibody.label)
                assert alone.score == hyp.score and alone.verdict is hyp.result.verdict


def _edge(subject: str, target: str, level: str, weight: float) -> Edge:
    relation = Relation("urn:r", "activates", 1, False, "{subject} activates {object}", aspect="activity")
    finding = Finding(f"urn:f/{subject}", subject, "urn:r", target, "urn:doi", "s", level)
    return Edge(subject, relation, target, subject, target, 1, weight, (Support(finding),), (), level)


def test_a_chain_of_experiments_outweighs_a_one_step_hypothesis():
    shortcut = CausalPath((_edge("stroma", "killing", "hypothesis", 0.3),))
    chain = CausalPath((_edge("stroma", "survivin", "ex vivo", 0.6), _edge("survivin", "ADCC", "ex vivo", 0.6),
                        _edge("ADCC", "killing", "ex vivo", 0.6)))
    assert strength(chain) > strength(shortcut)


def test_kinds_are_reported_per_mechanism(kb):
    atra = kb.explain("daratumumab + ATRA", "CD38 downregulation")
    assert atra.verdict is Verdict.OVERCOMES
    kinds = {m["entry"]["kind"] for m in atra.mechanisms}
    assert kinds == {RESTORES}
    parallel = kb.explain("daratumumab + ATRA", "KIR-mediated NK cell inhibition")
    assert {m["entry"]["kind"] for m in parallel.mechanisms if m["entry"]} <= {PARALLEL}


def test_a_contested_patient_factor_weighs_less_and_is_marked(kb):
    from cd38kg.engine.profile import assess_profile

    result = assess_profile(kb, {"antibody": "daratumumab", "soluble_cd38": "detected", "cd47": "high"})
    by_name = {a.resistance.label: a for a in result.active}
    contested = by_name["soluble CD38"]
    assert contested.contested and all(r["contested"] for r in contested.reasons)
    assert not by_name["CD47 upregulation"].contested


def test_profile_partners_with_their_own_evidence_rank_before_class_extrapolations(kb):
    from cd38kg.engine.profile import assess_profile

    rows = assess_profile(kb, {"antibody": "daratumumab", "cd38_level": "low", "cd55_cd59": "high"}, top=30).combinations
    for above, below in zip(rows, rows[1:]):
        if above["addresses"] == below["addresses"]:
            assert not (above["extrapolated"] and not below["extrapolated"]), (above["partner"], below["partner"])
    assert all(0.0 <= row["score"] <= 1.0 for row in rows)
