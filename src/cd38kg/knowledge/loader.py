"""Assembling the knowledge graph: bundled Turtle, user extensions, projection, inferences.

Named graphs keep the layers apart:

* ``graph/curated``  – the Turtle files and user extensions as written;
* ``graph/asserted`` – each finding projected onto its plain triple (or, for a class
  subject, onto a ``hasValue`` restriction) so OWL and SPARQL can use it;
* ``graph/inferred`` – what reasoning adds (from the cache unless inputs changed): HermiT's
  classification applied to the individuals by :func:`cd38kg.knowledge.reasoning.infer`;
The literature claims (what the reviews propose) are parsed into a separate graph that
is not part of this dataset, so the derivation cannot read them.

The layers go into the chosen store (:mod:`cd38kg.store`) in bulk. A store that already
holds the knowledge base for the same inputs (an on-disk store reopened) is used as is;
otherwise the bundled Turtle is bulk-loaded and the extension layer (the extras' triples
and the projected findings) comes from a cache of N-Quads keyed by the inputs' fingerprint,
beside the inference cache, so an unchanged extension is never parsed or resolved again.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from ..errors import Cd38kgError
from ..io import check_extension_path, read_extension
from ..pickles import bulk_objects, read_pickle, write_pickle
from ..progress import say, step
from ..resources import bundled_inferences_file, claims_file, ontology_files
from ..store import open_store, write_text
from ..store.base import Manifest, add_triples, dataset_over, to_ox
from ..store.files import decode_text, load_into, read_bytes
from ..vocab import ASSERTED_GRAPH, CD38, CLAIMS_GRAPH, CURATED_GRAPH, INFERRED_GRAPH, NAMES_GRAPH, OWL, RDF, RDFS
from .facts import Q_CLASSES, Facts, finding_rows, name_rows, select, select_facts, states_findings, states_names
from .names import NameIndex, name_keys
from .reasoning import (
    cache_dir,
    cached_inferences,
    fingerprint,
    infer,
    inferences_ntriples,
    owl_input,
    parse_inferences,
    read_tbox,
    run_hermit,
    ship_classification,
    store_inferences,
)
from .written import WrittenTriples

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import pyoxigraph
    from rdflib import Dataset, Graph

    from ..store.base import KnowledgeStore

ReasonMode = Literal["cache", "always", "never"]


@dataclass
class Loaded:
    """The assembled knowledge base and what was read into it.

    When the engine's facts come from the cache, the store is filled only when something first
    asks for it (a SPARQL query, a profile, an export): ``explain`` and ``hypotheses`` read the
    facts alone and never wait for it.
    """

    files: list[Path]
    extras: list[Path]
    manifest: Manifest
    new_entities: list[str] = field(default_factory=list)
    inference_key: str = ""
    reasoned_now: bool = False
    notes: list[str] = field(default_factory=list)
    held: KnowledgeStore | None = None
    fill: Callable[[], None] | None = None
    _dataset: Dataset | None = None
    _facts: Facts | None = None
    _names: NameIndex | None = None

    @cached_property
    def claims_store(self) -> pyoxigraph.Store:
        """The literature claims (read on first use: most questions never label a strategy)."""
        return read_claims()

    @cached_property
    def claims(self) -> Graph:
        """:attr:`claims_store` as an rdflib graph, under the fixed ``graph/claims`` IRI."""
        from oxrdflib import OxigraphStore
        from rdflib import Graph, URIRef

        return Graph(store=OxigraphStore(store=self.claims_store), identifier=URIRef(CLAIMS_GRAPH))

    @property
    def facts(self) -> Facts:
        """The engine's facts, read from their cache on first use (a run that finds a ready-made
        engine for this knowledge base never needs them)."""
        if self._facts is None:
            self._facts = _cached_facts(self.manifest.key) or select_facts(self.dataset)
        return self._facts

    @property
    def names(self) -> NameIndex:
        """Every name of every entity, cached apart from the facts: resolving a query's
        parameters needs the names alone, and indexing 45,000 names took longer than reading
        them back."""
        if self._names is None:
            cached = read_pickle(cache_dir() / f"names-{self.manifest.key}.pickle") if self.manifest.key else None
            self._names = cached if isinstance(cached, NameIndex) else NameIndex(self.facts.entities.values())
        return self._names

    @property
    def store(self) -> KnowledgeStore:
        """The store, filled first if that was deferred."""
        if self.fill is not None:
            fill, self.fill = self.fill, None
            fill()
        assert self.held is not None
        return self.held

    @property
    def dataset(self) -> Dataset:
        if self._dataset is None:
            self._dataset = dataset_over(self.store.oxigraph)
        return self._dataset


def load(extras: list[Path] | None = None, reason: ReasonMode = "cache", bundled_data: bool = True,
         store: KnowledgeStore | None = None) -> Loaded:
    """Load the bundled knowledge base plus ``extras`` into ``store`` (default: the configured
    one, see :func:`cd38kg.store.open_store`) and attach the reasoner's inferences.

    ``bundled_data=False`` keeps only the ontology (classes, relations, evidence levels)
    of the bundled files, so the extras alone supply the entities and findings (a KGX
    export read back, for instance).
    """
    extras = [Path(p) for p in extras or []]
    for path in extras:
        check_extension_path(path)
    store = store or open_store()
    files = ontology_files()
    reasoned_now = False
    findings: list[tuple[str, ...]] | None = None
    names: list[tuple[str, str, str, str]] | None = None
    written: WrittenTriples | None = None
    fill: Callable[[], None] | None = None
    facts_cached = False
    if not store.loads_inputs:
        if extras:
            raise Cd38kgError(f"--extra cannot be used with --endpoint: load {extras[0].name} into the server "
                              f"at {store.describe()} instead")
        manifest = store.holding("")
        add_claims(store.oxigraph)  # the endpoint's neighbourhood is a private copy
    else:
        # Fingerprinted as bytes; read as text only when a layer must be computed again.
        bundled = [(path, read_bytes(path)) for path in files]
        added = [(path, read_bytes(path)) for path in extras]
        inputs = ([] if bundled_data else [("bundled:schema-only", b"")]) + [(p.name, data) for p, data in bundled]
        inputs_key = fingerprint(inputs + [(f"extra:{p.name}", data) for p, data in added])
        # the claims are in the store too (graph/claims): a changed claims file fills it again
        key = fingerprint([("inputs", inputs_key.encode()), ("claims", claims_file().read_bytes()),
                           ("code", code_key("facts").encode())])
        manifest = None if reason == "always" else store.holding(key)
        facts_cached = reason != "always" and _facts_cached(key)
        # the cache's manifest is read only when the store holds nothing: at a million statements
        # it lists 400,000 new entities, a tenth of a second of every command to read
        known = _cached_manifest(key) if manifest is None and facts_cached and store.fills_on_demand else None
        if known is not None:
            manifest = known
            if extras:  # worth saying only when the user's own files were not read again
                say(f"Using the cached facts for the knowledge base + {' + '.join(p.name for p in extras)}")

            def fill() -> None:
                filled = _fill(store, key, inputs_key, inputs, bundled, added, bundled_data, reason)
                store.commit(filled.manifest)
        elif manifest is None:
            filled = _fill(store, key, inputs_key, inputs, bundled, added, bundled_data, reason)
            manifest, reasoned_now, findings, names, written = (filled.manifest, filled.reasoned_now, filled.findings,
                                                                filled.names, filled.written)
            del filled
            store.commit(manifest)
    loaded = Loaded(files=files, extras=extras, manifest=manifest, new_entities=list(manifest.new_entities),
                    inference_key=manifest.inference_key, reasoned_now=reasoned_now, notes=list(manifest.notes),
                    held=store, fill=fill)
    if not facts_cached:
        loaded._facts = select_facts(loaded.dataset, findings, names, written)
        del written
        if store.loads_inputs:
            _cache_facts(manifest, loaded._facts, loaded.names)
    return loaded


def _facts_cached(key: str) -> bool:
    """Whether the facts for this fingerprint are cached: their manifest is written last."""
    return cache_dir().joinpath(f"manifest-{key}.json").is_file() and cache_dir().joinpath(f"facts-{key}.pickle").is_file()


def _cached_manifest(key: str) -> Manifest | None:
    """What the store holds for this fingerprint, when its facts are cached: selecting the facts
    and filling the store are most of a cached run's time on a large extension."""
    try:
        return Manifest.from_text(cache_dir().joinpath(f"manifest-{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _cached_facts(key: str) -> Facts | None:
    facts = read_pickle(cache_dir() / f"facts-{key}.pickle")
    return facts if isinstance(facts, Facts) else None


def _cache_facts(manifest: Manifest, facts: Facts, names: NameIndex) -> None:
    """Cache the facts and their name index (pickled: the quickest way back to 100,000
    findings), then the manifest that says they are there."""
    write_pickle(facts, cache_dir() / f"facts-{manifest.key}.pickle")
    write_pickle(names, cache_dir() / f"names-{manifest.key}.pickle")
    with suppress(OSError, Cd38kgError):  # a read-only cache only costs the next run its time
        write_text(manifest.to_text(), cache_dir() / f"manifest-{manifest.key}.json")


def add_claims(ox: pyoxigraph.Store) -> None:
    """Put the literature claims into a store's ``graph/claims`` (unless there already), so
    queries join them without copying the store; facts are never read from that graph
    (:data:`cd38kg.knowledge.facts.KNOWLEDGE_GRAPHS`)."""
    import pyoxigraph

    if not ox.contains_named_graph(pyoxigraph.NamedNode(CLAIMS_GRAPH)):
        load_into(ox, claims_file(), CLAIMS_GRAPH)


def read_claims() -> pyoxigraph.Store:
    """The literature claims in a store of their own, under the fixed ``graph/claims`` IRI
    (read without filling the knowledge base's store: labelling a hypothesis needs no more)."""
    import pyoxigraph

    claims_store = pyoxigraph.Store()
    add_claims(claims_store)
    return claims_store


@dataclass
class _Filled:
    """What a fill put in the store, whether HermiT ran, the finding and name rows read on the
    way (:func:`cd38kg.knowledge.facts.finding_rows`, :func:`~cd38kg.knowledge.facts.name_rows`)
    when they are still all the store's, and the triples written, when the extension layer was
    computed rather than read from its cache."""

    manifest: Manifest
    reasoned_now: bool
    findings: list[tuple[str, ...]] | None
    names: list[tuple[str, str, str, str]] | None
    written: WrittenTriples | None


def _fill(store: KnowledgeStore, key: str, inputs_key: str, bundled_inputs: list[tuple[str, bytes]],
          bundled: list[tuple[Path, bytes]], added: list[tuple[Path, bytes]], bundled_data: bool,
          reason: ReasonMode) -> _Filled:
    """Load every layer into an emptied store.

    ``key`` fingerprints the inputs and the code (the store and extension caches);
    ``inputs_key`` the inputs alone (the reasoner's cache, which outlives code changes).
    """
    texts = [(path, decode_text(path, data)) for path, data in bundled]
    added_texts = [(path, decode_text(path, data)) for path, data in added]
    with bulk_objects():  # a million short-lived terms and triples: no full-heap collections
        return _fill_layers(store, key, inputs_key, bundled_inputs, texts, added_texts, bundled_data, reason)


def _fill_layers(store: KnowledgeStore, key: str, inputs_key: str, bundled_inputs: list[tuple[str, bytes]],
                 bundled: list[tuple[Path, str]], added: list[tuple[Path, str]], bundled_data: bool,
                 reason: ReasonMode) -> _Filled:
    import pyoxigraph

    ox = store.begin()

    def graph(name: str, store: pyoxigraph.Store = ox) -> Graph:
        """An rdflib view of one layer, made only when a layer must be computed (rdflib's
        import alone is most of a cached named query's time)."""
        from rdflib import URIRef

        return dataset_over(store).graph(URIRef(name))

    if bundled_data:
        for path, text in bundled:
            load_into(ox, path, CURATED_GRAPH, text)
    else:
        staging = pyoxigraph.Store()
        for path, text in bundled:
            load_into(staging, path, CURATED_GRAPH, text)
        add_triples(ox, schema_triples(graph(CURATED_GRAPH, staging)), CURATED_GRAPH)
    extras = [path for path, _ in added]
    layer = None if reason == "always" else _cached_layer(key)
    written: WrittenTriples | None = None
    if layer is None:
        written = WrittenTriples()
        written.take_stored(ox, CURATED_GRAPH)  # the bundled files
        layer = _extension_layer(ox, graph(CURATED_GRAPH), added, bundled_inputs, key, inputs_key, written)
    else:
        ox.bulk_load(layer.pop("nquads"), pyoxigraph.RdfFormat.N_QUADS)
    key_used = layer["inference_key"]
    what = "the knowledge base" + "".join(f" + {p.name}" for p in extras)
    # Extras that add no triple (an empty file, restatements) change nothing the reasoner sees.
    extends = key_used == inputs_key and bool(extras)
    inferred_text = None if reason == "always" else cached_inferences(key_used)
    reasoned_now = False
    if inferred_text is None:
        if reason == "never":
            raise Cd38kgError("no cached inferences for these inputs and reasoning was disabled")
        inferred = infer(graph(CURATED_GRAPH), graph(ASSERTED_GRAPH), what, written=written).inferred
        say(f"Inferences cached in {store_inferences(key_used, inferences_ntriples(inferred))}")
        add_triples(ox, inferred, INFERRED_GRAPH)
        reasoned_now = True
    else:
        if extends:
            say(f"Using the cached inferences for {what}")
        elif extras:
            say(f"{', '.join(p.name for p in extras)}: no new statements, so no reasoning needed")
        ox.bulk_load(inferred_text.encode(), pyoxigraph.RdfFormat.N_TRIPLES, to_graph=pyoxigraph.NamedNode(INFERRED_GRAPH))
    if written is not None:
        written.take(inferred if inferred_text is None else parse_inferences(inferred_text), INFERRED_GRAPH)
    add_claims(ox)
    manifest = Manifest(key=key, inference_key=key_used, extras=[str(p) for p in extras],
                        new_entities=layer["new_entities"], notes=layer["notes"])
    findings, names = layer.get("findings"), layer.get("names")
    return _Filled(manifest, reasoned_now,
                   None if findings is None or states_findings(ox, (ASSERTED_GRAPH, INFERRED_GRAPH)) else findings,
                   None if names is None or states_names(ox, (INFERRED_GRAPH,)) else names, written)


def _extension_layer(ox: pyoxigraph.Store, curated: Graph, added: list[tuple[Path, str]],
                     bundled_inputs: list[tuple[str, bytes]], key: str, inputs_key: str,
                     written: WrittenTriples) -> dict[str, Any]:
    """Read the extras and project every finding, add both to the store and cache them by ``key``;
    ``written`` keeps what is written, for the reads that follow.

    The layer is written as N-Quads text, bulk-loaded and appended to the cache file a batch at
    a time while the next batch is made: a Python ``Quad`` per triple cost more than Oxigraph
    parsing the same text, and the text is never held whole (``written`` holds the triples once,
    as the rows the reads after it need).
    """
    from rdflib import BNode, Literal

    before = len(ox)
    new_entities: list[str] = []
    notes: list[str] = []

    def term(value: Any) -> str:
        """A string is an IRI (checked where it was read), a plain literal is escaped here, any
        other term is written by Oxigraph."""
        if type(value) is str:
            return f"<{value}>"
        if type(value) is Literal and not value.language and not value.datatype:
            return f'"{value.translate(_ESCAPES)}"'
        return str(to_ox(value))

    def lines(triples: Iterator[tuple[object, object, object]], layer: str) -> Iterator[str]:
        return (f"{term(s)} {term(p)} {term(o)} <{layer}> .\n" for s, p, o in written.passing(triples, layer))

    with _LayerFile(cache_dir() / f"layers-{key}.nq") as cached:
        for path, text in added:
            extension = read_extension(path, text, curated, written)
            # in the store before the next file is read: its names resolve against this one
            _add_lines(ox, cached, path, lines(iter(extension.triples), CURATED_GRAPH))
            new_entities.extend(extension.new_entities)
            notes.extend(extension.notes)
            del extension
        grew = len(ox) > before
        findings = finding_rows(ox, written)  # the curated graph is all the store holds so far
        projected = project_findings(curated, str, BNode, findings)
        _add_lines(ox, cached, None, lines(iter(projected), ASSERTED_GRAPH))
        del projected
        names = name_rows(ox, written)  # the curated and asserted layers: all but the inferences
        _add_lines(ox, cached, None, _name_key_lines(names))
        layer: dict[str, Any] = {"inference_key": inputs_key if grew else fingerprint(bundled_inputs),
                                 "new_entities": new_entities, "notes": notes}
        cached.finish(layer)
    return layer | {"findings": findings, "names": names}


def _name_key_lines(names: list[tuple[str, str, str, str]]) -> Iterator[str]:
    """The names graph: each entity's keys in the name index (:func:`cd38kg.knowledge.names.name_keys`),
    so that a server holding the knowledge base finds the entities a question names by an index
    lookup, not a scan of every label (:func:`cd38kg.store.neighbourhood.find_named`). ``names``
    are the store's :func:`cd38kg.knowledge.facts.name_rows`."""
    written: dict[str, tuple[set[str], set[str], set[str]]] = defaultdict(lambda: (set(), set(), set()))
    for entity, label, alt, xref in names:
        labels, synonyms, xrefs = written[entity]
        labels.add(label)
        synonyms.update([alt] if alt else [])
        xrefs.update([xref] if xref else [])
    for entity, (labels, synonyms, xrefs) in sorted(written.items()):
        for key in sorted(set(name_keys("", labels | synonyms, xrefs))):
            yield f'<{entity}> <{CD38.nameKey}> "{key.translate(_ESCAPES)}" <{NAMES_GRAPH}> .\n'


#: N-Triples escapes in a string literal.
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})
#: N-Quads lines per batch on their way to the store and the cache: large enough for bulk
#: loading, small enough that a batch costs little memory.
BATCH = 100_000


def _add_lines(ox: pyoxigraph.Store, cached: _LayerFile, path: Path | None, lines: Iterator[str]) -> None:
    """Bulk-load N-Quads ``lines`` into the store and append them to the cache, one batch at a
    time; Oxigraph writes a batch (without the GIL) while the next one is made."""
    from concurrent.futures import Future, ThreadPoolExecutor

    import pyoxigraph

    def stored(written: Future[None] | None) -> None:
        try:
            if written is not None:
                written.result()
        except SyntaxError as err:  # an IRI a file gave that Oxigraph refuses
            where = path.name if path else "the projected findings"
            raise Cd38kgError(f"{where}: cannot store a statement ({err})") from None

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cd38kg-write") as writer:
        written: Future[None] | None = None
        while batch := "".join(islice(lines, BATCH)).encode():
            stored(written)
            written = writer.submit(ox.bulk_load, batch, pyoxigraph.RdfFormat.N_QUADS)
            cached.write(batch)
        stored(written)


class _LayerFile:
    """The cache of an extension layer: N-Quads written while the layer is loaded and renamed into
    place, with what reading it reported beside it, only once complete. A cache that cannot be
    written is said once and costs only the next run its time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: BinaryIO | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as err:
            self._give_up(err)
            return
        self.tmp = Path(tmp)
        self.handle = os.fdopen(fd, "wb")

    def __enter__(self) -> _LayerFile:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:  # broken off (a bad line in a file): no cache
            self.handle.close()
            self.tmp.unlink(missing_ok=True)

    def write(self, data: bytes) -> None:
        if self.handle is not None:
            try:
                self.handle.write(data)
            except OSError as err:
                self._give_up(err)

    def finish(self, layer: dict[str, Any]) -> None:
        if self.handle is None:
            return
        try:
            self.handle.close()
            self.handle = None
            self.tmp.replace(self.path)
            write_text(json.dumps(layer, ensure_ascii=False), self.path.with_suffix(".json"))
        except (OSError, Cd38kgError) as err:
            self._give_up(err)

    def _give_up(self, err: Exception) -> None:
        say(f"could not cache the parsed extensions in {self.path.parent} ({err}); they will be read again next time")
        if self.handle is not None:
            self.handle.close()
            self.handle = None
            self.tmp.unlink(missing_ok=True)


def _cached_layer(key: str) -> dict[str, Any] | None:
    """The extension layer cached for inputs ``key``: its N-Quads and what reading it reported."""
    path = cache_dir() / f"layers-{key}.nq"
    try:
        layer = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        layer["nquads"] = path.read_bytes()
    except (OSError, ValueError):
        return None
    return layer


#: Code that only checks or presents what the loader and the engine compute: editing it keeps
#: their caches (the ``facts`` scope also leaves out the engine, which reads the facts, the
#: API and output modules around it, and the endpoint backend, whose copies are never cached).
_NOT_COMPUTING = {
    "facts": ("interfaces/", "engine/", "knowledge/validate.py", "knowledge/shacl.py",
              "kb.py", "serialize.py", "progress.py", "view.py", "store/remote.py", "store/neighbourhood.py"),
    "derived": ("interfaces/", "knowledge/validate.py", "knowledge/shacl.py"),
    "all": (),
}


def code_key(scope: Literal["facts", "derived", "all"] = "all") -> str:
    """A fingerprint of the code behind a cache: caches of what the code computes (parsed
    extensions, facts, derived strategies, an on-disk store) are not reused across changes to
    it, while a change to a command's presentation costs no reload of a large extension."""
    return code_fingerprint(Path(__file__).resolve().parents[1], scope)


def code_fingerprint(package: Path, scope: Literal["facts", "derived", "all"]) -> str:
    """:func:`code_key` of the package in ``package``."""
    import hashlib

    digest = hashlib.sha256()
    skipped = _NOT_COMPUTING[scope]
    for path in sorted(package.rglob("*.py")):
        name = path.relative_to(package).as_posix()
        if not name.startswith(skipped):
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


#: What the ontology is made of, as opposed to the data it describes.
SCHEMA_KINDS = (OWL.Ontology, OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty,
                OWL.AllDisjointClasses, CD38.EvidenceLevel, CD38.ExpressionLevel)


def schema_triples(graph: Graph) -> list[tuple[object, object, object]]:
    """The ontology in ``graph`` without its data: classes, relations, evidence and expression
    levels, and the blank nodes (restrictions, lists) they are written with."""
    from rdflib import BNode

    pending = [s for kind in SCHEMA_KINDS for s in graph.subjects(_uri(RDF.type), _uri(kind))]
    seen: set[object] = set()
    out: list[tuple[object, object, object]] = []
    while pending:
        subject = pending.pop()
        if subject in seen:
            continue
        seen.add(subject)
        for triple in graph.triples((subject, None, None)):
            out.append(triple)
            if isinstance(triple[2], BNode):
                pending.append(triple[2])
    return out


#: The relations a finding can be projected onto.
Q_OBJECT_PROPERTIES = """SELECT ?p WHERE { ?p rdf:type owl:ObjectProperty . FILTER(isIRI(?p)) }"""
#: Subjects and objects that are no IRI (a literal or blank node a Turtle extension gave): a
#: finding about them has no OWL reading.
Q_NOT_IRI = """SELECT ?f ?v WHERE { { ?f cd38:subject ?v } UNION { ?f cd38:object ?v } FILTER(!isIRI(?v)) }"""
#: Magnitudes that report an absence.
ABSENT = ("none", "unknown")


def project_findings(curated: Graph, iri: Callable[[str], Any] | None = None,
                     blank: Callable[[], Any] | None = None,
                     rows: list[tuple[str, ...]] | None = None) -> list[tuple[Any, Any, Any]]:
    """The OWL reading of every positive finding: a triple, or a class-level restriction.

    Findings with magnitude "none" or "unknown" report an absence and are not projected;
    findings whose object is a class (soluble CD38 inhibits every anti-CD38 antibody) are
    fanned out to members by the engine instead, since OWL cannot state them as triples.
    Terms are rdflib's unless ``iri`` and ``blank`` make others (the loader makes Oxigraph's,
    so 100,000 projected findings never pass through rdflib). The findings are read as
    :func:`cd38kg.knowledge.facts.finding_rows` (``rows`` when the caller has them), which the
    facts need too: one SPARQL query asking what the projection needs finding by finding was
    a fifth of loading a million statements on disk.
    """
    if iri is None or blank is None:
        from rdflib import BNode, URIRef

        iri, blank = URIRef, BNode
    rows = finding_rows(curated) if rows is None else rows
    relations = {p for (p,) in select(curated, Q_OBJECT_PROPERTIES)}
    classes = {c for (c,) in select(curated, Q_CLASSES)}
    not_iri = set(select(curated, Q_NOT_IRI))
    sub_class_of, a, restriction_class = iri(RDFS.subClassOf), iri(RDF.type), iri(OWL.Restriction)
    on_property, has_value = iri(OWL.onProperty), iri(OWL.hasValue)
    out: list[tuple[Any, Any, Any]] = []
    projected: set[tuple[str, ...]] = set()
    for finding, subject, predicate, obj, *_, magnitude, _ in rows:
        if (predicate not in relations or magnitude in ABSENT or obj in classes
                or (finding, subject) in not_iri or (finding, obj) in not_iri
                or (finding, subject, predicate, obj) in projected):
            continue
        projected.add((finding, subject, predicate, obj))
        s, p, o = iri(subject), iri(predicate), iri(obj)
        if subject in classes:
            restriction = blank()
            out += [(s, sub_class_of, restriction), (restriction, a, restriction_class),
                    (restriction, on_property, p), (restriction, has_value, o)]
        else:
            out.append((s, p, o))
    return out


def _uri(iri: str) -> object:
    from rdflib import URIRef

    return URIRef(iri)


def write_bundled_inferences() -> Path:
    """Reason over the bundled knowledge base with HermiT alone (every individual) and ship the
    result, with HermiT's classification of its classes for the materialiser."""
    from rdflib import URIRef

    loaded = load([], reason="always")  # the materialiser, cheap; HermiT runs below
    curated, asserted = (loaded.dataset.graph(URIRef(g)) for g in (CURATED_GRAPH, ASSERTED_GRAPH))
    with step("Reasoning with HermiT over the bundled knowledge base"):
        inferred = run_hermit(owl_input(curated, asserted))
    ship_classification(read_tbox(curated, asserted))
    return store_inferences(loaded.inference_key, inferences_ntriples(inferred), bundled_inferences_file())
