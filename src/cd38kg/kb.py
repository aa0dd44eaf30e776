"""The public API: load the knowledge base once, then ask it questions.

Every CLI command is a thin wrapper over one method here, so anything the command line
does takes a few lines of Python::

    kb = KnowledgeBase.load(extras=["my_findings.tsv"])
    kb.info()
    kb.entities(kind="agent", search="dara")
    kb.explain("daratumumab + ATRA", "CD38 downregulation")
    kb.hypotheses("NK cell fratricide", antibody="daratumumab", top=10)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .engine.explain import Engine, Explainer, split_roles
from .engine.graph import statement_index
from .engine.scoring import ScoringWeights
from .engine.stored import read_engine, write_engine
from .errors import Cd38kgError, WrongKindError, article
from .knowledge.facts import Claim, Facts, select_claims
from .knowledge.loader import Loaded, ReasonMode, load
from .knowledge.names import NameIndex, curie, expand, normalize
from .model import Entity, ExplainResult, Hypothesis
from .pickles import write_cache
from .vocab import CD38, KIND_ALIASES, KINDS, OWL

if TYPE_CHECKING:
    import pyoxigraph
    from rdflib import Dataset

    from .engine.hypotheses import Evaluation
    from .engine.profile import ProfileResult
    from .store.base import KnowledgeStore


class KnowledgeBase:
    """The loaded knowledge graph with name resolution and the reasoning engine on top."""

    def __init__(self, loaded: Loaded, with_engine: bool = True) -> None:
        self._loaded = loaded
        ready = self._ready() if with_engine else None
        self._engine: Engine | None = ready[0] if ready else None
        self._names: NameIndex | None = ready[1] if ready else None

    @property
    def names(self) -> NameIndex:
        """Name resolution, read on first use (``info`` never needs it)."""
        if self._names is None:
            self._names = self._loaded.names
        return self._names

    @property
    def facts(self) -> Facts:
        """The engine's facts, read on first use (resolving names needs only :attr:`names`)."""
        return self._loaded.facts

    def _ready(self) -> tuple[Engine, NameIndex] | None:
        """The default engine as cached for this knowledge base with its name index (stored
        together, so they share the entities; the engine brings the facts), or None. Read in
        parts (:mod:`cd38kg.engine.stored`): a question reads the edges it walks."""
        ready = read_engine(self._ready_path) if self._ready_path else None
        if ready is None:
            return None
        self._loaded._facts = ready[0].facts
        return ready

    @cached_property
    def _ready_path(self) -> Path | None:
        """Where the default engine of this knowledge base is cached with its name index, ready
        to answer: rebuilding it is most of a cached question's time on a large extension."""
        return self._cache_path("ready", "engine")

    def _cache_path(self, kind: str, suffix: str) -> Path | None:
        """A cache file for what this knowledge base computes, keyed by the inputs and the code;
        only for inputs the store fingerprints (not a SPARQL endpoint, whose content can change
        under the same address)."""
        import hashlib

        from .knowledge.loader import code_key
        from .knowledge.reasoning import cache_dir

        if not self._loaded.manifest.key or not self._loaded.held or not self._loaded.held.loads_inputs:
            return None
        key = hashlib.sha256(f"{self._loaded.manifest.key}\0{code_key('derived')}".encode()).hexdigest()
        return cache_dir() / f"{kind}-{key}.{suffix}"

    @classmethod
    def load(cls, extras: Iterable[str | Path] = (), reason: ReasonMode = "cache",
             bundled_data: bool = True, store: KnowledgeStore | None = None,
             with_engine: bool = True) -> KnowledgeBase:
        """Load the bundled knowledge base plus user extension files (Turtle, TSV, KGX, INDRA JSON).

        ``reason="cache"`` uses cached reasoner inferences when the inputs are unchanged
        and runs HermiT otherwise; ``"always"`` forces a fresh run (as ``validate`` does).
        ``bundled_data=False`` loads only the bundled ontology, not its entities and findings.
        ``store`` is where the knowledge base lives (:func:`cd38kg.store.open_store`: in memory
        by default, an on-disk Oxigraph directory, or a SPARQL endpoint). ``with_engine=False``
        leaves the cached engine unread until a question needs it (a named query needs only
        the names: reading the engine is a second at 100,000 statements).
        """
        return cls(load([Path(p) for p in extras], reason=reason, bundled_data=bundled_data, store=store),
                   with_engine=with_engine)

    @property
    def store(self) -> KnowledgeStore:
        """The backend holding the knowledge base."""
        return self._loaded.store

    @property
    def dataset(self) -> Dataset:
        """An rdflib view of the store: the knowledge graphs (curated, asserted, inferred) and the
        literature claims in ``graph/claims``; facts are read from the knowledge graphs only."""
        return self._loaded.dataset

    @property
    def claims_graph(self) -> Any:
        """The literature claims as a graph of their own (the store holds them too, in ``graph/claims``)."""
        return self._loaded.claims

    def sparql_store(self, include_derived: bool = True, derived_for: Iterable[str] | None = None) -> pyoxigraph.Store:
        """The Oxigraph store user queries run on: the knowledge graphs, the literature claims and,
        when asked, the derived strategies.

        Named graphs: ``graph/curated``, ``graph/asserted``, ``graph/inferred``, ``graph/claims``
        (loaded with the knowledge base; no fact is read from it) and, when asked,
        ``graph/derived`` (the strategies against the resistance mechanisms in ``derived_for``,
        or all of them); queried with the union of them as the default graph. With derived
        strategies, the backend's copy of the store with that graph added
        (:meth:`cd38kg.store.base.KnowledgeStore.copy_with`: a checkpoint for the on-disk
        store), so the engine's own store never holds its own conclusions; without, the
        knowledge base's own store.
        """
        self._whole_graph("querying")
        from .vocab import DERIVED_GRAPH

        if not include_derived:
            return self.store.oxigraph
        return self.store.copy_with(self.derived_ntriples(derived_for), DERIVED_GRAPH)

    def sparql_dataset(self, include_derived: bool = True) -> Dataset:
        """:meth:`sparql_store` as an rdflib Dataset whose default graph is the union of the named graphs."""
        from .store.base import dataset_over

        return dataset_over(self.sparql_store(include_derived))

    def derived_strategies(self, only: Iterable[str] | None = None) -> list[tuple[Any, Any, Any]]:
        """Triples describing the engine's ranked hypotheses for every resistance mechanism (or
        the resistance mechanisms, by IRI, in ``only``).

        Vocabulary: each ``cd38:DerivedStrategy`` has ``cd38:strategyAgainst`` (resistance),
        ``cd38:strategyAntibody``, ``cd38:strategyPartner``, ``cd38:derivedKind``
        ("combination" | "antibody-switch"), ``cd38:derivedVerdict``, ``cd38:derivedScore``
        (xsd:decimal), ``cd38:derivedRank`` (1 = best), ``cd38:derivedStatus``
        ("reported" | "novel"), ``cd38:derivedMechanism`` (repeatable) and ``rdfs:label``.
        """
        from .engine.hypotheses import strategy_triples

        return strategy_triples(self, only=only)

    def derived_ntriples(self, only: Iterable[str] | None = None) -> bytes:
        """:meth:`derived_strategies` as N-Triples, computed once per knowledge base, code version
        and set of resistance mechanisms (``only``; None: all).

        Ranking every resistance mechanism is most of a named query's cost (minutes with a large
        extension), so a query about one mechanism ranks that one, and the result is cached
        beside the reasoner's inferences, keyed by the store's fingerprint (which covers the
        inputs and the code) and the literature claims (which set the status).
        """
        import hashlib

        import pyoxigraph

        from .knowledge.loader import code_key
        from .knowledge.reasoning import cache_dir
        from .resources import claims_file
        from .store.base import to_ox

        wanted = "all" if only is None else " ".join(sorted(set(only)))
        key = hashlib.sha256("\0".join([self._loaded.manifest.key, code_key("derived"), wanted,
                                          hashlib.sha256(claims_file().read_bytes()).hexdigest()]).encode()).hexdigest()
        path = cache_dir() / f"derived-{key}.nt"
        try:
            return path.read_bytes()
        except OSError:
            pass
        text = pyoxigraph.serialize((pyoxigraph.Triple(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in self.derived_strategies(only)),
                                    format=pyoxigraph.RdfFormat.N_TRIPLES)
        write_cache(path, [text])
        return text

    @property
    def extras(self) -> list[Path]:
        return list(self._loaded.extras)

    @property
    def new_entities(self) -> list[str]:
        """IRIs of entities that user extension files introduced."""
        return list(self._loaded.new_entities)

    @property
    def import_notes(self) -> list[str]:
        """What extension files stated that could not be taken in, each with its file and line."""
        return list(self._loaded.notes)

    @cached_property
    def claims(self) -> list[Claim]:
        """What the reviews propose against each resistance mechanism (never used to derive)."""
        return select_claims(self._loaded.claims_store)

    # -- entities -------------------------------------------------------------------------

    def entity(self, name: str, kind: str | None = None, role: str | None = None) -> Entity:
        """Resolve a label, synonym, CURIE or IRI to one entity, optionally of one kind."""
        accept = None
        if kind is not None:
            cls = self._kind_class(kind)
            accept = lambda e: cls in e.types  # noqa: E731
        try:
            return self.names.resolve(name, role=role or kind or "entity", accept=accept)
        except WrongKindError as err:
            # A class named where a member is needed ("IMiD"): say which members there are.
            classes = [i for i in self.names.candidates(name) if i in self.facts.classes]
            members = sorted(self.facts.label(m) for c in classes for m in self.facts.members.get(c, ())
                             if m not in self.facts.classes and (accept is None or accept(self.facts.entities[m])))
            if members:
                raise WrongKindError(name, f"a class ({self.facts.label(classes[0])})", err.role,
                                     f"name one of its members: {', '.join(members)}") from None
            found = [self.facts.entities[i] for i in sorted(self.names.candidates(name))]
            meant = ", ".join(f"{e.label} ({article(self.kind_of(e))} {self.kind_of(e).replace('-', ' ')})" for e in found)
            near = self.names.suggest(name, accept)
            raise WrongKindError(name, meant, err.role,
                                 f"did you mean {', '.join(repr(n) for n in near)}?" if near else "") from None

    def kind_of(self, entity: Entity) -> str:
        """The top-level kind of an entity (agent, cell, molecule, ...), or "class"."""
        if OWL.Class in entity.types:
            return "class"
        for name, cls in KINDS.items():
            if cls in entity.types:
                return name
        return "other"

    def entities(self, kind: str | None = None, search: str | None = None) -> list[Entity]:
        """Entities of a kind whose label, synonyms or id contain ``search`` (case-folded)."""
        cls = self._kind_class(kind) if kind else None
        needle = normalize(search) if search else ""
        out = []
        for entity in self.facts.entities.values():
            if cls and cls not in entity.types:
                continue
            if needle and not any(needle in normalize(n) for n in (entity.label, entity.curie, *entity.synonyms, *entity.xrefs)):
                continue
            out.append(entity)
        if search and not out:  # a CURIE in another spelling (NCT:NCT02751255, UniProtKB:P28907)
            out = [self.facts.entities[i] for i in self.names.candidates(search)
                   if not cls or cls in self.facts.entities[i].types]
        # Best matches first: label starts with the search text, then label contains it.
        return sorted(out, key=lambda e: (not normalize(e.label).startswith(needle), needle not in normalize(e.label),
                                          normalize(e.label), e.iri))

    def _kind_class(self, kind: str) -> str:
        name = KIND_ALIASES.get(kind.lower(), kind.lower())
        if name == "antibody":
            return CD38.AntiCD38Antibody
        if name == "drug":
            return CD38.Drug
        if name == "class":
            return OWL.Class
        if name not in KINDS:
            valid = sorted({*KINDS, "antibody", "drug", "class", *KIND_ALIASES})
            raise Cd38kgError(f"unknown entity type {kind!r}; use one of {', '.join(valid)}")
        return KINDS[name]

    # -- summary --------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """What the knowledge base holds: counts per kind, per class, per source and evidence level.

        Counting reads every entity and finding (seconds with a million statements), so the
        counts are cached per knowledge base like the engine, and reopening a store costs no
        more than fingerprinting its inputs."""
        import json

        path = self._cache_path("summary", "json")
        try:
            summary = json.loads(path.read_text()) if path else None
        except (OSError, ValueError):
            summary = None
        if not isinstance(summary, dict):
            summary = self._summary()
            if path:
                write_cache(path, [json.dumps(summary).encode()])
        return {**summary, "extras": [str(p) for p in self.extras]}

    def _summary(self) -> dict[str, Any]:
        """The counts :meth:`info` reports, from the store and the facts."""
        facts = self.facts
        per_kind = Counter(self.kind_of(e) for e in facts.entities.values())
        per_class: Counter[str] = Counter()
        for cls, members in facts.members.items():
            if cls in facts.entities and not cls.startswith(OWL.term("")):
                per_class[facts.label(cls)] = len(members)
        per_source = Counter(facts.label(f.source) if f.source in facts.entities else f.source
                             for f in facts.findings)
        per_level = Counter(facts.evidence_label.get(f.evidence_level, f.evidence_level) for f in facts.findings)
        conflicts = {frozenset((a, b)) for a, others in facts.conflicts.items() for b, _ in others}
        return {
            "triples": len(self.store.oxigraph),
            "entities": len(facts.entities),
            "findings": len(facts.findings),
            "claims": len(self.claims),
            "conflicts": len(conflicts),
            "per_kind": dict(sorted(per_kind.items())),
            "per_class": dict(sorted(per_class.items())),
            "per_source": dict(sorted(per_source.items())),
            "per_evidence_level": dict(sorted(per_level.items(), key=lambda kv: -self._rank_of_label(kv[0]))),
        }

    def _rank_of_label(self, label: str) -> int:
        for iri, lab in self.facts.evidence_label.items():
            if lab == label:
                return self.facts.evidence_rank.get(iri, 0)
        return 0

    # -- reasoning engine -----------------------------------------------------------------

    def engine(self, weights: ScoringWeights | None = None, without: Iterable[str] = ()) -> Engine:
        """The causal engine, optionally with custom weights or statements ablated.

        ``without`` holds statements to remove, each a finding id (``kb:f-atra-cd38``) or
        ``"subject | predicate | object"`` with names (``"ATRA | increases_expression |
        CD38 on myeloma cells"``); the default engine is built once and reused.
        """
        keys, finding_ids = self.parse_statements(without)
        if weights is None and not keys and not finding_ids:
            if self._engine is None and (ready := self._ready()):
                self._engine = ready[0]
            if self._engine is None:
                self._engine = Engine(self.facts)
                if self._ready_path:  # before any question fills the engine's own caches
                    # indexed anew from the facts' own strings: the name index read from its cache
                    # holds equal copies, which the engine's cache would store twice (and read
                    # back a second slower with a million statements)
                    write_engine(self._engine, NameIndex(self.facts.entities.values()), self._ready_path)
            return self._engine
        return Engine(self.facts, weights, keys, finding_ids)

    def explain(self, combination: str | Sequence[str], resistance: str, antibody: str | None = None,
                without: Iterable[str] = (), weights: ScoringWeights | None = None) -> ExplainResult:
        """Why (and how well) a combination should counter a resistance mechanism."""
        if self.store.names_only:
            self._whole_graph("explaining a combination")
        if self.store.focus:
            held = {normalize(name) for name in self.store.focus}
            for name in [*combination_names(combination), resistance, *([antibody] if antibody else [])]:
                if normalize(name) not in held:
                    self._whole_graph(f"explaining {name!r}")
        agents = self.split_combination(combination)
        chosen = self.entity(antibody, kind="antibody", role="anti-CD38 antibody") if antibody else None
        if chosen is not None and all(a.iri != chosen.iri for a in agents):
            agents = [chosen, *agents]
        ab, partners = split_roles(agents, chosen, lambda e: CD38.AntiCD38Antibody in e.types)
        target = self.entity(resistance, kind="resistance", role="resistance mechanism")
        engine = self.engine(weights, without)
        return Explainer(engine, self.entity_of).explain(ab, partners, target, agents)

    def hypotheses(self, resistance: str, antibody: str | None = None, top: int | None = 10,
                   without: Iterable[str] = (), weights: ScoringWeights | None = None) -> list[Hypothesis]:
        """Ranked partners and antibody switches against a resistance mechanism, best first."""
        self._whole_graph("ranking hypotheses")
        from .engine.hypotheses import rank_hypotheses

        if top is not None and top < 1:
            raise Cd38kgError(f"--top must be at least 1 (got {top})")
        target = self.entity(resistance, kind="resistance", role="resistance mechanism")
        chosen = self.entity(antibody, kind="antibody", role="anti-CD38 antibody") if antibody else None
        return rank_hypotheses(self, target, chosen, top, self.engine(weights, without))

    def screen(self, top: int | None = 10, weights: ScoringWeights | None = None
               ) -> Iterator[tuple[Entity, Entity, list[Hypothesis]]]:
        """Every resistance mechanism against every anti-CD38 antibody with known mechanisms: the
        ranked hypotheses of each pair the resistance impairs (batch scoring, one pass)."""
        self._whole_graph("screening every resistance mechanism")
        from .engine.hypotheses import antibodies_with_mechanisms, rank_hypotheses

        engine = self.engine(weights)
        for resistance in sorted(engine.resistances, key=self.facts.label):
            for antibody in antibodies_with_mechanisms(engine):
                if engine.impairments(antibody, resistance)[0]:
                    target, chosen = self.entity_of(resistance), self.entity_of(antibody)
                    yield target, chosen, rank_hypotheses(self, target, chosen, top, engine)

    def why_no_hypotheses(self, resistance: str, antibody: str | None = None) -> str:
        """Why ``hypotheses`` came back empty, in one sentence (an empty list is an answer too)."""
        self._whole_graph("ranking hypotheses")
        from .engine.hypotheses import default_antibody

        engine = self.engine()
        target = self.entity(resistance, kind="resistance", role="resistance mechanism")
        chosen = self.entity(antibody, kind="antibody").iri if antibody else default_antibody(self, engine, target.iri)
        if chosen is None:
            # No clinical antibody is impaired: ask any antibody with known mechanisms why.
            candidates = sorted(a for a in engine.antibodies if engine.reliance(a))
            reason = engine.impairments(candidates[0], target.iri)[1] if candidates else ""
            return reason or f"{target.label} impairs no mechanism of any anti-CD38 antibody in the knowledge base"
        impaired, reason = engine.impairments(chosen, target.iri)
        if not impaired:
            return reason
        name = self.facts.label(chosen)
        if any(chosen in item.depth for item in impaired):
            return (f"{target.label} acts on {name} itself: no agent in the knowledge base acts on what "
                    f"neutralises it, nothing acting downstream of the antibody can stand in for it, and no "
                    f"other antibody escapes it")
        return f"no agent in the knowledge base has a causal path to what {target.label} impairs for {name}"

    def evaluate(self) -> Evaluation:
        """Expert agreement, recall@3/@5 of the reviews' proposals and wrong verdicts on known
        counter-examples."""
        self._whole_graph("evaluating the engine")
        from .engine.expert import ask_all
        from .engine.hypotheses import evaluate

        evaluation = evaluate(self)
        evaluation.expert = ask_all(self)
        return evaluation

    def profile(self, path: str | Path, top: int = 10) -> ProfileResult:
        """Resistance mechanisms a patient profile (YAML) points to, and combinations for them."""
        self._whole_graph("assessing a patient profile")
        from .engine.profile import assess_profile, read_profile

        return assess_profile(self, read_profile(Path(path)), top=top)

    def _whole_graph(self, what: str) -> None:
        """Refuse a question the local copy was not fetched for: over an endpoint's neighbourhood
        of one question, it would answer from part of the graph as if it were all of it."""
        if self.store.focus or self.store.names_only:
            fetched = "the entities named" if self.store.names_only else "the neighbourhood of"
            raise Cd38kgError(f"{what} needs more of {self.store.describe()} than this copy, which holds "
                              f"{fetched} {' + '.join(self.store.focus) or 'nothing'} only: "
                              "load the knowledge base without a focus")

    def entity_of(self, iri: str) -> Entity:
        """The entity record for an IRI (a bare record when it has no label)."""
        return self.facts.entities.get(iri) or Entity(iri=iri, label=curie(iri), curie=curie(iri))

    def parse_statements(self, statements: Iterable[str]) -> tuple[set[tuple[str, str, str]], set[str]]:
        """Resolve ``--without`` statements to (subject, predicate, object) keys or finding IRIs."""
        keys: set[tuple[str, str, str]] = set()
        finding_ids: set[str] = set()
        statements = list(statements)
        if not statements:  # the usual question: nothing to index (every finding, at scale)
            return keys, finding_ids
        known_findings = {f.iri for f in self.facts.findings}
        known_keys = set(statement_index(self.facts))
        by_name = {}
        for rel in self.facts.relations.values():
            for name in (rel.tsv_name, rel.label, curie(rel.iri)):
                if name:
                    by_name[normalize(name)] = rel.iri
        for text in statements:
            iri = expand(text.strip())
            if iri and iri in known_findings:
                finding_ids.add(iri)
                continue
            parts = [p.strip() for p in text.split("|")]
            if len(parts) != 3:
                raise Cd38kgError(f"cannot read statement {text!r}: give a finding id (e.g. kb:f-atra-cd38) or "
                                  "'subject | predicate | object'")
            predicate = by_name.get(normalize(parts[1]))
            if predicate is None:
                raise Cd38kgError(f"unknown predicate {parts[1]!r} in statement {text!r}; use one of "
                                  f"{', '.join(sorted(r.tsv_name for r in self.facts.relations.values() if r.tsv_name))}")
            subject = self.entity(parts[0]).iri
            obj = self.entity(parts[2]).iri
            key = (subject, predicate, obj)
            if key not in known_keys:
                raise Cd38kgError(f"the knowledge base has no statement {text!r} to remove")
            keys.add(key)
        return keys, finding_ids

    def split_combination(self, combination: str | Sequence[str]) -> list[Entity]:
        """Resolve "daratumumab + ATRA" (or a list of names) to agents."""
        parts = combination_names(combination)
        if not parts:
            raise Cd38kgError("empty combination: name agents separated by '+', e.g. 'daratumumab + ATRA'")
        return [self.entity(p, kind="agent", role="agent") for p in parts]


def combination_names(combination: str | Sequence[str]) -> list[str]:
    """The agents' names in "daratumumab + ATRA" (or a list of names), as typed."""
    parts = combination.replace(",", "+").split("+") if isinstance(combination, str) else combination
    return [p.strip() for p in parts if p.strip()]
