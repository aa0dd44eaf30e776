"""Explaining only the partners that can reach an impaired mechanism, and only those whose
score bound can still reach the hypotheses shown, changes no answer.

The full ranked lists (partners, equivalents, scores, verdicts, every step) with pruning
equal those without, on the bundled knowledge base and on a generated extension of the
shape the scale benchmarks use; so does every shorter list a ``top`` asks for, which is
where the score bounds skip partners.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from cd38kg import KnowledgeBase
from cd38kg.engine.explain import Engine
from cd38kg.engine.hypotheses import antibodies_with_mechanisms, candidate_partners, rank_hypotheses, reachable_partners
from cd38kg.serialize import hypothesis_json

ROOT = Path(__file__).resolve().parents[1]
#: The list lengths checked against the exhaustive ranking (the CLI shows 10 by default).
TOPS = (1, 2, 3, 5, 10)


def ranked(kb, engine, resistance, antibody, prune, top=None):
    hyps = rank_hypotheses(kb, kb.entity_of(resistance), kb.entity_of(antibody) if antibody else None, top=top,
                           engine=engine, prune=prune)
    return [hypothesis_json(h, rank) for rank, h in enumerate(hyps, 1)]


def assert_pruning_changes_nothing(kb, engine) -> None:
    """Every resistance: the pruned list for the default antibody is the exhaustive one (every
    agent judged); with each antibody, the pruned lists cut at each of TOPS are its first entries."""
    antibodies = antibodies_with_mechanisms(engine)
    for resistance in sorted(engine.resistances):
        assert ranked(kb, engine, resistance, None, True) == ranked(kb, engine, resistance, None, False)
        for antibody in antibodies:
            first = ranked(kb, engine, resistance, antibody, False, max(TOPS))
            for top in TOPS:
                assert ranked(kb, engine, resistance, antibody, True, top) == first[:top], (resistance, antibody, top)


def test_pruning_changes_no_ranked_list_on_the_bundled_knowledge_base(kb):
    engine = Engine(kb.facts)
    assert_pruning_changes_nothing(kb, engine)
    for antibody in antibodies_with_mechanisms(engine):  # the whole lists too, with every antibody
        for resistance in sorted(engine.resistances):
            assert ranked(kb, engine, resistance, antibody, True) == ranked(kb, engine, resistance, antibody, False)
    skipped = sum(len(candidate_partners(kb, engine)) - len(reachable_partners(kb, engine, antibody, resistance))
                  for resistance in engine.resistances for antibody in antibodies_with_mechanisms(engine))
    assert skipped > 0  # the pruning does skip agents


@pytest.fixture(scope="module")
def extended(tmp_path_factory, cache_home):
    spec = importlib.util.spec_from_file_location("generate_extension", ROOT / "benchmarks" / "generate_extension.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    path = generator.write(2000, tmp_path_factory.mktemp("ext") / "generated.tsv", seed=11)
    return KnowledgeBase.load(extras=[path])


def test_pruning_changes_no_ranked_list_on_a_generated_extension(extended):
    engine = Engine(extended.facts)
    assert len(engine.agents) > 60  # the generated drugs are in
    assert_pruning_changes_nothing(extended, engine)


@pytest.mark.parametrize("source", ["bundled", "generated"])
def test_score_bounds_bound_every_score_and_skip_partners(source, kb, request):
    """No partner scores above its bound, and the bounds do leave partners unjudged: some lie
    below the tenth score shown."""
    base = kb if source == "bundled" else request.getfixturevalue("extended")
    engine = Engine(base.facts)
    judged = below = 0
    for resistance in sorted(engine.resistances):
        for antibody in antibodies_with_mechanisms(engine):
            partners = reachable_partners(base, engine, antibody, resistance)
            bounds = engine.score_bounds(antibody, resistance, partners)
            for partner in partners:
                assert engine.judge(antibody, [partner], resistance).score <= bounds[partner], (resistance, partner)
            judged += len(partners)
            shown = rank_hypotheses(base, base.entity_of(resistance), base.entity_of(antibody), top=10, engine=engine)
            if len(shown) == 10:
                below += sum(bound < round(shown[-1].score, 4) for bound in bounds.values())
    assert judged > 0 and below > 0
