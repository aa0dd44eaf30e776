"""User extensions flow through reasoning like curated knowledge (real HermiT runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cd38kg import KnowledgeBase
from cd38kg.model import Verdict
from cd38kg.vocab import CD38

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="module")
def kb_new_imid() -> KnowledgeBase:
    return KnowledgeBase.load(extras=[FIXTURES / "extend" / "new_imid.tsv"])


def test_member_declared_only_by_class_inherits_class_knowledge(kb_new_imid):
    drug = kb_new_imid.entity("novalidomide")
    assert CD38.IMiD in drug.types and CD38.Agent in drug.types
    inferred = {(p, o) for s, p, o in kb_new_imid.facts.triples if s == drug.iri}
    assert (CD38.activates, "https://w3id.org/cd38kg/kb/nk-cell") in inferred
    result = kb_new_imid.explain("daratumumab + novalidomide", "NK cell fratricide")
    sibling = kb_new_imid.explain("daratumumab + iberdomide", "NK cell fratricide")
    assert result.verdict is sibling.verdict and result.score == sibling.score
    assert result.verdict in (Verdict.OVERCOMES, Verdict.PARTIAL)
    assert result.extrapolated, "everything novalidomide does is inherited from the IMiD class"
    steps = [s for steps in result.explanations for s in steps if s.role == "partner"]
    assert any(sup.inherited_from == CD38.IMiD for s in steps for sup in s.supports)


def test_new_member_shows_up_in_hypotheses(kb_new_imid):
    ranked = kb_new_imid.hypotheses("NK cell fratricide", antibody="daratumumab", top=None)
    named = {e.label for h in ranked for e in (h.partner, *h.equivalents)}
    assert "novalidomide" in named


def test_new_resistance_mechanism_gets_hypotheses():
    kb = KnowledgeBase.load(extras=[ROOT / "examples" / "my_findings.tsv"])
    ranked = kb.hypotheses("CD200 upregulation", top=5)
    blocker = next(h for h in ranked if h.partner.label == "anti-CD200 antibody")
    # Blocking CD200 acts on its activity; the resistance raised its expression: compensation.
    assert blocker.result.verdict is Verdict.PARTIAL
    assert blocker.result.mechanisms[0]["how"].startswith("compensates")
    assert blocker.status == "novel"


def test_turtle_extension_with_a_finding(tmp_path):
    extra = tmp_path / "extra.ttl"
    extra.write_text("""@prefix cd38: <https://w3id.org/cd38kg/vocab#> .
@prefix kb: <https://w3id.org/cd38kg/kb/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
kb:drug-x a cd38:HDACInhibitor ; rdfs:label "drug X" .
kb:f-drug-x a cd38:Finding ; cd38:subject kb:drug-x ; cd38:predicate cd38:decreasesExpressionOf ;
    cd38:object kb:cd55-on-mm ; cd38:source <https://doi.org/10.1000/example> ; cd38:section "Results" ;
    cd38:evidenceLevel cd38:InVitro ; rdfs:comment "Illustrative." .
""")
    kb = KnowledgeBase.load(extras=[extra])
    assert kb.explain("daratumumab + drug X", "complement inhibitor upregulation").verdict is Verdict.OVERCOMES


def test_cached_facts_and_engine_equal_freshly_built_ones(cache_home):
    first = KnowledgeBase.load(extras=[ROOT / "examples" / "my_findings.tsv"])
    assert list((cache_home / "cd38kg").glob("facts-*.pickle")), "the facts were cached"
    second = KnowledgeBase.load(extras=[ROOT / "examples" / "my_findings.tsv"])
    assert second.facts == first.facts
    # The cached run filled no store until asked; asking fills it with the same knowledge.
    assert second._loaded.fill is not None
    assert len(second.dataset) == len(first.dataset)
    expected = first.explain("daratumumab + ATRA", "CD38 downregulation")  # builds and caches the engine
    assert list((cache_home / "cd38kg").glob("ready-*.engine")), "the engine was cached"
    third = KnowledgeBase.load(extras=[ROOT / "examples" / "my_findings.tsv"])
    assert third._engine is not None and third._loaded._facts is third._engine.facts, "the ready engine brings its facts"
    lazy = KnowledgeBase.load(extras=[ROOT / "examples" / "my_findings.tsv"], with_engine=False)
    assert lazy._engine is None and lazy._loaded._facts is None, "resolving names reads neither engine nor facts"
    assert lazy.entity("daratumumab").label == "daratumumab"
    assert lazy.facts == first.facts and lazy._engine is None, "the facts alone are read for the facts"
    assert lazy.engine().edges == first.engine().edges and lazy.facts is lazy.engine().facts
    assert third.engine().edges == first.engine().edges
    assert third.explain("daratumumab + ATRA", "CD38 downregulation") == expected
    assert second.explain("daratumumab + ATRA", "CD38 downregulation").score == expected.score


def test_tsv_text_reaches_the_store_as_written(tmp_path, cache_home):
    """The extension layer is written as N-Quads text: quotes and backslashes must survive it."""
    extra = tmp_path / "quoted.tsv"
    note = 'says "more" \\ not less'
    extra.write_text("subject\tpredicate\tobject\tsource\tsection\tevidence_level\tmagnitude\tnote\n"
                     f'daratumumab\tdepletes\tNK cells\tuser: a "quoted" \\ source\tResults "2"\tin vitro\tstrong\t{note}\n')
    kb = KnowledgeBase.load(extras=[extra])
    finding = next(f for f in kb.facts.findings if f.note == note)
    assert finding.section == 'Results "2"'
    assert kb.facts.label(finding.source) == 'user: a "quoted" \\ source'


def test_a_source_that_is_no_iri_is_refused_with_its_line(tmp_path, cache_home):
    from cd38kg.errors import InputFileError

    extra = tmp_path / "bad_source.tsv"
    extra.write_text("subject\tpredicate\tobject\tsource\n"
                     "daratumumab\tdepletes\tNK cells\thttps://example.org/a{b}\n")
    with pytest.raises(InputFileError) as err:
        KnowledgeBase.load(extras=[extra])
    assert err.value.line == 2 and "not a valid IRI" in err.value.reason


def test_a_pickled_name_index_resolves_as_the_one_it_was_made_from():
    """The name index is cached as plain rows (entities are made when asked for): it must still
    resolve, refuse and suggest exactly as the index built from the facts."""
    import pickle

    from cd38kg.errors import AmbiguousEntityError, UnknownEntityError
    from cd38kg.knowledge.names import NameIndex

    kb = KnowledgeBase.load()
    fresh = NameIndex(kb.facts.entities.values())
    cached = pickle.loads(pickle.dumps(fresh, protocol=5))
    assert len(cached.entities) == len(fresh.entities) and not cached.entities._built
    for name in ("daratumumab", "Darzalex", "kb:atra", "CHEBI:15367", "NK cells", "hgnc:1667"):
        assert cached.resolve(name) == fresh.resolve(name)
    assert cached.suggest("daratumumabb") == fresh.suggest("daratumumabb")
    with pytest.raises(UnknownEntityError):
        cached.resolve("no such drug at all")
    ambiguous = next((key for key, iris in fresh._keys.items() if len(iris) > 1), None)
    if ambiguous is not None:
        with pytest.raises(AmbiguousEntityError):
            cached.resolve(ambiguous)
    cached.add(kb.entity("ATRA"))  # adding an entity again changes nothing
    assert cached.candidates("ATRA") == fresh.candidates("ATRA")


@pytest.mark.parametrize(("edited", "facts_kept", "engine_kept"), [
    ("interfaces/cli.py", True, True),       # presentation: every cache kept
    ("kb.py", True, False),                  # the API: the store and facts kept, the ready engine rebuilt
    ("engine/explain.py", True, False),      # the engine's semantics: its cache rebuilt, the store kept
    ("store/neighbourhood.py", True, False),  # what an endpoint sends: its copies are never cached
    ("knowledge/facts.py", False, False),    # what the facts are: everything computed again
])
def test_code_keys_follow_what_the_edited_module_computes(tmp_path, edited, facts_kept, engine_kept):
    """Editing a module invalidates exactly the caches of what it computes (a million-statement
    store takes ten minutes to load again)."""
    import shutil

    import cd38kg
    from cd38kg.knowledge.loader import code_fingerprint

    package = tmp_path / "cd38kg"
    shutil.copytree(Path(cd38kg.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    before = {scope: code_fingerprint(package, scope) for scope in ("facts", "derived")}
    with (package / edited).open("a", encoding="utf-8") as handle:
        handle.write("\n# edited\n")
    after = {scope: code_fingerprint(package, scope) for scope in ("facts", "derived")}
    assert (after["facts"] == before["facts"]) is facts_kept
    assert (after["derived"] == before["derived"]) is engine_kept


def test_a_bad_last_line_stops_a_load_on_disk_with_nothing_committed(tmp_path, cache_home):
    """A TSV file's triples go to the store while the file is read; a bad line after a thousand
    good ones stops the load with its line, the store holds no knowledge base (no manifest),
    and the next load fills it afresh."""
    from cd38kg.errors import InputFileError
    from cd38kg.store import open_store
    from cd38kg.store.disk import MANIFEST

    header = "subject\tpredicate\tobject\tsource\n"
    good = "".join(f"daratumumab\tdepletes\tNK cells\tdoi:10.1000/source-{i % 7}\n" for i in range(1000))
    extra = tmp_path / "late_error.tsv"
    extra.write_text(header + good + "daratumumab\tdepletes\tno such cells\tdoi:10.1000/x\n")
    location = tmp_path / "store"
    try:
        KnowledgeBase.load(extras=[extra], store=open_store(str(location)))
        raise AssertionError("the bad line was not reported")
    except InputFileError as err:  # its traceback, which holds the store's lock, goes with the block
        assert err.line == 1002 and "no such cells" in err.reason
    assert not (location / MANIFEST).exists()
    extra.write_text(header + good)
    kb = KnowledgeBase.load(extras=[extra], store=open_store(str(location)))
    assert (location / MANIFEST).exists()
    sources = {f.source for f in kb.facts.findings if f.iri.startswith("https://w3id.org/cd38kg/user/")}
    assert len(sources) == 7, "each finding keeps its own source"
    from cd38kg.knowledge.extend import read_tsv_extension
    from cd38kg.knowledge.names import NameIndex
    from cd38kg.vocab import RDFS

    read = read_tsv_extension(extra, NameIndex(kb.facts.entities.values()), kb.facts.relations, kb.facts.classes)
    labelled = [s for s, p, _ in read.triples if p == RDFS.label]
    assert sorted(labelled) == sorted(sources), "a source cited by many findings is described once"
