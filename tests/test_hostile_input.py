"""Hostile and malformed input to the command line: one line on stderr, exit 2, bounded time and
memory, nothing fetched.

Every case runs the real ``cd38kg`` in its own process under an address-space limit
(``RLIMIT_AS``), with every proxy variable pointing at a loopback listener that records any
connection, and is measured with ``wait4`` (CPU seconds, peak resident memory). The small
purpose-built files are in ``tests/fixtures/hostile``; the large ones (a 100,000-character name,
YAML nested 50,000 deep, files over the size cap) are written on the fly. The inference cache is
warmed once, so no case starts Java; the cases run two at a time.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "tests" / "fixtures" / "hostile"
BAD = ROOT / "tests" / "fixtures" / "bad"
MEMORY_LIMIT = 1536 * 2**20  # address space, bytes: far above a normal run (~100 MB resident)
PEAK_RSS_MB = 400  # what a case may actually use
CPU_SECONDS = 15.0
WALL_SECONDS = 60.0
LONG_NAME = "d" * 100_000


@dataclass
class Case:
    """One command line (``{tmp}`` stands for a scratch folder), the exit code and words it must give."""

    id: str
    args: list[str]
    words: list[str]
    code: int = 2
    env: dict[str, str] | None = None


def fixture(name: str) -> str:
    return str(HOSTILE / name)


CASES = [
    # -- TSV extension files ------------------------------------------------------------------
    Case("tsv-field-over-csv-limit", ["info", "--extra", "{tmp}/big_field.tsv"], ["big_field.tsv:2", "field larger"]),
    Case("tsv-100k-name", ["info", "--extra", "{tmp}/long_name.tsv"], ["long_name.tsv:2", "too long"]),
    Case("tsv-nul-byte", ["info", "--extra", fixture("nul.tsv")], ["nul.tsv", "NUL"]),
    Case("tsv-excel-bom-crlf-reaches-row-2", ["info", "--extra", fixture("excel_bad_predicate.tsv")],
         ["excel_bad_predicate.tsv:2", "unknown predicate 'obliterates'"]),
    Case("tsv-open-quote", ["info", "--extra", fixture("open_quote.tsv")], ["open_quote.tsv:2"]),
    Case("tsv-unknown-evidence", ["info", "--extra", fixture("unknown_evidence.tsv")],
         ["unknown_evidence.tsv:2", "unknown evidence level 'anecdote'"]),
    Case("tsv-unknown-magnitude", ["info", "--extra", fixture("unknown_magnitude.tsv")], ["unknown magnitude 'enormous'"]),
    Case("tsv-empty-source", ["info", "--extra", fixture("empty_source.tsv")], ["empty_source.tsv:2", "empty source"]),
    Case("tsv-is-a-individual", ["info", "--extra", fixture("is_a_individual.tsv")], ["is_a needs a class"]),
    Case("tsv-unknown-column", ["info", "--extra", fixture("unknown_column.tsv")], ["unknown column 'colour'"]),
    Case("tsv-header-10k-columns", ["info", "--extra", "{tmp}/wide_header.tsv"], ["wide_header.tsv:1", "unknown column"]),
    Case("tsv-empty-file", ["info", "--extra", "{tmp}/empty.tsv"], ["empty.tsv", "empty file"]),
    Case("tsv-binary", ["info", "--extra", "{tmp}/random.tsv"], ["random.tsv", "not UTF-8"]),
    Case("tsv-over-size-cap", ["info", "--extra", "{tmp}/two_mb.tsv"], ["two_mb.tsv", "larger than 1 MB"],
         env={"CD38KG_MAX_INPUT_MB": "1"}),
    Case("tsv-unknown-name", ["info", "--extra", str(BAD / "unknown_name.tsv")], ["did you mean 'daratumumab'"]),
    Case("tsv-header-only-adds-nothing", ["info", "--format", "json", "--extra", fixture("header_only.tsv")],
         ["no new statements"], code=0),
    # -- Turtle extension files ---------------------------------------------------------------
    Case("ttl-malformed", ["info", "--extra", str(BAD / "malformed.ttl")], ["malformed.ttl:", "bad turtle syntax"]),
    Case("ttl-unknown-prefix", ["info", "--extra", str(BAD / "unknown_prefix.ttl")], ["bad turtle syntax", "skos:"]),
    Case("ttl-50k-unclosed-brackets", ["info", "--extra", "{tmp}/unclosed.ttl"], ["unclosed.ttl:", "bad turtle syntax"]),
    Case("ttl-50k-unclosed-lists", ["info", "--extra", "{tmp}/unclosed_lists.ttl"], ["unclosed_lists.ttl:", "bad turtle"]),
    Case("ttl-unterminated-string", ["info", "--extra", fixture("unterminated_string.ttl")], ["bad turtle syntax"]),
    Case("ttl-bad-escape", ["info", "--extra", fixture("bad_escape.ttl")], ["bad_escape.ttl:2", "bad turtle syntax"]),
    Case("ttl-nul-byte", ["info", "--extra", fixture("nul.ttl")], ["nul.ttl", "NUL"]),
    Case("ttl-latin1", ["info", "--extra", fixture("latin1.ttl")], ["latin1.ttl", "not UTF-8"]),
    Case("ttl-over-size-cap", ["info", "--extra", "{tmp}/two_mb.ttl"], ["two_mb.ttl", "CD38KG_MAX_INPUT_MB"],
         env={"CD38KG_MAX_INPUT_MB": "1"}),
    Case("ttl-rdfxml-refused", ["info", "--extra", str(BAD / "entities.rdf")], ["RDF/XML is not accepted"]),
    Case("ttl-comment-only-skips-reasoner", ["info", "--format", "tsv", "--extra", fixture("comment_only.ttl")],
         ["no new statements"], code=0),
    # -- what is not a regular file ------------------------------------------------------------
    Case("fifo-as-turtle", ["info", "--extra", "{tmp}/pipe.ttl"], ["pipe.ttl", "not a regular file"]),
    Case("dev-zero-as-turtle", ["info", "--extra", "{tmp}/zero.ttl"], ["zero.ttl", "not a regular file"]),
    Case("dev-zero-as-profile", ["profile", "/dev/zero"], ["/dev/zero", "not a regular file"]),
    Case("fifo-as-profile", ["profile", "{tmp}/pipe.yaml"], ["pipe.yaml", "not a regular file"]),
    Case("fifo-as-weights", ["explain", "-c", "daratumumab + ATRA", "-r", "CD38 downregulation", "--weights",
                             "{tmp}/pipe.json"], ["pipe.json", "not a regular file"]),
    Case("directory-as-extra", ["info", "--extra", "{tmp}/folder.ttl"], ["folder.ttl", "is a directory"]),
    Case("missing-extra", ["info", "--extra", "{tmp}/absent.ttl"], ["absent.ttl", "no such file"]),
    # -- YAML profiles -----------------------------------------------------------------------------
    Case("yaml-alias-bomb", ["profile", fixture("alias_bomb.yaml")], ["alias_bomb.yaml:2", "anchors and aliases"]),
    Case("yaml-one-alias", ["profile", fixture("one_alias.yaml")], ["one_alias.yaml:2", "anchors and aliases"]),
    Case("yaml-50k-deep", ["profile", "{tmp}/deep.yaml"], ["deep.yaml:1", "nested more than"]),
    Case("yaml-duplicate-key", ["profile", fixture("duplicate_key.yaml")], ["duplicate_key.yaml:3", "duplicate key"]),
    Case("yaml-nan", ["profile", fixture("nan.yaml")], ["nan.yaml:2", "not a finite number"]),
    Case("yaml-infinity", ["profile", fixture("infinity.yaml")], ["infinity.yaml:2", "not a finite number"]),
    Case("yaml-number-key", ["profile", fixture("number_key.yaml")], ["number_key.yaml:2", "keys must be text"]),
    Case("yaml-complex-key", ["profile", fixture("complex_key.yaml")], ["complex_key.yaml:2", "keys must be text"]),
    Case("yaml-python-tag", ["profile", fixture("python_tag.yaml")], ["python_tag.yaml:1", "bad YAML"]),
    Case("yaml-not-a-mapping", ["profile", fixture("not_mapping.yaml")], ["a profile is a YAML mapping"]),
    Case("yaml-unknown-key", ["profile", fixture("unknown_key.yaml")], ["unknown_key.yaml:2", "unknown profile key"]),
    Case("yaml-bad-choice", ["profile", fixture("bad_choice.yaml")], ["bad_choice.yaml:2", "must be one of"]),
    Case("yaml-negative-number", ["profile", fixture("negative_months.yaml")], ["non-negative number"]),
    Case("yaml-list-for-one-value", ["profile", fixture("list_antibody.yaml")], ["must be a single value"]),
    Case("yaml-nested-lists", ["profile", fixture("nested_lists.yaml")], ["must be a list of names"]),
    Case("yaml-bad-syntax", ["profile", fixture("bad_syntax.yaml")], ["bad_syntax.yaml:", "bad YAML"]),
    Case("yaml-latin1", ["profile", fixture("latin1.yaml")], ["latin1.yaml", "not UTF-8"]),
    Case("yaml-over-profile-cap", ["profile", "{tmp}/big.yaml"], ["big.yaml", "larger than 256 kB"]),
    Case("yaml-100k-antibody-name", ["profile", "{tmp}/long_antibody.yaml"], ["too long"]),
    # -- command-line arguments --------------------------------------------------------------------
    Case("arg-100k-combination", ["explain", "-c", LONG_NAME, "-r", "CD38 downregulation"], ["100000 characters"]),
    Case("arg-100k-resistance", ["hypotheses", "-r", LONG_NAME], ["100000 characters"]),
    Case("arg-100k-focus", ["export", "html", "--focus", LONG_NAME, "--out", "{tmp}/never.html"], ["too long"]),
    Case("arg-typo-suggests", ["explain", "-c", "daratumumab + ATRA", "-r", "CD38 downregulaton"],
         ["unknown resistance mechanism", "CD38 downregulation"]),
    Case("arg-10k-plus-signs", ["explain", "-c", "+".join(["nothing"] * 10_000), "-r", "CD38 downregulation"],
         ["unknown agent 'nothing'"]),
    Case("arg-empty-combination", ["explain", "-c", " + ", "-r", "CD38 downregulation"], ["empty combination"]),
    Case("arg-top-zero", ["hypotheses", "-r", "CD47 upregulation", "--top", "0"], ["--top", "--help"]),
    Case("arg-top-huge", ["hypotheses", "-r", "CD47 upregulation", "--top", "1000000000"], ["--top"]),
    Case("arg-unknown-format", ["info", "--format", "xml"], ["--format", "'xml' is not one of"]),
    Case("arg-unknown-command", ["frobnicate"], ["No such command"]),
    Case("arg-html-without-out", ["explain", "-c", "daratumumab + ATRA", "-r", "CD38 downregulation", "--format", "html"],
         ["--format html needs --out"]),
    Case("arg-out-in-missing-folder", ["export", "html", "--out", "{tmp}/no/such/folder/kb.html"], ["does not exist"]),
    Case("arg-out-is-a-folder", ["export", "html", "--out", "{tmp}"], ["is a directory"]),
    Case("arg-bad-without", ["explain", "-c", "daratumumab + ATRA", "-r", "CD38 downregulation", "--without", "ATRA"],
         ["cannot read statement"]),
    Case("arg-unknown-type", ["entities", "--type", "spaceship"], ["unknown entity type 'spaceship'"]),
    Case("arg-unknown-example", ["example", "nothing.tsv"], ["unknown example 'nothing.tsv'", "my_findings.tsv"]),
    Case("arg-example-out-without-name", ["example", "--out", "{tmp}/x.tsv"], ["--out needs the NAME"]),
    Case("arg-broken-weights", ["explain", "-c", "daratumumab + ATRA", "-r", "CD38 downregulation", "--weights",
                                fixture("broken_weights.json")], ["broken_weights.json:", "bad JSON"]),
    Case("env-size-cap-not-a-number", ["info", "--extra", fixture("comment_only.ttl")], ["CD38KG_MAX_INPUT_MB"],
         env={"CD38KG_MAX_INPUT_MB": "lots"}),
    Case("env-unknown-store", ["info"], ["CD38KG_STORE"], env={"CD38KG_STORE": "floppy"}),
]


def write_inputs(tmp: Path) -> None:
    """The large or special inputs, made here rather than kept in the repository."""
    header = "subject\tpredicate\tobject\tsource\n"
    (tmp / "big_field.tsv").write_text(header + "x" * 140_000 + "\tdepletes\tNK cells\tuser: x\n", encoding="utf-8")
    (tmp / "long_name.tsv").write_text(header + f"{LONG_NAME}\tdepletes\tNK cells\tuser: x\n", encoding="utf-8")
    (tmp / "wide_header.tsv").write_text(header.rstrip("\n") + "\tc" * 10_000 + "\n", encoding="utf-8")
    (tmp / "empty.tsv").write_text("", encoding="utf-8")
    (tmp / "random.tsv").write_bytes(bytes(range(128, 256)) * 64)
    (tmp / "two_mb.tsv").write_text(header + "daratumumab\tdepletes\tNK cells\tuser: x\n" * 50_000, encoding="utf-8")
    (tmp / "two_mb.ttl").write_text("# padding\n" * 220_000, encoding="utf-8")
    prefix = "@prefix kb: <https://w3id.org/cd38kg/kb/> .\nkb:x kb:p "
    (tmp / "unclosed.ttl").write_text(prefix + "[ kb:p " * 50_000 + "\n", encoding="utf-8")
    (tmp / "unclosed_lists.ttl").write_text(prefix + "( " * 50_000 + "\n", encoding="utf-8")
    (tmp / "deep.yaml").write_text("patient: " + "[" * 50_000 + "]" * 50_000 + "\n", encoding="utf-8")
    (tmp / "big.yaml").write_text("patient: big\n" + "# padding\n" * 30_000, encoding="utf-8")
    (tmp / "long_antibody.yaml").write_text(f"patient: long\nantibody: {LONG_NAME}\n", encoding="utf-8")
    for name in ("pipe.ttl", "pipe.yaml", "pipe.json"):
        os.mkfifo(tmp / name)
    (tmp / "zero.ttl").symlink_to("/dev/zero")
    (tmp / "folder.ttl").mkdir()


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    wall: float
    cpu: float
    peak_mb: float


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_limited(args: list[str], env: dict[str, str], cwd: Path) -> Outcome:
    """Run ``cd38kg ARGS`` under the memory limit; kill it at the wall-clock limit; measure it."""
    out_path, err_path = cwd / f".out-{threading.get_ident()}", cwd / f".err-{threading.get_ident()}"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "cd38kg.interfaces.cli", *args], stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=err, env=env, cwd=cwd, preexec_fn=_limit_memory)
        killer = threading.Timer(WALL_SECONDS, process.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
    return Outcome(process.returncode, out_path.read_text(errors="replace"), err_path.read_text(errors="replace"),
                   time.monotonic() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


class ConnectionTrap:
    """A loopback listener every proxy variable points to: it counts whatever connects."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, Outcome]:
    """Every case's outcome, run two at a time, with the connection trap's count under ``"trap"``."""
    tmp = tmp_path_factory.mktemp("hostile")
    write_inputs(tmp)
    cache = tmp_path_factory.mktemp("hostile-cache")
    base = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("CD38KG_")}
    warm = subprocess.run([sys.executable, "-m", "cd38kg.interfaces.cli", "info", "--format", "json"], capture_output=True,
                          text=True, env={**base, "XDG_CACHE_HOME": str(cache)}, timeout=600)
    assert warm.returncode == 0, warm.stderr  # inferences cached (or shipped): no case below needs Java
    trap = ConnectionTrap()
    env = {**base, "XDG_CACHE_HOME": str(cache), "NO_PROXY": "", "no_proxy": "",
           **{name: trap.url for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                                           "all_proxy")}}
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {case.id: pool.submit(run_limited, [a.replace("{tmp}", str(tmp)) for a in case.args],
                                            {**env, **(case.env or {})}, tmp) for case in CASES}
            results = {name: future.result() for name, future in futures.items()}
    finally:
        trap.close()
    assert not (tmp / "PWNED-BY-YAML").exists(), "a YAML tag ran code"
    results["trap"] = trap.connections  # type: ignore[assignment]
    return results


def test_enough_cases():
    assert len(CASES) >= 45
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case, outcomes):
    result = outcomes[case.id]
    assert result.code == case.code, f"exit {result.code}: {result.stderr[-800:]}"
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"not one line: {result.stderr[-800:]}"
    if case.code:
        assert lines[0].startswith("error: ") and result.stdout == ""
    for word in case.words:
        assert word in lines[0], lines[0][:600]
    assert result.wall < WALL_SECONDS and result.cpu < CPU_SECONDS, (result.wall, result.cpu)
    assert result.peak_mb < PEAK_RSS_MB, result.peak_mb


def test_nothing_connected_out(outcomes):
    assert outcomes["trap"] == 0
