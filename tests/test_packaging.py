"""A clean install works: the built wheel, installed with its declared dependencies from PyPI into
a fresh virtual environment *without* system site packages, runs every command of the README
tour from a directory outside the checkout.

This catches what a machine with packages installed globally hides: an import the wheel does
not declare, a data file it does not ship. One venv per session (pip's own cache keeps
re-runs fast); it is built from the base interpreter, so the test works inside a venv too.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VERDICTS = {"overcomes", "partial", "mixed", "does-not", "unknown"}


def outside_env(**overrides: str) -> dict[str, str]:
    """This process's environment minus what would make Python find the checkout or another env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "VIRTUAL_ENV"}
    return {**env, **overrides}


def tour_commands() -> list[list[str]]:
    """The commands of the README's "A short tour" block, comments stripped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## A short tour\s+```\n(.*?)```", text, re.DOTALL)
    assert block, "README has no tour block"
    return [shlex.split(line, comments=True) for line in block.group(1).splitlines() if line.startswith("cd38kg ")]


@pytest.fixture(scope="session")
def installed(tmp_path_factory):
    """(the venv's bin folder, the wheel) after a plain ``pip install`` of the wheel into a fresh venv."""
    work = tmp_path_factory.mktemp("clean-install")
    wheels = work / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    wheel = next(wheels.glob("cd38kg-*.whl"))
    env_dir = work / "venv"
    base = getattr(sys, "_base_executable", None) or sys.executable  # the interpreter behind any venv we run in
    subprocess.run([base, "-m", "venv", str(env_dir)], check=True, capture_output=True, timeout=300, env=outside_env())
    python = env_dir / "bin" / "python"
    assert "include-system-site-packages = false" in (env_dir / "pyvenv.cfg").read_text(encoding="utf-8")
    result = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
                            capture_output=True, text=True, timeout=900, env=outside_env())
    assert result.returncode == 0, result.stderr[-2000:]
    return env_dir / "bin", wheel


def run(bin_dir: Path, args: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = outside_env(PATH=f"{bin_dir}:/usr/bin:/bin", HOME=str(cwd), XDG_CACHE_HOME=str(cwd / "cache"))
    return subprocess.run([str(bin_dir / args[0]), *args[1:]], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=600, **kwargs)


def test_the_wheel_ships_data_and_declares_what_it_imports(installed):
    bin_dir, wheel = installed
    names = zipfile.ZipFile(wheel).namelist()
    from cd38kg.resources import examples

    for name in examples():
        assert f"cd38kg/examples/{name}" in names, f"{name} is an example in the checkout but not in the wheel"
    assert "cd38kg/ontology/inferred/hermit.nt" in names and "cd38kg/interfaces/templates/cd38kg.js" in names
    assert "cd38kg/ontology/inferred/classes.nt" in names, "the materialiser needs the shipped classification"
    assert {"cd38kg/schemas/answers.schema.json", "cd38kg/expert/questions.yaml"} <= set(names)
    probe = subprocess.run([str(bin_dir / "python"), "-c",
                            "import cd38kg.resources as r; print(r.ontology_dir()); print(r.queries_dir()); "
                            "print(*r.examples().values())"],
                           check=True, capture_output=True, text=True, cwd=bin_dir.parent.parent, timeout=120,
                           env=outside_env())
    assert str(bin_dir.parent) in probe.stdout and str(ROOT) not in probe.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_serve(bin_dir: Path, args: list[str], cwd: Path) -> None:
    """``serve`` runs until stopped: start it on a free port, ask one query, stop it."""
    port = str(_free_port())
    args = [port if a == "8000" else a for a in args]
    env = outside_env(PATH=f"{bin_dir}:/usr/bin:/bin", HOME=str(cwd), XDG_CACHE_HOME=str(cwd / "cache"))
    server = subprocess.Popen([str(bin_dir / "cd38kg"), *args[1:]], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while "SPARQL endpoint at" not in (line := server.stderr.readline()):
            assert line and time.monotonic() < deadline, "serve did not start"
        query = urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
        request = urllib.request.Request(f"http://127.0.0.1:{port}/sparql?{query}",
                                         headers={"Accept": "application/sparql-results+json"})
        with urllib.request.urlopen(request, timeout=60) as response:  # loopback only
            assert json.loads(response.read())["boolean"] is True
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)


def check(args: list[str], result: subprocess.CompletedProcess, cwd: Path) -> None:
    """What each tour command must mean, beyond exiting 0."""
    command, text = args[1], result.stdout
    fmt = args[args.index("--format") + 1] if "--format" in args else "table"
    if fmt == "json" and "--all" in args:
        lines = [json.loads(line) for line in text.splitlines()]
        assert len(lines) > 10 and all({"resistance", "antibody", "hypotheses"} <= set(x) for x in lines)
        return
    if fmt == "json":
        data = json.loads(text)
    if command == "info":
        assert re.search(r"\d+ entities", text)
    elif command == "entities":
        assert "daratumumab" in [e["label"] for e in data]
    elif command == "explain":
        if fmt == "json":
            assert data["verdict"] in VERDICTS and {"explanations", "conflicts", "score"} <= set(data)
        else:
            assert VERDICTS & set(re.findall(r"[a-z-]+", text))
    elif command == "hypotheses":
        rows = text.splitlines() if fmt == "tsv" else []
        if fmt == "tsv":
            assert rows[0].split("\t")[:3] == ["resistance", "rank", "partner"] and len(rows) > 1
        if "--extra" in args:
            assert "anti-CD200 antibody" in text, "the extension's own drug is ranked"
    elif command == "example":
        assert "my_findings.tsv" in text and "patient-relapsed.yaml" in text
    elif command == "profile":
        assert "CD38 downregulation" in text
    elif command == "evaluate":
        assert "recall@3" in text and "expert agreement" in text
    elif command == "validate":
        assert text.startswith("OK")
    elif command == "query":
        assert "class-members" in text
    elif command == "export":
        page = cwd / args[args.index("--out") + 1]
        assert "vis.Network" in page.read_text(encoding="utf-8")
        assert f"wrote {page.name}" in result.stderr and result.stdout == ""
    else:
        raise AssertionError(f"the tour has a command this test does not check: {shlex.join(args)}")


def test_every_readme_tour_command_works_after_a_clean_install(installed, tmp_path):
    bin_dir, _ = installed
    commands = tour_commands()
    assert len(commands) >= 10
    for args in commands:
        if args[1] == "serve":
            check_serve(bin_dir, args, tmp_path)
            continue
        result = run(bin_dir, args, tmp_path)
        assert result.returncode == 0, f"{shlex.join(args)}: {result.stderr[-1500:]}"
        assert "Traceback" not in result.stderr
        check(args, result, tmp_path)
        if args[1:] == ["info"]:
            assert not list(tmp_path.rglob("*.nt")), "the shipped inferences are used: no reasoner run"


def test_readme_commands_are_the_ones_ci_runs():
    """The README's first two commands are what a new user types; CI runs the second after the first's install."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = re.search(r"```\n(.*?)```", readme, re.DOTALL).group(1).split("\n")
    assert first[:2] == ["bash install.sh", "python -m pytest"]
    assert "python -m pytest" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
