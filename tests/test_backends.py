"""Store backends: one compliance test runs the same questions against every backend.

The in-memory store is the reference; the on-disk store (loaded, then reopened) and a real
Oxigraph server (the ``oxigraph`` PyPI package's CLI, started on loopback) must answer
``query``, ``explain``, ``hypotheses`` and ``profile`` exactly as it does, over the bundled
knowledge base plus a small extension; so must a private Virtuoso Open Source (``virtuoso-t``)
when it is installed. Virtuoso's traps are also played by a fake HTTP server.
"""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cd38kg import KnowledgeBase
from cd38kg.errors import Cd38kgError
from cd38kg.interfaces.queries import load_query, query_command, render, run_named
from cd38kg.resources import example_file
from cd38kg.serialize import explain_json, hypotheses_json
from cd38kg.store import BACKENDS, open_store
from cd38kg.store.base import Manifest
from cd38kg.store.disk import DiskStore
from cd38kg.store.memory import MemoryStore
from cd38kg.store.remote import EndpointError, RemoteStore

ROOT = Path(__file__).resolve().parents[1]
EXTENSION = "my_findings.tsv"
#: Named queries with the parameters they are asked with; ``strategies`` reads the derived graph.
QUERIES = {
    "strategies": {"resistance": "CD38 downregulation"},
    "mechanisms-of-action": {},
    "cells-expressing": {},
    "resistance-mechanisms": {},
}
EXPLAIN = [("daratumumab + ATRA", "CD38 downregulation"), ("isatuximab + pomalidomide", "CD38 downregulation")]
HYPOTHESES = ["CD38 downregulation", "complement inhibitor upregulation"]
#: Two drugs linked to each other only: on the server, never fetched, never in an answer.
ISLAND_A = "https://w3id.org/cd38kg/user/island-drug-a"
ISLAND = "".join(f"{line} <https://w3id.org/cd38kg/graph/curated> .\n" for line in (
    f"<{ISLAND_A}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/cd38kg/vocab#Drug>",
    f'<{ISLAND_A}> <http://www.w3.org/2000/01/rdf-schema#label> "island drug A"',
    f"<{ISLAND_A}> <https://w3id.org/cd38kg/vocab#inhibits> <https://w3id.org/cd38kg/user/island-drug-b>",
))


def canonical(csv_text: str) -> list[list[list[str]]]:
    """A CSV result as sorted rows, each cell's parts sorted: SPARQL leaves the order of tied
    rows and of GROUP_CONCAT parts undefined, and Oxigraph's on-disk and in-memory stores
    return them in different orders, so only the rows and the multiset of parts are the answer."""
    import csv
    import io
    import re

    rows = list(csv.reader(io.StringIO(csv_text)))
    return [rows[0], *sorted([sorted(re.split(r"[\s;,()]+", cell)) for cell in row] for row in rows[1:])]


def answers(kb: KnowledgeBase) -> dict[str, object]:
    """Everything the compliance test compares, as plain JSON-able data."""
    dataset = kb.sparql_dataset()
    out: dict[str, object] = {}
    for name, params in QUERIES.items():
        out[f"query {name}"] = canonical(render(run_named(kb, dataset, name, params), "csv"))
    for combination, resistance in EXPLAIN:
        out[f"explain {combination} vs {resistance}"] = explain_json(kb.explain(combination, resistance))
    for resistance in HYPOTHESES:
        found = kb.hypotheses(resistance, top=10)
        out[f"hypotheses {resistance}"] = hypotheses_json(kb.entity(resistance), None, found)
    out["profile"] = kb.profile(example_file("patient-relapsed.yaml")).to_json()
    return out


@pytest.fixture(scope="module")
def extension() -> Path:
    return example_file(EXTENSION)


@pytest.fixture(scope="module")
def reference(cache_home: Path, extension: Path) -> tuple[KnowledgeBase, dict[str, object]]:
    kb = KnowledgeBase.load(extras=[extension], store=MemoryStore())
    return kb, answers(kb)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def nquads_dump(reference: tuple[KnowledgeBase, dict[str, object]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference knowledge base as N-Quads, plus statements no question can reach: what the servers hold."""
    import pyoxigraph

    dump = tmp_path_factory.mktemp("dump") / "kb.nq"
    reference[0].store.oxigraph.dump(str(dump), pyoxigraph.RdfFormat.N_QUADS)
    with dump.open("a", encoding="utf-8") as handle:
        handle.write(ISLAND)
    return dump


def wait_for_endpoint(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Return once ``url`` answers an ASK; fail with the server's log if it exits or takes over a minute."""
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}?query=ASK%7B%7D", timeout=2).read()
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {log.read_text()[-500:]}") from None
            time.sleep(0.2)


def started(command: list[str], folder: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """A server process writing to a log in its folder (a pipe nobody reads could fill and stall it)."""
    log = folder / "server.log"
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=folder, stdout=out, stderr=subprocess.STDOUT), log


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server this test started, by its process, killing it if it will not stop."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def serving(dump: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An Oxigraph server on loopback holding ``dump``, loaded with ``oxigraph load``: its query URL."""
    beside = Path(sys.executable).parent / "oxigraph"
    binary = shutil.which("oxigraph") or (str(beside) if beside.exists() else None)
    if binary is None:
        pytest.skip("the Oxigraph server is not installed (pip install oxigraph; .ci/run installs it)")
    folder = tmp_path_factory.mktemp("oxigraph-server")
    subprocess.run([binary, "load", "--location", str(folder / "db"), "--file", str(dump)], check=True,
                   capture_output=True, timeout=120)
    port = free_port()
    server, log = started([binary, "serve-read-only", "--location", str(folder / "db"), "--bind", f"127.0.0.1:{port}"],
                          folder)
    url = f"http://127.0.0.1:{port}/query"
    try:
        wait_for_endpoint(url, server, log)
        yield url
    finally:
        stop(server)


@pytest.fixture(scope="module")
def oxigraph_server(nquads_dump: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An Oxigraph server holding the reference knowledge base."""
    yield from serving(nquads_dump, tmp_path_factory)


VIRTUOSO_INI = """[Database]
DatabaseFile = {db}/virtuoso.db
LockFile = {db}/virtuoso.lck
TransactionFile = {db}/virtuoso.trx
xa_persistent_file = {db}/virtuoso.pxa
[TempDatabase]
DatabaseFile = {db}/virtuoso-temp.db
TransactionFile = {db}/virtuoso-temp.trx
[Parameters]
ServerPort = 127.0.0.1:{sql}
DisableUnixSocket = 1
DirsAllowed = ., {data}
[HTTPServer]
ServerPort = 127.0.0.1:{http}
ServerThreads = 4
[SPARQL]
ResultSetMaxRows = 10000
MaxQueryExecutionTime = 60
"""


@pytest.fixture(scope="module")
def virtuoso_server(nquads_dump: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private Virtuoso Open Source on loopback holding the same dump, bulk-loaded with ``ld_dir``
    (quads keep their graphs), with the row and time limits of the Debian package's virtuoso.ini."""
    binary = shutil.which("virtuoso-t")
    isql = shutil.which("isql-vt") or shutil.which("isql")
    if binary is None or isql is None:
        pytest.skip("Virtuoso is not installed (apt-get install virtuoso-opensource puts virtuoso-t on PATH)")
    folder = tmp_path_factory.mktemp("virtuoso-server")
    sql, http = free_port(), free_port()
    (folder / "virtuoso.ini").write_text(VIRTUOSO_INI.format(db=folder, data=nquads_dump.parent, sql=sql, http=http))
    server, log = started([binary, "+foreground", "+configfile", str(folder / "virtuoso.ini")], folder)
    url = f"http://127.0.0.1:{http}/sparql"
    try:
        wait_for_endpoint(url, server, log)
        subprocess.run([isql, str(sql), "dba", "dba",
                        f"exec=ld_dir('{nquads_dump.parent}', '*.nq', 'http://ignored'); rdf_loader_run(); checkpoint;"],
                       check=True, capture_output=True, timeout=120)
        count = "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } FILTER(STRSTARTS(STR(?g), 'https://w3id.org/cd38kg/')) }"
        loaded, dumped = int(RemoteStore(url).select(count)[0]["n"]), nquads_dump.read_text().count("\n")
        if loaded != dumped:
            raise RuntimeError(f"Virtuoso loaded {loaded} of the dump's {dumped} quads: {log.read_text()[-500:]}")
        yield url
    finally:
        stop(server)


def disk_reopened(tmp_path: Path, extension: Path) -> KnowledgeBase:
    KnowledgeBase.load(extras=[extension], store=DiskStore(str(tmp_path / "store")))
    kb = KnowledgeBase.load(extras=[extension], store=DiskStore(str(tmp_path / "store")))
    assert not kb._loaded.reasoned_now
    return kb


#: Servers the endpoint backend is tested against, by the fixture that starts each.
SERVERS = {"oxigraph": "oxigraph_server", "virtuoso": "virtuoso_server"}


@pytest.mark.parametrize("backend", ["disk", *SERVERS])
def test_every_backend_answers_as_the_in_memory_one(backend: str, reference, extension: Path, tmp_path: Path,
                                                    request: pytest.FixtureRequest) -> None:
    """The compliance test: same questions, same answers, whichever store holds the knowledge base."""
    if backend == "disk":
        kb = disk_reopened(tmp_path, extension)
    else:
        kb = KnowledgeBase.load(store=RemoteStore(request.getfixturevalue(SERVERS[backend])))
    expected = reference[1]
    got = answers(kb)
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == expected[key], f"{backend}: {key} differs from the in-memory backend"


@pytest.mark.parametrize("server", SERVERS)
def test_the_endpoint_backend_fetches_a_bounded_neighbourhood(server: str, reference,
                                                              request: pytest.FixtureRequest) -> None:
    """Only the nodes the questions can reach come over, not the whole remote graph."""
    import pyoxigraph

    url = request.getfixturevalue(SERVERS[server])
    remote = RemoteStore(url)
    manifest = remote.holding("")
    island = pyoxigraph.NamedNode(ISLAND_A)
    assert not list(remote.oxigraph.quads_for_pattern(island, None, None, None))
    # the server has it (asked with SELECT: Virtuoso answers ASK in JSON as a one-column table, not a boolean)
    assert remote.select(f"SELECT ?p {{ GRAPH ?g {{ <{ISLAND_A}> ?p ?o }} }}")
    assert 0 < len(remote.oxigraph) <= len(reference[0].store.oxigraph)
    assert remote.holding("") is manifest  # fetched once per process


#: Partners asked with every resistance mechanism over a question's own fetch.
FOCUSED_COMBINATIONS = ["daratumumab + ATRA", "isatuximab + pomalidomide", "daratumumab + lenalidomide"]


@pytest.mark.parametrize("server", SERVERS)
def test_explain_over_a_fetch_for_its_question_answers_as_over_the_whole_graph(
        server: str, reference, request: pytest.FixtureRequest) -> None:
    """``explain`` over an endpoint fetches only its question's forward neighbourhood: for every
    resistance mechanism and several combinations the answer is the in-memory backend's, from
    fewer quads than the fetch for every question."""
    url = request.getfixturevalue(SERVERS[server])
    kb = reference[0]
    whole = len(RemoteStore(url).oxigraph)
    for resistance in sorted(kb.facts.label(r) for r in kb.engine().resistances):
        for combination in FOCUSED_COMBINATIONS:
            store = RemoteStore(url, focus=[*combination.split(" + "), resistance])
            focused = KnowledgeBase.load(store=store)
            assert explain_json(focused.explain(combination, resistance)) == \
                explain_json(kb.explain(combination, resistance)), f"{server}: {combination} vs {resistance}"
            assert len(store.oxigraph) < whole


@pytest.fixture(scope="module")
def generated(cache_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KnowledgeBase, str]]:
    """The knowledge base + a generated 2,000-statement extension (new drugs with classes, molecules
    in cell contexts, hubs, findings of no effect), in memory and on an Oxigraph server."""
    import importlib.util

    import pyoxigraph

    spec = importlib.util.spec_from_file_location("generate_extension", ROOT / "benchmarks" / "generate_extension.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)  # type: ignore[union-attr]
    folder = tmp_path_factory.mktemp("generated")
    kb = KnowledgeBase.load(extras=[generator.write(2000, folder / "generated.tsv", seed=11)], store=MemoryStore())
    kb.store.oxigraph.dump(str(folder / "kb.nq"), pyoxigraph.RdfFormat.N_QUADS)
    for url in serving(folder / "kb.nq", tmp_path_factory):
        yield kb, url


def test_explain_over_a_question_fetch_agrees_on_a_generated_extension(generated) -> None:
    """Synthetic drugs reach the mechanisms through class-level findings, molecules' cell contexts
    and hubs: for every resistance mechanism, the two best-ranked partners and two fixed synthetic
    drugs are explained over their own fetch exactly as over the whole graph."""
    kb, url = generated
    engine = kb.engine()
    synthetic = sorted(kb.facts.label(a) for a in engine.agents - engine.antibodies if "/user/" in a)[:2]
    assert len(synthetic) == 2
    asked = 0
    for iri in sorted(engine.resistances):
        resistance = kb.facts.label(iri)
        ranked = kb.hypotheses(resistance, top=2)
        for partner in [h.partner.label for h in ranked if h.kind == "combination"] + synthetic:
            combination = f"daratumumab + {partner}"
            try:
                expected = explain_json(kb.explain(combination, resistance))
            except Cd38kgError as err:
                expected = str(err)
            focused = KnowledgeBase.load(store=RemoteStore(url, focus=["daratumumab", partner, resistance]))
            try:
                got = explain_json(focused.explain(combination, resistance))
            except Cd38kgError as err:
                got = str(err)
            assert got == expected, f"{combination} vs {resistance}"
            asked += 1
    assert asked >= 40


def test_a_fetch_for_one_question_answers_no_other(oxigraph_server: str) -> None:
    """Anything wider than its question would be answered from part of the graph: refused."""
    kb = KnowledgeBase.load(store=RemoteStore(oxigraph_server, focus=["daratumumab", "ATRA", "CD38 downregulation"]))
    assert kb.explain("daratumumab + ATRA", "CD38 downregulation").verdict
    with pytest.raises(Cd38kgError, match="neighbourhood of daratumumab \\+ ATRA"):
        kb.explain("daratumumab + lenalidomide", "CD38 downregulation")
    with pytest.raises(Cd38kgError, match="ranking hypotheses needs more of"):
        kb.hypotheses("CD38 downregulation")


def test_explain_on_the_command_line_fetches_for_its_question(oxigraph_server: str, reference, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The command fetches for the names it is given, as far as the weights' paths reach."""
    from click.testing import CliRunner

    from cd38kg.interfaces.cli import cli

    fetched_for: list[tuple[tuple[str, ...], int]] = []
    real = RemoteStore.holding

    def holding(self: RemoteStore, key: str):  # noqa: ANN202
        fetched_for.append((self.focus, self.hops))
        return real(self, key)

    monkeypatch.setattr(RemoteStore, "holding", holding)
    asked = ["--endpoint", oxigraph_server, "explain", "-c", "daratumumab + ATRA", "-r", "CD38 downregulation",
             "--format", "json"]
    done = CliRunner().invoke(cli, asked)
    assert done.exit_code == 0, done.output
    assert set(fetched_for) == {(("daratumumab", "ATRA", "CD38 downregulation"), 5)}
    expected = explain_json(reference[0].explain("daratumumab + ATRA", "CD38 downregulation"))
    assert json.loads(done.stdout) == json.loads(json.dumps(expected))
    weights = tmp_path / "weights.json"
    weights.write_text('{"max_path_length": 6}')
    fetched_for.clear()
    assert CliRunner().invoke(cli, [*asked, "--weights", str(weights)]).exit_code == 0
    assert {hops for _, hops in fetched_for} == {6}


#: Named queries the server runs itself (they read no derived strategies), with parameters
#: beside their defaults: a class, a molecule, drugs, a resistance mechanism, a literal value.
SERVER_QUERIES = [
    ("class-members", ["class=proteasome inhibitor"]),
    ("cells-expressing", ["molecule=NKG2A"]),
    ("clinical-evidence", ["drug=isatuximab"]),
    ("drug-effects-on-cells", ["drug=pomalidomide"]),
    ("evidence-for", ["entity=NK cell depletion"]),
    ("mechanisms-of-action", ["antibody=isatuximab"]),
    ("ongoing-trials", ["status=reported"]),
    ("resistance-mechanisms", ["resistance=CD38 downregulation"]),
]


@pytest.mark.parametrize("server", SERVERS)
def test_named_queries_run_on_the_server_answer_as_in_memory_over_the_same_data(
        server: str, reference, nquads_dump: Path, tmp_path: Path, request: pytest.FixtureRequest,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A named query that reads no derived strategies runs on the Oxigraph server, over
    everything it holds (the island drug no question reaches included), and answers as the
    in-memory engine does over the same quads; only the entities its parameters name come over,
    never a neighbourhood. Virtuoso's own answers are wrong for several of these queries, so
    there they run locally, over the fetched neighbourhood, with the same answers."""
    import pyoxigraph

    from cd38kg.interfaces.queries import bind, execute, list_queries, reads_derived
    from cd38kg.store import remote

    url = request.getfixturevalue(SERVERS[server])
    same_data = pyoxigraph.Store()
    same_data.bulk_load(path=str(nquads_dump), format=pyoxigraph.RdfFormat.N_QUADS)
    kb = reference[0]

    neighbourhoods: list[object] = []

    def whole(*args: object) -> None:
        neighbourhoods.append(args)
        real(*args)

    real = remote.fetch_for_every_question
    monkeypatch.setattr(remote, "fetch_for_every_question", whole)
    asked = [(q.name, []) for q in list_queries() if not reads_derived(q.text)] + SERVER_QUERIES
    assert len(asked) >= 16
    for name, params in asked:
        got = query_command(name, params, "csv", store=RemoteStore(url))
        values = dict(param.split("=", 1) for param in params)
        expected = render(execute(same_data, bind(load_query(name), kb, values)), "csv")
        assert canonical(got) == canonical(expected), f"{server}: query {name} {params}"
        assert len(canonical(got)) > 1, f"{server}: {name} {params} found nothing"
    assert len(neighbourhoods) == (0 if server == "oxigraph" else len(asked))
    with pytest.raises(Cd38kgError, match="Did you mean: 'proteasome inhibitor'"):
        query_command("class-members", ["class=proteasom inhibitor"], "csv", store=RemoteStore(url))
    own = {  # a user's own .rq files: both answers of ASK, a CONSTRUCT
        "yes.rq": "ASK { ?x a cd38:AntiCD38Antibody ; rdfs:label ?l }",
        "no.rq": "ASK { ?x a cd38:AntiCD38Antibody ; rdfs:label 'no such antibody' }",
        "graph.rq": "CONSTRUCT { ?x rdfs:label ?l } WHERE { ?x a cd38:AntiCD38Antibody ; rdfs:label ?l }",
    }
    for file, text in own.items():
        (tmp_path / file).write_text(text)
        got = query_command(str(tmp_path / file), [], "tsv" if file == "graph.rq" else "json", store=RemoteStore(url))
        expected = render(execute(same_data, text), "tsv" if file == "graph.rq" else "json")
        assert sorted(got.splitlines()) == sorted(expected.splitlines()), f"{server}: {file}"
    assert '"boolean": true' in query_command(str(tmp_path / "yes.rq"), [], "json", store=RemoteStore(url))


def test_a_query_on_the_command_line_runs_on_the_server(oxigraph_server: str, reference) -> None:
    """``cd38kg --endpoint URL query``: the server's rows as W3C JSON; a misspelt parameter is a
    one-line user error (exit 2) naming what was meant."""
    cli = [sys.executable, "-m", "cd38kg.interfaces.cli", "--endpoint", oxigraph_server, "query", "class-members"]
    done = subprocess.run([*cli, "--param", "class=proteasome inhibitor", "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    members = {row["memberLabel"]["value"] for row in json.loads(done.stdout)["results"]["bindings"]}
    kb = reference[0]
    assert members == set(run_named(kb, kb.sparql_dataset(), "class-members", {"class": "proteasome inhibitor"})
                          .column("memberLabel")) == {"bortezomib", "carfilzomib"}
    done = subprocess.run([*cli, "--param", "class=proteasom inhibitor"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "Did you mean: 'proteasome inhibitor'" in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.fixture(scope="module")
def unrelated_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An Oxigraph server holding someone else's data, in a graph of their own."""
    folder = tmp_path_factory.mktemp("unrelated")
    (folder / "other.nq").write_text('<http://example.org/a> <http://www.w3.org/2000/01/rdf-schema#label> '
                                     '"daratumumab" <http://example.org/graph> .\n')
    yield from serving(folder / "other.nq", tmp_path_factory)


@pytest.mark.parametrize("command", [["query", "conflicts"], ["explain", "-c", "daratumumab + ATRA", "-r", "CD38 loss"],
                                     ["hypotheses", "-r", "CD38 downregulation"]])
def test_a_server_without_a_knowledge_base_is_a_one_line_error(unrelated_server: str, command: list[str]) -> None:
    """Not "0 rows" or "unknown agent": the server holds no cd38kg knowledge base at all."""
    done = subprocess.run([sys.executable, "-m", "cd38kg.interfaces.cli", "--endpoint", unrelated_server, *command],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "holds no cd38kg knowledge base" in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_copy_holding_only_named_entities_answers_no_question(oxigraph_server: str) -> None:
    """The copy fetched to resolve a query's parameters would answer any question from a few
    entities as if they were the whole graph: refused."""
    kb = KnowledgeBase.load(store=RemoteStore(oxigraph_server).naming(["daratumumab", "CD38 downregulation"]))
    assert kb.entity("daratumumab").label == "daratumumab"
    with pytest.raises(Cd38kgError, match="holds the entities named daratumumab"):
        kb.explain("daratumumab + ATRA", "CD38 downregulation")
    with pytest.raises(Cd38kgError, match="ranking hypotheses needs more of"):
        kb.hypotheses("CD38 downregulation")


def test_a_real_virtuoso_row_cap_becomes_a_one_line_error(virtuoso_server: str) -> None:
    """The cap the fake endpoint plays, from Virtuoso itself: a client-lowered ``maxrows`` trips it."""
    with pytest.raises(EndpointError, match="cut the answer at 50 rows"):
        RemoteStore(f"{virtuoso_server}?maxrows=50").holding("")


def test_a_disk_store_is_reused_only_for_the_same_inputs(cache_home: Path, extension: Path, tmp_path: Path) -> None:
    import gc

    directory = str(tmp_path / "store")
    first = KnowledgeBase.load(extras=[extension], store=DiskStore(directory))
    manifest, entities = first._loaded.manifest, len(first.facts.entities)
    del first
    gc.collect()  # a store open for writing is locked, even against this process
    reopened = DiskStore(directory)
    assert reopened.holding(manifest.key) == manifest
    assert reopened.holding("other inputs") is None
    del reopened
    gc.collect()
    bundled_only = KnowledgeBase.load(store=DiskStore(directory))  # other inputs: loaded again
    assert len(bundled_only.facts.entities) < entities
    assert Manifest.from_text((tmp_path / "store" / "cd38kg-store.json").read_text()).extras == []


def test_a_store_whose_manifest_an_earlier_cd38kg_wrote_is_loaded_again(cache_home: Path, tmp_path: Path) -> None:
    """Manifests were one JSON document before they listed the new entities line by line: such
    a store is read as holding other inputs, not refused as damaged."""
    import dataclasses

    directory = tmp_path / "store"
    directory.mkdir()
    old = Manifest(key="an earlier key", extras=["old.tsv"], new_entities=["https://example.org/x"], notes=["a\nnote"])
    (directory / "cd38kg-store.json").write_text(json.dumps(dataclasses.asdict(old), indent=1))
    assert DiskStore(str(directory))._manifest() == old
    kb = KnowledgeBase.load(store=DiskStore(str(directory)))
    assert Manifest.from_text((directory / "cd38kg-store.json").read_text()) == kb._loaded.manifest


def test_a_query_joining_derived_strategies_leaves_the_disk_store_as_it_was(cache_home: Path, tmp_path: Path) -> None:
    """The derived graph goes into a checkpoint of the read-only store (hard links, no copy),
    removed when the command ends; the answer is the in-memory one."""
    import os

    import pyoxigraph

    directory = tmp_path / "store"
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}

    def cli(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "cd38kg.interfaces.cli", *args],
                              capture_output=True, text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout

    cli("--store", str(directory), "info", "--format", "json")
    before = len(pyoxigraph.Store.read_only(str(directory / "oxigraph")))
    asked = ("query", "strategies", "--param", "resistance=complement inhibitor upregulation", "--format", "csv")
    on_disk = cli("--store", str(directory), *asked)
    assert canonical(on_disk) == canonical(cli(*asked))
    assert "ATRA" in on_disk
    assert sorted(p.name for p in directory.iterdir()) == ["cd38kg-store.json", "oxigraph"], "no checkpoint left"
    assert len(pyoxigraph.Store.read_only(str(directory / "oxigraph"))) == before


def test_wrong_store_directories_are_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(Cd38kgError, match="not a cd38kg store"):
        DiskStore(str(tmp_path))
    with pytest.raises(Cd38kgError, match="not a directory"):
        DiskStore(str(tmp_path / "notes.txt"))
    with pytest.raises(Cd38kgError, match="either --store DIR or --endpoint URL"):
        open_store(str(tmp_path), "http://127.0.0.1:1/sparql")


def test_the_backend_is_chosen_by_name_or_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(BACKENDS) == {"memory", "disk", "remote"}
    assert open_store().name == "memory"
    assert open_store(str(tmp_path / "s")).name == "disk"
    monkeypatch.setenv("CD38KG_ENDPOINT", "http://127.0.0.1:1/sparql")
    assert open_store().name == "remote"
    monkeypatch.delenv("CD38KG_ENDPOINT")
    monkeypatch.setenv("CD38KG_STORE", "floppy")
    with pytest.raises(Cd38kgError, match="CD38KG_STORE"):
        open_store()


# -- what is computed, and when -------------------------------------------------------------


def test_cached_runs_do_not_read_an_unchanged_extension_again(cache_home: Path, extension: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    first = KnowledgeBase.load(extras=[extension])

    def unexpected(*args: object) -> None:
        raise AssertionError("the extension was parsed again")

    monkeypatch.setattr("cd38kg.knowledge.loader.read_extension", unexpected)
    again = KnowledgeBase.load(extras=[extension])
    assert again.new_entities == first.new_entities and again.import_notes == first.import_notes
    assert len(again.dataset) == len(first.dataset)


def test_derived_strategies_are_computed_once_and_only_for_queries_that_read_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    import cd38kg.engine.hypotheses as hypotheses

    real = hypotheses.strategy_triples
    monkeypatch.setattr(hypotheses, "strategy_triples", lambda kb, **kw: calls.append(1) or real(kb, **kw))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    query_command("cells-expressing", [], "csv")
    assert calls == []
    first = query_command("strategies", [], "csv")
    assert calls == [1]
    assert query_command("strategies", [], "csv") == first
    assert calls == [1]  # the second run read the cache


# -- endpoints that fail, and servers that lie ------------------------------------------


class FakeEndpoint(http.server.BaseHTTPRequestHandler):
    """Answers every request with the class attributes (status, headers, body)."""

    status = 200
    headers_out: dict[str, str] = {}
    body = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(self.status)
        for name, value in self.headers_out.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_endpoint() -> Iterator[Callable[[int, dict[str, str], bytes], str]]:
    servers: list[http.server.HTTPServer] = []

    def start(status: int, headers: dict[str, str], body: bytes) -> str:
        handler = type("Handler", (FakeEndpoint,), {"status": status, "headers_out": headers, "body": body})
        server = http.server.HTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/sparql"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


JSON = {"Content-Type": "application/sparql-results+json"}


def rows(count: int) -> bytes:
    return json.dumps({"head": {"vars": ["x"]}, "results": {"bindings": [
        {"x": {"type": "uri", "value": f"http://example.org/{i}"}} for i in range(count)]}}).encode()


@pytest.mark.parametrize(("status", "headers", "body", "message"), [
    (200, {**JSON, "X-SPARQL-MaxRows": "3"}, rows(3), "cut the answer at 3 rows"),
    (200, {**JSON, "X-SQL-State": "S1TAT"}, rows(1), "stopped the query at its time limit"),
    (500, {"Content-Type": "text/plain"}, b"Virtuoso 42000 Error SR186: No permission to execute procedure", "refused"),
    (200, JSON, b'{"head":{"vars":["x"]},"results":{"bindings":[{"x":\nQuery evaluation timed out', "broke off its answer"),
    (200, {"Content-Type": "text/html"}, b"<html>welcome</html>", "does not answer like a SPARQL endpoint"),
    (404, {"Content-Type": "text/plain"}, b"Not Found", "answered HTTP 404"),
], ids=["virtuoso-row-cap", "virtuoso-timeout", "virtuoso-refused", "oxigraph-cancelled", "not-sparql", "not-found"])
def test_endpoint_traps_become_one_line_errors(fake_endpoint, status: int, headers: dict[str, str], body: bytes,
                                                message: str) -> None:
    store = RemoteStore(fake_endpoint(status, headers, body))
    with pytest.raises(EndpointError, match=message) as caught:
        store.holding("")
    assert "\n" not in str(caught.value)


def test_a_graph_answer_at_the_row_cap_is_refused(fake_endpoint) -> None:
    """Virtuoso caps CONSTRUCT answers at ResultSetMaxRows triples as silently as SELECT rows."""
    triples = b"".join(b"<http://example.org/%d> <http://example.org/p> <http://example.org/o> .\n" % i for i in range(3))
    url = fake_endpoint(200, {"Content-Type": "application/n-triples", "X-SPARQL-MaxRows": "3"}, triples)
    with pytest.raises(EndpointError, match="cut the answer at 3 rows"):
        RemoteStore(url).triples("CONSTRUCT WHERE { ?s ?p ?o }", (), 5.0)
    url = fake_endpoint(200, {"Content-Type": "text/html"}, b"<html>welcome</html>")
    with pytest.raises(EndpointError, match="sent text/html for a graph query"):
        RemoteStore(url).triples("CONSTRUCT WHERE { ?s ?p ?o }", (), 5.0)


class TricklingEndpoint(FakeEndpoint):
    """Starts a SPARQL JSON answer at once, then sends a byte every 0.1 s for a minute: every
    read is quick, the answer never ends."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.end_headers()
        self.wfile.write(b'{"head":{"vars":["x"]},"results":{"bindings":[')
        for _ in range(600):
            try:
                self.wfile.write(b" ")
                self.wfile.flush()
            except OSError:
                return
            time.sleep(0.1)


def test_an_answer_that_never_ends_is_stopped_at_the_timeout() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TricklingEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        with pytest.raises(EndpointError, match="did not answer within 1 s"):
            RemoteStore(f"http://127.0.0.1:{server.server_address[1]}/sparql").solutions("SELECT ?x {}", (), 1.0)
        assert time.monotonic() - started < 5
    finally:
        server.shutdown()
        server.server_close()


def test_a_row_count_under_the_cap_is_accepted(fake_endpoint) -> None:
    store = RemoteStore(fake_endpoint(200, {**JSON, "X-SPARQL-MaxRows": "10000"}, rows(2)))
    assert [row["x"] for row in store.select("SELECT ?x {}")] == ["http://example.org/0", "http://example.org/1"]


@pytest.mark.parametrize(("args", "message"), [
    (["--endpoint", "http://127.0.0.1:{closed}/sparql", "info"], "cannot reach the SPARQL endpoint"),
    (["--endpoint", "ftp://example.org/sparql", "info"], "http:// or https://"),
    (["--endpoint", "http://127.0.0.1:1/sparql", "info", "--extra", EXTENSION], "--extra cannot be used with --endpoint"),
    (["--store", "{file}", "info"], "not a directory"),
])
def test_bad_backends_on_the_command_line_fail_in_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    file = tmp_path / "a-file"
    file.write_text("x")
    args = [a.format(closed=free_port(), file=file) for a in args]
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "cd38kg.interfaces.cli", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - started < 30


def test_named_queries_declare_whether_they_read_the_derived_graph() -> None:
    from cd38kg.interfaces.queries import reads_derived

    assert reads_derived(load_query("strategies").text)
    assert not reads_derived(load_query("cells-expressing").text)
