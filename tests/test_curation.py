"""Curation fidelity: each curated statement is backed by the text of the section it cites.

The integrity test in ``test_validate.py`` only checks that a cited section *exists*. These
tests check what the statement says:

* (a) the subject and the object of every cd38:Finding are named in the cited section of the
  cited review (by label or synonym; a molecule-in-a-cell node also matches through its
  molecule and its cell, a class through its members). Paraphrased statements are listed, each
  with its reason, in ``tests/fixtures/curation-paraphrases.tsv``; an entry that is no longer
  needed, or that names no finding, fails too, so the list cannot silently grow stale.
* (b) no Finding outside the claims graph is a strategy proposal in disguise: no agent is
  linked straight to a resistance mechanism, no Finding carries the claims vocabulary, and no
  agent statement cites a section whose content is the reviews' own proposals.
* (c) the per-finding review record under ``docs/curation/`` covers every Finding and trial arm,
  and names nothing that no longer exists unless it says it was removed or moved to the claims.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import cache
from pathlib import Path

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from cd38kg.resources import claims_file, ontology_dir, shapes_file

CD38 = Namespace("https://w3id.org/cd38kg/vocab#")
KB = Namespace("https://w3id.org/cd38kg/kb/")

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
CURATION = ROOT / "docs" / "curation"
PARAPHRASES = ROOT / "tests" / "fixtures" / "curation-paraphrases.tsv"
REVIEWS = {
    "https://doi.org/10.7150/ijbs.68148": "000_161535b05e0af99c.txt",
    "https://doi.org/10.3389/fimmu.2018.02134": "001_cced23c437165cc5.txt",
    "https://doi.org/10.3390/jcm9041195": "002_21a764f9491a543e.txt",
}
IJBS, FIMMU, JCM = REVIEWS

# Headings that no curated statement cites but that end the span of the section before them.
EXTRA_HEADINGS = {
    IJBS: ["Introduction", "CD38 in MM", "CD38 as an ectoenzyme promotes MM proliferation", "CD38 prevents MM death",
           "CD38 mAb in MM", "Structure of CD38 mAbs", "CD38 mAbs induce programmed cell death",
           "CD38 mAbs modulate enzymatic functions", "Combined therapy based on NK cells",
           "CD38 mAb and immunomodulatory imide drugs", "CD38 mAb and proteasome inhibitors", "Discussion",
           "Figure 1", "Figure 2", "Figure 3", "Figure 4", "Figure 5", "Figure 6", "Table 1", "Abbreviations",
           "Acknowledgements", "Competing Interests", "References"],
    FIMMU: ["Classic FC-Dependent Immune Effector", "Direct Effects", "ADCC", "Effect of Prior Treatment",
            "MECHANISMS OF RESISTANCE", "CD38 Target Antigen", "CD38 and Primary Resistance", "Cytogenetic Abnormalities",
            "Soluble CD38 and Anti-drug Antibodies", "CD38 and Acquired Resistance", "CDC Resistance", "ADCC Resistance",
            "Bone Marrow Stromal Cells", "ADCP Resistance", "Resistance to Direct Effects", "CONCLUSIONS AND FUTURE",
            "Resistance to Immunomodulatory Activity", "AUTHOR CONTRIBUTIONS", "REFERENCES", "FIGURE 1"],
    JCM: ["Table 1", "Table 2", "Figure 1", "Figure 2", "Author Contributions", "References"],
}
# The PDF text of the 2018 review interleaves columns: part of a section is printed inside
# another one. Each entry adds such a displaced passage (first words .. last words) to a section.
DISPLACED = {
    (FIMMU, "ADCC Resistance"): [("numbers increase again 3", "MOR202, also reduce NK-cell numbers"),
                                 ("ADCC was superior in samples with a high NK-cell", "such as survivin and Mcl-1 (101)")],
    (FIMMU, "CDC Resistance"): [("ATRA also reduces CD55 and CD59", "increase in CD55 and CD59 expression (67)")],
    (FIMMU, "CD38 and Acquired Resistance"): [("(70). Moreover, daratumumab-mediated", "immune response (72")],
    (FIMMU, "CD38 and Primary Resistance"): [("(55). ATRA-induced CD38", "improved daratumumab-mediated ADCC (67)")],
    (FIMMU, "Effect of Prior Treatment"): [("patients with lenalidomide- and bortezomib-", "potentially overcome refractoriness")],
    (FIMMU, "MECHANISMS OF RESISTANCE"): [("In a pooled analysis of 148", "at least very good partial response"),
                                          ("in 13.5% and complete response (CR) in 4.7%", "which evaluated daratumumab.")],
    (FIMMU, "ADCC"): [("daratumumab to kill MM cells via ADCC", "requires further investigations")],
    (FIMMU, "CONCLUSIONS AND FUTURE PROSPECTS"): [
        ("CD38-targeting antibodies utilize multiple effector mechanisms", "the glycoengineered Fc portion"),
        ("CD38 antibodies, may lead to further optimization", "a better outcome for MM patients"),
        ("of obinutuzumab enhances the binding affinity to FcγRIIIA", "contribute to resistance toward")],
    (FIMMU, "Resistance to Immunomodulatory Activity"): [
        ("In patients treated with daratumumab as single agent, the frequency", "isatuximab-induced inhibition of Tregs"),
        ("of IMiDs (38). This indicates that IMiDS also enhance", "immunomodulatory activity of CD38 antibodies.")],
}
# Sections whose content is what a review proposes: an agent statement citing them is a literature
# claim, not a Finding. The strategy column of the 2020 Table 2 and the 2020 outlook hold nothing
# else; the 2018 outlook and the 2022 discussion also report data, so there only an agent statement
# the review puts forward without data (evidence level hypothesis) counts as a proposal.
PROPOSAL_SECTIONS = {
    (JCM, "Table 2"): "any",
    (JCM, "7. Conclusions and Future Directions"): "any",
    (FIMMU, "CONCLUSIONS AND FUTURE PROSPECTS"): "hypothesis",
    (IJBS, "Discussion"): "hypothesis",
}
CLAIM_VOCABULARY = (CD38.claimAgainst, CD38.claimStrategy, CD38.claimKind, CD38.claimMechanism)
VERDICTS = {"correct", "fixed", "removed", "moved-to-claims", "added"}
# A patient factor is our name for a measured state ("high CD47 on myeloma cells"): it is named in a
# section when every word of its label other than these qualifiers occurs there.
QUALIFIERS = {"high", "low", "detected", "few", "no", "on", "of", "the", "a", "an", "to", "in", "before",
              "treatment", "under", "ago", "upregulated", "refractory", "last", "dose", "month", "ratio", "cell",
              "signature", "absolute", "number"}
# The common endpoint of the mechanisms (myeloma cell killing) is named by any mention of killing.
ENDPOINT_WORDS = {"kill", "killing", "killed", "lysis", "cell death", "apoptosis", "elimination", "eliminating"}
# Expression levels are words the reviews use for them, not only our level labels.
LEVEL_WORDS = {
    "VeryHighExpression": ["highest", "very high"],
    "HighExpression": ["high", "highly", "higher"],
    "LowExpression": ["low", "lower", "minimal", "little"],
    "NoExpression": ["without", "lack", "negative"],
    "PositiveExpression": ["expressed", "expresses", "present", "positive"],
}
GREEK = str.maketrans({"γ": "g", "α": "a", "β": "b", "ε": "e", "κ": "k", "λ": "l", "⁺": "+", "⁻": "-"})

needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason=f"the source reviews are not present at {SEEDS}")


def tokens(text: str) -> list[str]:
    """Lower-case word tokens with Greek letters spelled out and a plural -s dropped."""
    text = unicodedata.normalize("NFKC", text).translate(GREEK).lower()
    words = [t[:-3] + "y" if len(t) > 4 and t.endswith("ies") else
             t[:-1] if len(t) > 3 and t.endswith("s") and not t.endswith("ss") else t
             for t in re.findall(r"[a-z0-9]+", text)]
    # British and American spellings ("tumour", "neighbouring") are the same word
    words = [re.sub(r"our(ing|ed)?$", r"or\1", w) if len(w) > 5 else w for w in words]
    return ["mm" if w == "myeloma" else w for w in words]


class Passage:
    """Section text prepared for name look-up: word-bounded, and with separators squashed."""

    def __init__(self, text: str):
        words = tokens(text)
        self.spaced = " " + " ".join(words) + " "
        self.squashed = "".join(words)

    def names(self, name: str) -> bool:
        words = tokens(name)
        if not words:
            return False
        if " " + " ".join(words) + " " in self.spaced:
            return True
        squashed = "".join(words)
        return len(squashed) >= 5 and squashed in self.squashed


def is_insert(heading: str) -> bool:
    """Figures and tables are printed inside the running text; they do not end a section."""
    return heading.split()[0].lower() in ("figure", "table")


def heading_pattern(heading: str) -> re.Pattern[str]:
    """A heading fills its line(s); a figure or table label opens its caption line."""
    words = [re.escape(w) for w in heading.split()]
    tail = r"\b" if is_insert(heading) else r"[ \t]*$"
    return re.compile(r"(?m)^[ \t]*" + r"\s+".join(words) + tail)


@cache
def review_text(doi: str) -> str:
    return (SEEDS / REVIEWS[doi]).read_text(encoding="utf-8")


@cache
def knowledge() -> Graph:
    graph = Graph()
    for path in sorted(ontology_dir().glob("*.ttl")):
        if path not in (shapes_file(), claims_file()):
            graph.parse(path, format="turtle")
    return graph


@cache
def headings(doi: str) -> tuple[str, ...]:
    graph = Graph().parse(claims_file(), format="turtle")
    cited = {str(s) for g in (knowledge(), graph) for node in g.subjects(CD38.source, URIRef(doi))
             for s in g.objects(node, CD38.section)}
    return tuple(sorted(cited | set(EXTRA_HEADINGS[doi])))


@cache
def section_text(doi: str, section: str) -> str:
    """Every stretch of the review from a line opening with the heading up to the next heading.

    A figure caption ends at the next blank line or heading; a section or table runs to the next
    section heading (inserted figures and tables do not end it).
    """
    text = review_text(doi)
    found = {h: [m.start() for m in heading_pattern(h).finditer(text)] for h in headings(doi)}
    every = sorted({s for starts in found.values() for s in starts})
    sections = sorted({s for h, starts in found.items() if not is_insert(h) for s in starts})
    pieces = []
    for match in heading_pattern(section).finditer(text):
        after = match.start() + len(section)
        if section.lower().startswith("figure"):
            blank = re.compile(r"\n[ \t]*\n").search(text, after)
            end = min(([blank.start()] if blank else []) + [s for s in every if s > after] + [len(text)])
        else:
            end = min([s for s in sections if s > after] + [len(text)])
        pieces.append(text[match.start(): end])
    flat = re.sub(r"\s+", " ", text)
    for first, last in DISPLACED.get((doi, section), []):
        begin = flat.find(first)
        stop = flat.find(last, begin)
        assert begin >= 0 and stop >= 0, f"displaced passage {first!r}..{last!r} not found in {REVIEWS[doi]}"
        pieces.append(flat[begin: stop + len(last)])
    return "\n".join(pieces)


def labels(graph: Graph, node) -> set[str]:
    return {str(v) for p in (RDFS.label, SKOS.altLabel) for v in graph.objects(node, p)}


def is_a(graph: Graph, node, kind) -> bool:
    return any(kind in set(graph.transitive_objects(t, RDFS.subClassOf)) for t in graph.objects(node, RDF.type))


def names(graph: Graph, node) -> set[str]:
    """Labels and synonyms; a cell population is also named by its qualifier ("MM and NK cells")."""
    found = labels(graph, node)
    if is_a(graph, node, CD38.CellPopulation):
        found |= {short for n in set(found) if len(short := re.sub(r"(?i)\s*\bcells?$", "", n)) >= 2}
    return found


def name_sets(graph: Graph, node) -> list:
    """Alternative ways the node may be named in a section; one fully named alternative is a match.

    A molecule in a cell context is named by its own labels or by its molecule together with its
    cell; a class by its own labels or by any member's or subclass's.
    """
    options: list = [names(graph, node)]
    local = str(node).rsplit("#", 1)[-1]
    if str(node).startswith(str(CD38)) and local in LEVEL_WORDS:
        options.append(set(LEVEL_WORDS[local]))
    if is_a(graph, node, CD38.CellDeathOutcome):
        options.append(ENDPOINT_WORDS)
    if is_a(graph, node, CD38.PatientFactor):
        options += [("and", *({w} for w in tokens(label) if w not in QUALIFIERS)) for label in labels(graph, node)]
    molecule, cell = graph.value(node, CD38.ofMolecule), graph.value(node, CD38.inCell)
    if molecule is not None and cell is not None:
        cells = names(graph, cell)
        if any(set(tokens(m)) <= set(tokens(c)) for m in labels(graph, molecule) for c in labels(graph, cell)):
            # "CD38 on CD38+ Tregs" is CD38 on the Tregs: a subset defined by the molecule is also
            # named by the population it is a subset of.
            for kind in graph.objects(cell, RDF.type):
                for parent in graph.objects(kind, RDFS.subClassOf):
                    for member in graph.subjects(RDF.type, parent):
                        cells |= names(graph, member)
        options.append(("and", names(graph, molecule), cells))
    if (node, RDF.type, OWL.Class) in graph:
        members = set()
        for sub in graph.transitive_subjects(RDFS.subClassOf, node):
            members |= labels(graph, sub)
            for member in graph.subjects(RDF.type, sub):
                members |= names(graph, member)
        options.append(members)
    return options


def is_named(graph: Graph, node, passage: Passage) -> bool:
    for option in name_sets(graph, node):
        if isinstance(option, tuple):
            if all(any(passage.names(n) for n in part) for part in option[1:]):
                return True
        elif any(passage.names(n) for n in option):
            return True
    return False


def curie(node) -> str:
    return "kb:" + str(node).removeprefix(str(KB)) if str(node).startswith(str(KB)) else str(node)


def findings(graph: Graph) -> list:
    return sorted(graph.subjects(RDF.type, CD38.Finding))


def read_paraphrases() -> dict[str, str]:
    with PARAPHRASES.open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        rows = list(reader)
    assert reader.fieldnames == ["finding", "reason"], "the allow-list needs the columns finding, reason"
    return {row["finding"]: row["reason"] for row in rows}


def unsupported(graph: Graph, finding) -> list[str]:
    """Which of the finding's subject and object the cited section does not name."""
    doi = str(graph.value(finding, CD38.source))
    passage = Passage("\n".join(section_text(doi, str(s)) for s in graph.objects(finding, CD38.section)))
    missing = []
    for role in (CD38.subject, CD38.object):
        node = graph.value(finding, role)
        if not is_named(graph, node, passage):
            missing.append(f"{role.split('#')[-1]} {sorted(labels(graph, node))[:3]}")
    return missing


# -- (a) statements are backed by their section ---------------------------------------------------


@needs_seeds
def test_section_spans_are_found_for_every_cited_section():
    graph = knowledge()
    empty = sorted({(str(graph.value(f, CD38.source)), str(s)) for f in findings(graph)
                    for s in graph.objects(f, CD38.section)
                    if len(section_text(str(graph.value(f, CD38.source)), str(s))) < 200})
    assert empty == [], f"no text found under these cited sections: {empty}"


@needs_seeds
def test_matcher_tells_named_entities_from_unnamed_ones():
    graph = knowledge()
    cd38_mm = KB.term("cd38-on-mm")
    distribution = Passage(section_text(IJBS, "CD38 distribution"))
    assert is_named(graph, cd38_mm, distribution)  # through "CD38" plus "MM cells"
    assert is_named(graph, KB.term("mdsc"), distribution)
    assert not is_named(graph, KB.term("cyclophosphamide"), distribution)
    assert not is_named(graph, KB.term("CD47"), Passage(section_text(JCM, "5.4. Cytogenetics")))
    assert is_named(graph, CD38.AntiCD38Antibody, Passage(section_text(JCM, "5.1. CD38 Expression")))  # via daratumumab


@needs_seeds
def test_each_finding_names_its_subject_and_object_in_the_cited_section():
    graph = knowledge()
    allowed = read_paraphrases()
    failures, stale = [], []
    for finding in findings(graph):
        missing = unsupported(graph, finding)
        name = curie(finding)
        if missing and name not in allowed:
            failures.append(f"{name} ({graph.value(finding, CD38.section)}): {'; '.join(missing)}")
        elif not missing and name in allowed:
            stale.append(name)
    assert failures == [], "not named in the cited section (fix the finding, or allow-list a genuine " \
        "paraphrase with its reason):\n" + "\n".join(failures)
    assert stale == [], f"allow-listed but now matched literally; drop them from {PARAPHRASES.name}: {stale}"


def with_finding(name: str, subject: str, predicate: URIRef, obj: str, section: str) -> tuple[Graph, URIRef]:
    """The knowledge base plus one made-up finding citing the 2020 review, for the negative tests."""
    graph = Graph()
    for triple in knowledge():
        graph.add(triple)
    fake = KB.term(name)
    for p, o in ((RDF.type, CD38.Finding), (CD38.subject, KB.term(subject)), (CD38.predicate, predicate),
                 (CD38.object, KB.term(obj)), (CD38.source, URIRef(JCM)), (CD38.section, Literal(section))):
        graph.add((fake, p, o))
    return graph, fake


@needs_seeds
def test_a_finding_citing_the_wrong_section_is_reported():
    graph, fake = with_finding("f-test-wrong-section", "cyclophosphamide", CD38.decreasesExpressionOf, "cd47-on-mm",
                               "5.4. Cytogenetics")
    assert len(unsupported(graph, fake)) == 2
    graph.set((fake, CD38.section, Literal("5.6. CD47 Expression")))  # where the review says it
    assert unsupported(graph, fake) == []


def test_paraphrase_allow_list_is_reasoned_and_current():
    graph = knowledge()
    known = {curie(f) for f in findings(graph)}
    allowed = read_paraphrases()
    assert sorted(set(allowed) - known) == [], "allow-list entries naming no finding"
    thin = [f for f, reason in allowed.items() if len(reason.split()) < 6]
    assert thin == [], f"give each paraphrase a real reason: {thin}"


# -- (b) no strategy proposals among the Findings ---------------------------------------------------


def agent_like(graph: Graph, node) -> bool:
    types = set(graph.objects(node, RDF.type))
    if (node, RDF.type, OWL.Class) in graph:
        types |= {node}
    return any(CD38.Agent in set(graph.transitive_objects(t, RDFS.subClassOf)) for t in types)


def resistance_like(graph: Graph, node) -> bool:
    return is_a(graph, node, CD38.ResistanceMechanism)


@cache
def proposed_strategies() -> frozenset[URIRef]:
    """Agents the claims graph records as proposed strategies."""
    claims = Graph().parse(claims_file(), format="turtle")
    return frozenset(o for o in claims.objects(None, CD38.claimStrategy) if isinstance(o, URIRef))


def proposals(graph: Graph) -> list[str]:
    found = []
    for finding in findings(graph):
        subject, obj = graph.value(finding, CD38.subject), graph.value(finding, CD38.object)
        sections = {(str(graph.value(finding, CD38.source)), str(s)) for s in graph.objects(finding, CD38.section)}
        if agent_like(graph, subject) and resistance_like(graph, obj):
            found.append(f"{curie(finding)}: an agent acting on a resistance mechanism is a 'counters' claim")
        if any((finding, p, None) in graph for p in CLAIM_VOCABULARY):
            found.append(f"{curie(finding)}: carries the claims vocabulary")
        hypothesis = graph.value(finding, CD38.evidenceLevel) == CD38.Hypothesis
        # An outlook that proposes building a new agent (a hexamer-forming or glycoengineered CD38
        # antibody, a CD38xCD59 bispecific) states how that design would act: the design's
        # mechanism stays a hypothesis-level Finding, provided the proposal itself (use it against
        # a resistance) is a claim in the claims graph.
        designed = hypothesis and subject in proposed_strategies()
        proposing = [s for s in sections if PROPOSAL_SECTIONS.get(s) == "any"
                     or (PROPOSAL_SECTIONS.get(s) == "hypothesis" and hypothesis and not designed)]
        if agent_like(graph, subject) and proposing:
            found.append(f"{curie(finding)}: an agent statement the review only proposes ({sorted(proposing)})")
    return found


def test_no_finding_outside_the_claims_graph_is_a_strategy_proposal():
    found = proposals(knowledge())
    assert found == [], "move these to ontology/claims.ttl as cd38:LiteratureClaim:\n" + "\n".join(found)


def test_proposal_check_catches_a_disguised_claim():
    graph, fake = with_finding("f-test-disguised-claim", "atra", CD38.decreases, "cd38-downregulation", "Table 2")
    assert any(line.startswith("kb:f-test-disguised-claim") for line in proposals(graph))


def test_claims_graph_holds_no_findings():
    claims = Graph().parse(claims_file(), format="turtle")
    assert list(claims.subjects(RDF.type, CD38.Finding)) == []


# -- (c) the per-finding review record is complete ---------------------------------------------


def curation_rows() -> list[dict[str, str]]:
    rows = []
    files = sorted(CURATION.glob("*.tsv"))
    assert files, f"no review record under {CURATION}"
    for path in files:
        with path.open(encoding="utf-8") as handle:
            reader = csv.DictReader(handle, delimiter="\t")
            assert reader.fieldnames == ["finding", "verdict", "reason"], f"{path.name}: header must be finding, verdict, reason"
            for number, row in enumerate(reader, 2):
                rows.append({**row, "where": f"{path.name}:{number}"})
    return rows


def test_every_finding_and_trial_arm_has_a_review_record():
    graph = knowledge()
    present = {curie(n) for kind in (CD38.Finding, CD38.TrialArm) for n in graph.subjects(RDF.type, kind)}
    recorded = {row["finding"] for row in curation_rows()}
    assert sorted(present - recorded) == [], "statements without a row in docs/curation/*.tsv"


def test_review_records_are_well_formed_and_current():
    graph = knowledge()
    present = {curie(n) for kind in (CD38.Finding, CD38.TrialArm) for n in graph.subjects(RDF.type, kind)}
    problems = []
    for row in curation_rows():
        name, verdict, reason = row["finding"], row["verdict"], (row["reason"] or "").strip()
        if verdict not in VERDICTS:
            problems.append(f"{row['where']}: verdict {verdict!r} not one of {sorted(VERDICTS)}")
        if len(reason.split()) < 5:
            problems.append(f"{row['where']}: {name} needs a reason")
        gone = verdict in ("removed", "moved-to-claims")
        if gone and name in present:
            problems.append(f"{row['where']}: {name} is marked {verdict} but still exists")
        if not gone and name not in present:
            problems.append(f"{row['where']}: {name} ({verdict}) names no existing finding or trial arm")
    assert problems == [], "\n".join(problems)
