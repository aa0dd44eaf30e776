"""Bad input gives one clear line naming what is wrong and where, a non-zero exit, no traceback.

Each case feeds a purpose-built file from tests/fixtures/bad (or one written on the fly) to
the real loader, validator and command line. Parsing fails before the reasoner would run,
so these tests start Java only for the one that proves nothing is fetched.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cd38kg.errors import Cd38kgError, InputFileError
from cd38kg.knowledge.loader import load
from cd38kg.knowledge.validate import validate
from cd38kg.store import new_graph, parse_into

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "fixtures" / "bad"
REVIEW = "10.7150/ijbs.68148"


def line_of(path: Path, text: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def run_cli(*args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    return subprocess.run([sys.executable, "-m", "cd38kg.interfaces.cli", *args], capture_output=True, text=True,
                          env=env, timeout=300, cwd=ROOT)



@pytest.fixture
def secret_rdfxml(tmp_path):
    """RDF/XML whose <!ENTITY> would pull a local file's content into a label if expanded."""
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-MARKER-7f3a", encoding="utf-8")
    text = (BAD / "entities.rdf").read_text(encoding="utf-8").replace("file:///etc/hostname", secret.as_uri())
    return text, "SECRET-MARKER-7f3a"


# -- one problem, naming file and line -------------------------------------------------------

# (fixture, words the message must contain, text on the line it must point to; None: no line)
CASES = [
    ("malformed.ttl", ["bad turtle syntax"], "kb:user-b rdfs:label ."),
    ("unknown_prefix.ttl", ["bad turtle syntax", "skos:"], "skos:altLabel"),
    ("entities.rdf", ["RDF/XML is not accepted", "convert the file to Turtle"], None),
    ("context.jsonld", ["JSON-LD is not accepted"], None),
    ("bad_header.tsv", ["header must start with 'subject<TAB>predicate<TAB>object<TAB>source'", "subject|verb"],
     "subject\tverb"),
    ("unknown_predicate.tsv", ["unknown predicate 'obliterates'", "depletes"], "obliterates"),
    ("unknown_name.tsv", ["unknown subject 'daratumumap'", "did you mean 'daratumumab'"], "daratumumap"),
    ("column_count.tsv", ["7 columns but the header has 5"], "\textra\t"),
]


@pytest.mark.parametrize(("name", "words", "line_text"), CASES, ids=[c[0] for c in CASES])
def test_bad_file_is_one_located_problem(name, words, line_text):
    path = BAD / name
    report = validate([path])
    assert len(report.problems) == 1, report.problems
    problem = report.problems[0]
    for word in words:
        assert word in problem.message
    assert Path(problem.file).resolve() == path.resolve()
    assert problem.line == (line_of(path, line_text) if line_text else None)
    assert "\n" not in str(problem)
    assert report.consistent is None
    assert not report.ok


def test_missing_file(tmp_path):
    path = tmp_path / "absent.ttl"
    report = validate([path])
    assert [str(p) for p in report.problems] == [f"{path}: no such file"]


def test_directory_instead_of_file(tmp_path):
    path = tmp_path / "folder.ttl"
    path.mkdir()
    report = validate([path])
    assert [str(p) for p in report.problems] == [f"{path}: is a directory, not a file"]


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin1.ttl"
    path.write_bytes('@prefix kb: <https://w3id.org/cd38kg/kb/> .\nkb:x kb:p "café" .\n'.encode("latin-1"))
    report = validate([path])
    assert len(report.problems) == 1
    assert "not UTF-8" in report.problems[0].message
    assert report.problems[0].file == str(path)


def test_unreadable_file(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can read a file without read permission")
    path = tmp_path / "locked.ttl"
    path.write_text("", encoding="utf-8")
    path.chmod(0)
    report = validate([path])
    assert [str(p) for p in report.problems] == [f"{path}: permission denied"]


# -- RDF/XML and JSON-LD are refused, entities are never expanded -----------------------------


def test_rdfxml_with_entity_declaration_is_refused_by_the_store(secret_rdfxml, tmp_path):
    text, secret = secret_rdfxml
    path = tmp_path / "entities.rdf"
    path.write_text(text, encoding="utf-8")
    graph = new_graph()
    with pytest.raises(InputFileError) as caught:
        parse_into(graph, path)
    assert "RDF/XML is not accepted" in str(caught.value)
    assert secret not in str(caught.value)
    assert len(graph) == 0


def test_rdfxml_is_refused_by_the_loader(secret_rdfxml, tmp_path):
    text, secret = secret_rdfxml
    path = tmp_path / "entities.owl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(Cd38kgError) as caught:
        load([path], reason="never")
    assert str(path) in str(caught.value)
    assert secret not in str(caught.value)


def test_rdfxml_disguised_as_turtle_is_a_syntax_error_not_an_expansion(secret_rdfxml, tmp_path):
    text, secret = secret_rdfxml
    path = tmp_path / "disguised.ttl"
    path.write_text(text, encoding="utf-8")
    report = validate([path])
    assert len(report.problems) == 1
    assert "bad turtle syntax" in report.problems[0].message
    assert report.problems[0].line is not None
    assert secret not in str(report.problems[0])


# -- the command line: one line, non-zero exit, no traceback ---------------------------------


@pytest.mark.parametrize("name", ["malformed.ttl", "entities.rdf", "unknown_name.tsv"])
def test_cli_validate_bad_file(name, cache_home):
    path = BAD / name
    result = run_cli("validate", "--extra", str(path), cache=cache_home)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    out = result.stdout.strip().splitlines()
    err = result.stderr.strip().splitlines()
    assert len(out) == 1 and out[0].startswith(f"{path}:")
    assert len(err) == 1 and err[0].startswith("error: ") and str(path) in err[0]


@pytest.mark.parametrize(("name", "words"), [
    ("malformed.ttl", ["bad turtle syntax"]),
    ("unknown_prefix.ttl", ["skos:"]),
    ("entities.rdf", [".rdf"]),
    ("unknown_predicate.tsv", ["unknown predicate 'obliterates'"]),
])
def test_cli_other_commands_report_bad_extra_in_one_line(name, words, cache_home):
    path = BAD / name
    result = run_cli("info", "--extra", str(path), cache=cache_home)
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    err = result.stderr.strip().splitlines()
    assert len(err) == 1, result.stderr
    assert err[0].startswith(f"error: {path}")
    for word in words:
        assert word in err[0]


def test_cli_missing_extra_file(tmp_path, cache_home):
    path = tmp_path / "nowhere.tsv"
    result = run_cli("validate", "--extra", str(path), cache=cache_home)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.strip() == f"{path}: no such file"


# -- loading a user file never fetches a URL -------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        type(self).requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/turtle")
        self.end_headers()
        self.wfile.write(b"<https://w3id.org/cd38kg/kb/fetched> <http://www.w3.org/2000/01/rdf-schema#label> \"x\" .\n")

    def log_message(self, *args) -> None:
        pass


def test_user_files_never_fetch_urls(tmp_path, cache_home):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    _Recorder.requests = []
    try:
        turtle = tmp_path / "imports.ttl"
        turtle.write_text(
            "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
            "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
            "@prefix kb: <https://w3id.org/cd38kg/kb/> .\n"
            f"<{base}/ext> a owl:Ontology ; owl:imports <{base}/imported.ttl> .\n"
            f"kb:user-remote rdfs:label \"remote note\" ; rdfs:seeAlso <{base}/see-also> ; "
            f"rdfs:isDefinedBy <{base}/defined-by> .\n",
            encoding="utf-8",
        )
        tsv = tmp_path / "remote_source.tsv"
        tsv.write_text("subject\tpredicate\tobject\tsource\n"
                       f"daratumumab\tdepletes\tNK cells\t{base}/paper\n", encoding="utf-8")
        report = validate([turtle, tsv])
    finally:
        server.shutdown()
        server.server_close()
    assert report.ok, [str(p) for p in report.problems]
    assert report.consistent is True  # HermiT ran on the extension, imports and all
    assert _Recorder.requests == []


# -- what people's tools write is accepted; what no name needs is refused quickly ------------


def test_excel_tsv_with_bom_and_crlf_is_read(kb, tmp_path):
    from cd38kg.knowledge.extend import read_tsv_extension

    path = tmp_path / "excel.tsv"
    path.write_bytes("\ufeffsubject\tpredicate\tobject\tsource\r\ndaratumumab\tdepletes\tNK cells\tuser: excel\r\n"
                     .encode("utf-8"))
    extension = read_tsv_extension(path, kb.names, kb.facts.relations, kb.facts.classes)
    objects = {str(o) for _, p, o in extension.triples if str(p).endswith("#object")}
    assert objects == {kb.entity("NK cells").iri}


def test_very_long_names_are_refused_before_matching(kb):
    import time

    from cd38kg.errors import NameTooLongError, UnknownEntityError

    started = time.monotonic()
    with pytest.raises(NameTooLongError):
        kb.entity("d" * 100_000)
    with pytest.raises(UnknownEntityError):  # the longest allowed name is looked up and compared quickly
        kb.entity("daratumumab " * 41)
    assert time.monotonic() - started < 2
    with pytest.raises(UnknownEntityError) as caught:
        kb.entity("daratumumap")
    assert "daratumumab" in str(caught.value)
