"""Explaining only the partners that can reach an impaired mechanism changes no answer.

The full ranked lists (partners, equivalents, scores, verdicts, every step) with pruning
equal those without, on the bundled knowledge base and on a generated extension of the
shape the scale benchmarks use.
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


def ranked(kb, engine, resistance, antibody, prune):
    hyps = rank_hypotheses(kb, kb.entity_of(resistance), kb.entity_of(antibody) if antibody else None, top=None,
                           engine=engine, prune=prune)
    return [hypothesis_json(h, rank) for rank, h in enumerate(hyps, 1)]


def test_pruning_changes_no_ranked_list_on_the_bundled_knowledge_base(kb):
    engine = Engine(kb.facts)
    skipped = 0
    for resistance in sorted(engine.resistances):
        for antibody in [None, *antibodies_with_mechanisms(engine)]:
            assert ranked(kb, engine, resistance, antibody, True) == ranked(kb, engine, resistance, antibody, False)
            if antibody:
                skipped += len(candidate_partners(kb, engine)) - len(reachable_partners(kb, engine, antibody, resistance))
    assert skipped > 0  # the pruning does skip agents


@pytest.fixture(scope="module")
def extended(tmp_path_factory, cache_home):
    spec = importlib.util.spec_from_file_location("generate_extension", ROOT / "benchmarks" / "generate_extension.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    path = generator.write(600, tmp_path_factory.mktemp("ext") / "generated.tsv")
    return KnowledgeBase.load(extras=[path])


def test_pruning_changes_no_ranked_list_on_a_generated_extension(extended):
    engine = Engine(extended.facts)
    assert len(engine.agents) > 60  # the generated drugs are in
    for resistance in sorted(engine.resistances):
        assert ranked(extended, engine, resistance, None, True) == ranked(extended, engine, resistance, None, False)
