"""HTML exports: what they contain, and what a real browser makes of them.

How the browser is driven (no extra Python dependencies): Debian's ``chromium`` runs
headless on each exported file with a fresh profile, ``--virtual-time-budget=5000`` and
``--dump-dom``. The page's own script writes a JSON status into ``<pre id="cd38kg-status">``
once the network is drawn: how many nodes and edges vis-network holds, how many of them
lie inside the visible canvas after fitting (``drawn``), how many canvas pixels were
painted (``ink``), whether any node moved during the following second (``settled``), the
time from navigation to the first drawing (``ms``; JavaScript time is real even under
virtual time) and any Content-Security-Policy violations the page saw. The same run saves a
screenshot per export kind to ``tests/artifacts/`` (git-ignored).

"No network request": the page's CSP (default-src 'none', scripts by hash) would report
any attempt as a violation, and independently Chromium's ``--log-net-log`` is parsed for URL
requests started by a document (the browser's own background requests carry the initiator
"not an origin" and are ignored). ``--host-resolver-rules`` and a dead loopback proxy make
sure nothing, the browser's own traffic included, leaves the machine. Both checks are
shown to fail on pages that do make requests.

The hostile-label test injects two extra scripts (allowed by adding their hashes to the
page's CSP): one first in <head> that records any call to alert(), one last that hovers the
hostile node and reports the tooltip's text and elements.

Chromium is required; the tests are skipped with a reason when it is not installed
(``apt-get install -y chromium``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from cd38kg import KnowledgeBase
from cd38kg.errors import Cd38kgError
from cd38kg.interfaces.cli import cli
from cd38kg.interfaces.render_html import (
    Link,
    Page,
    explanation_html,
    graph_html,
    hypotheses_html,
    render,
    script_json,
    stress_layout,
    write_html,
)
from cd38kg.vocab import CD38

ROOT = Path(__file__).resolve().parents[1]
HOSTILE_TSV = ROOT / "tests" / "fixtures" / "html" / "hostile.tsv"
HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_RESISTANCE = "</script><script>alert(2)</script><!--"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRAWABLE = {"agent", "cell", "molecule", "molecule-context", "mechanism", "process", "resistance",
            "patient-factor", "trial"}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
         "--window-size=1400,900", "--virtual-time-budget=5000"]

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")


# -- helpers -------------------------------------------------------------------------------


def page_data(text: str) -> dict:
    """The JSON the page draws from."""
    match = re.search(r'<script type="application/json" id="cd38kg-data">(.*?)</script>', text, re.S)
    assert match, "no data script in the page"
    return json.loads(match.group(1))


def edge_between(data: dict, source: str, target: str, sentence_part: str) -> dict:
    ids = {n["label"]: n["id"] for n in data["nodes"]}
    found = [e for e in data["edges"] if e["from"] == ids[source] and e["to"] == ids[target]
             and sentence_part in e["tip"]["sentence"]]
    assert len(found) == 1, (source, target, sentence_part, found)
    return found[0]


def open_in_chromium(text: str, tmp: Path, name: str, screenshot: str | None = None) -> dict:
    """Open a page in headless Chromium; return its status, dumped DOM and page requests."""
    page = tmp / f"{name}.html"
    page.write_text(text, encoding="utf-8")
    netlog = tmp / f"{name}.netlog.json"
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp / (name + '-profile')}", f"--log-net-log={netlog}"]
    if screenshot:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        command.append(f"--screenshot={ARTIFACTS / screenshot}")
    command += ["--dump-dom", page.as_uri()]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    status = re.search(r'<pre id="cd38kg-status" hidden="">(.*?)</pre>', dom, re.S)
    return {"dom": dom, "status": json.loads(html.unescape(status.group(1))) if status else None,
            "requests": document_requests(netlog)}


def document_requests(netlog: Path) -> list[str]:
    """URLs a page asked for, from Chromium's net log (browser-internal requests excluded)."""
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [e["params"]["url"] for e in log["events"]
            if e["type"] == start and "url" in e.get("params", {})
            and e["params"].get("initiator") != "not an origin"]


def assert_drawn(result: dict, nodes: int, mode: str, framed: int | None = None) -> None:
    """All ``nodes`` are in the network and on the canvas (or at least the ``framed`` ones the
    page zooms to: explanations frame their paths and let the dimmed context run off)."""
    status = result["status"]
    assert status is not None, "the page never reported: its script failed"
    assert status["mode"] == mode
    assert status["nodes"] == nodes
    assert framed <= status["drawn"] <= nodes if framed is not None else status["drawn"] == nodes
    assert status["ink"] > 2000, "the canvas stayed blank"
    assert status["settled"] is True
    assert status["violations"] == []
    assert result["requests"] == []


def with_scripts(text: str, head: str = "", tail: str = "") -> str:
    """The page plus extra scripts, each allowed by adding its hash to the page's CSP."""
    for script in filter(None, (head, tail)):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        text = text.replace("script-src ", f"script-src 'sha256-{digest}' ", 1)
    if head:
        text = text.replace("</title>", f"</title><script>{head}</script>", 1)
    if tail:
        text = text.replace("</body>", f"<script>{tail}</script></body>", 1)
    return text


@pytest.fixture(scope="module")
def hostile_kb() -> KnowledgeBase:
    return KnowledgeBase.load(extras=[HOSTILE_TSV])


@pytest.fixture(scope="module")
def whole_page(kb) -> str:
    return graph_html(kb)


# -- content: no browser needed -----------------------------------------------------------


def test_whole_graph_holds_every_drawable_entity(kb, whole_page):
    data = page_data(whole_page)
    labels = {n["label"] for n in data["nodes"]}
    individuals = {e.label for e in kb.facts.entities.values() if kb.kind_of(e) in DRAWABLE}
    assert individuals <= labels
    extra = labels - individuals  # classes some finding is about, drawn with a dashed outline
    assert {"anti-CD38 antibody", "immunomodulatory drug"} <= extra
    classes = [n for n in data["nodes"] if n["label"] in extra]
    assert all(n.get("shapeProperties", {}).get("borderDashes") for n in classes)
    assert len(data["edges"]) >= len(kb.facts.triples)


def test_inferred_edges_are_dashed_and_credit_the_class(whole_page):
    data = page_data(whole_page)
    inferred = edge_between(data, "daratumumab", "myeloma cells", "depletes")
    assert inferred["dashes"], "a triple only a class-level finding states must be dashed"
    assert {s["inherited"] for s in inferred["tip"]["supports"]} == {"anti-CD38 antibody"}
    stated = edge_between(data, "ATRA", "CD38 on myeloma cells", "increases expression")
    assert stated["dashes"] is False
    assert any(s["doi"] for s in stated["tip"]["supports"]) and stated["tip"]["level"]


def test_edge_colour_follows_sign_and_requires_points_the_way_influence_flows(whole_page):
    data = page_data(whole_page)
    up = edge_between(data, "ATRA", "CD38 on myeloma cells", "increases")
    down = edge_between(data, "CD38 downregulation", "CD38 on myeloma cells", "decreases")
    assert up["color"]["color"] != down["color"]["color"]
    assert up["tip"]["sign"] == "increases" and down["tip"]["sign"] == "decreases"
    # "ADCC requires CD38 on myeloma cells": CD38 raises ADCC, so the arrow runs CD38 -> ADCC.
    requires = edge_between(data, "CD38 on myeloma cells", "ADCC", "requires")
    assert requires["color"]["color"] == up["color"]["color"]


def test_neighbourhood_is_bounded_by_depth(kb):
    one = page_data(graph_html(kb, focus="CD38", depth=1))
    two = page_data(graph_html(kb, focus="CD38", depth=2))
    one_labels = {n["label"] for n in one["nodes"]}
    contexts = {e.label for e in kb.entities(kind="molecule-context") if e.label.startswith("CD38 on ")}
    assert {"CD38", "daratumumab", "isatuximab"} | contexts <= one_labels
    assert "ADCC" not in one_labels and "ADCC" in {n["label"] for n in two["nodes"]}
    assert len(two["nodes"]) > len(one["nodes"])
    centre = next(n for n in one["nodes"] if n["label"] == "CD38")
    assert centre["size"] > max(n["size"] for n in one["nodes"] if n is not centre)
    assert len(page_data(graph_html(kb, focus="CD38", depth=0))["nodes"]) == 1


def test_neighbourhood_rejects_bad_focus_and_depth(kb):
    with pytest.raises(Cd38kgError, match="unknown entity"):
        graph_html(kb, focus="no such thing")
    with pytest.raises(Cd38kgError, match="not drawn"):
        graph_html(kb, focus="cd38:Phase3")
    with pytest.raises(Cd38kgError, match="depth"):
        graph_html(kb, focus="CD38", depth=-1)


def test_explanation_highlights_paths_in_reading_order(kb):
    result = kb.explain("daratumumab + ATRA", "CD38 downregulation")
    text = explanation_html(kb, result)
    data = page_data(text)
    assert data["mode"] == "explanation" and data["defaultGroup"] == 0
    everything, *paths = data["groups"]
    assert len(paths) == len(result.explanations) > 0
    labels = {n["id"]: n["label"] for n in data["nodes"]}
    edges = {e["id"]: e for e in data["edges"]}
    for group, steps in zip(paths, result.explanations, strict=True):
        numbered = sorted(group["labels"].items(), key=lambda kv: int(kv[1]))
        assert [int(n) for _, n in numbered] == list(range(1, len(steps) + 1))
        for (edge_id, _), step in zip(numbered, steps, strict=True):
            ends = {labels[edges[int(edge_id)]["from"]], labels[edges[int(edge_id)]["to"]]}
            assert ends == {step.subject.label, step.object.label}
    assert set(everything["nodes"]) >= {n for g in paths for n in g["nodes"]}
    assert len(data["nodes"]) > len(everything["nodes"]), "no dimmed context around the paths"
    assert f">{result.verdict.value}<" in text and f"{result.score:.3f}" in text
    assert "Why might daratumumab + ATRA counter CD38 downregulation?" in text


def test_hypotheses_rank_rows_and_groups(kb):
    ranked = kb.hypotheses("CD47 upregulation")
    assert ranked
    text = hypotheses_html(kb, "CD47 upregulation", ranked)
    data = page_data(text)
    assert len(data["groups"]) == len(ranked) and data["defaultGroup"] == 0
    ids = {n["label"]: n["id"] for n in data["nodes"]}
    for hyp, group in zip(ranked, data["groups"], strict=True):
        assert ids[hyp.partner.label] in group["nodes"]
        assert ids["CD47 upregulation"] in group["nodes"]
    ranks = [int(r) for r in re.findall(r"<h3>#(\d+) ", text)]
    assert ranks == list(range(1, len(ranked) + 1))


def test_pages_load_nothing_from_outside(whole_page):
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b[^>]*\b(src|href)\s*=", whole_page, re.I)
    assert "default-src 'none'" in html.unescape(whole_page)
    spec_dir = Path(__import__("importlib.util").util.find_spec("pyvis").submodule_search_locations[0])
    vis = (spec_dir / "templates" / "lib" / "vis-9.1.2" / "vis-network.min.js").read_text(encoding="utf-8")
    assert f"<script>{vis}</script>" in whole_page


def test_hostile_text_is_escaped_everywhere(hostile_kb):
    text = graph_html(hostile_kb, focus=HOSTILE, depth=1)
    for raw in (HOSTILE, 'syn"><svg onload=alert(3)>', "<script>alert(4)</script>", HOSTILE_RESISTANCE):
        assert raw not in text
    assert html.escape(HOSTILE, quote=False) in text  # the title, as text
    data = page_data(text)  # JSON.parse sees the original strings again
    node = next(n for n in data["nodes"] if n["label"] == HOSTILE)
    assert node["tip"]["synonyms"] == ['syn"><svg onload=alert(3)>']
    notes = [s["note"] for e in data["edges"] for s in e["tip"]["supports"]]
    assert '<script>alert(4)</script> & "note"' in notes


def test_script_json_cannot_end_its_script_element():
    value = {"a": "</script><!--<script>&\u2028"}
    text = script_json(value)
    assert not set(text) & set("<>&\u2028")
    assert json.loads(text) == value


def test_stress_layout_follows_graph_distance_and_is_deterministic():
    import networkx as nx

    path = nx.path_graph(["a", "b", "c", "d", "e"])
    pos = stress_layout(path)
    assert all(stress_layout(path) == pos for _ in range(5))
    ends = ((pos["a"][0] - pos["e"][0]) ** 2 + (pos["a"][1] - pos["e"][1]) ** 2) ** 0.5
    assert 3.5 < ends < 4.5
    star = nx.star_graph(40)
    spread = stress_layout(star)
    points = list(spread.values())
    closest = min(((x1 - x2) ** 2 + (y1 - y2) ** 2) ** 0.5
                  for i, (x1, y1) in enumerate(points) for x2, y2 in points[i + 1:])
    assert closest > 0.5, "hub neighbours were left in a knot"


def test_write_html_is_atomic_and_checks_the_directory(tmp_path):
    out = write_html("<p>one</p>", tmp_path / "a.html")
    write_html("<p>two</p>", out)
    assert out.read_text(encoding="utf-8") == "<p>two</p>"
    assert [p.name for p in tmp_path.iterdir()] == ["a.html"]
    assert out.stat().st_mode & 0o777 == 0o644, "readable by others, like any file a tool writes"
    with pytest.raises(Cd38kgError, match="does not exist"):
        write_html("x", tmp_path / "missing" / "a.html")


def test_cli_export_html(tmp_path):
    runner = CliRunner()
    out = tmp_path / "cd38.html"
    result = runner.invoke(cli, ["export", "html", "--focus", "CD38", "--depth", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "What is within 1 link of CD38?" in out.read_text(encoding="utf-8")
    failed = subprocess.run(["cd38kg", "export", "html", "--out", str(tmp_path / "no" / "x.html")],
                            capture_output=True, text=True, check=False)
    assert failed.returncode == 2 and failed.stderr.startswith("error: cannot write")


# -- in a real browser ---------------------------------------------------------------------


@needs_chromium
def test_browser_whole_graph(tmp_path, whole_page):
    result = open_in_chromium(whole_page, tmp_path, "graph", screenshot="graph.png")
    assert_drawn(result, len(page_data(whole_page)["nodes"]), "graph")
    assert result["status"]["ms"] < 3000, "the full knowledge base must open and settle in under 3 s"


@needs_chromium
def test_browser_neighbourhood(kb, tmp_path):
    text = graph_html(kb, focus="CD38", depth=2)
    result = open_in_chromium(text, tmp_path, "neighbourhood", screenshot="neighbourhood.png")
    assert_drawn(result, len(page_data(text)["nodes"]), "graph")


@needs_chromium
def test_browser_explanation(kb, tmp_path):
    text = explanation_html(kb, kb.explain("daratumumab + ATRA", "CD38 downregulation"))
    result = open_in_chromium(text, tmp_path, "explanation", screenshot="explanation.png")
    data = page_data(text)
    assert_drawn(result, len(data["nodes"]), "explanation", framed=len(data["groups"][0]["nodes"]))
    assert "Paths, in reading order" in result["dom"]


@needs_chromium
def test_browser_hypotheses(kb, tmp_path):
    text = hypotheses_html(kb, "CD47 upregulation", kb.hypotheses("CD47 upregulation"))
    result = open_in_chromium(text, tmp_path, "hypotheses", screenshot="hypotheses.png")
    data = page_data(text)
    assert_drawn(result, len(data["nodes"]), "hypotheses", framed=len(data["groups"][0]["nodes"]))


RECORD_ALERTS = "window.__alerts = []; window.alert = function (m) { window.__alerts.push(String(m)); };"
HOVER_PROBE = """
(function () {
  function probe() {
    var status = document.getElementById("cd38kg-status");
    if (!status.textContent) { setTimeout(probe, 50); return; }
    var kb = window.cd38kg, target = HOSTILE_JSON;
    var id = kb.nodes.getIds({ filter: function (n) { return n.label === target; } })[0];
    var at = kb.network.canvasToDOM(kb.network.getPositions([id])[id]);
    var canvas = document.querySelector("#cd38kg-network canvas"), box = canvas.getBoundingClientRect();
    canvas.dispatchEvent(new MouseEvent("mousemove", { clientX: box.left + at.x, clientY: box.top + at.y,
                                                        bubbles: true }));
    setTimeout(function () {
      var tip = document.querySelector(".vis-tooltip");
      var out = document.createElement("pre");
      out.id = "probe";
      out.hidden = true;
      out.textContent = JSON.stringify({ tooltip: tip ? tip.textContent : null,
        elements: tip ? Array.prototype.map.call(tip.querySelectorAll("*"), function (e) { return e.tagName; }) : [],
        injected: document.querySelectorAll("img, [onload], [onerror]").length,
        scripts: document.querySelectorAll("script").length,
        alerts: window.__alerts });
      document.body.appendChild(out);
    }, 600);
  }
  probe();
})();
""".replace("HOSTILE_JSON", json.dumps(HOSTILE))


@needs_chromium
def test_browser_shows_hostile_labels_as_text(hostile_kb, tmp_path):
    text = with_scripts(graph_html(hostile_kb, focus=HOSTILE, depth=1), head=RECORD_ALERTS, tail=HOVER_PROBE)
    result = open_in_chromium(text, tmp_path, "hostile", screenshot="hostile.png")
    assert_drawn(result, len(page_data(text)["nodes"]), "graph")
    probe = json.loads(html.unescape(re.search(r'<pre id="probe" hidden="">(.*?)</pre>', result["dom"], re.S).group(1)))
    assert probe["alerts"] == []
    assert HOSTILE in probe["tooltip"] and 'syn"><svg onload=alert(3)>' in probe["tooltip"]
    assert set(probe["elements"]) == {"DIV"}, "the tooltip must hold text, not markup"
    assert probe["injected"] == 0
    assert probe["scripts"] == 6  # guard, data, vis-network, ours and the two probes: none from a label
    assert "&lt;img src=x onerror=alert(1)&gt;" in result["dom"]  # the title shows the label as text
    explained = explanation_html(hostile_kb, hostile_kb.explain(f"daratumumab + {HOSTILE}", "CD38 downregulation"))
    result = open_in_chromium(with_scripts(explained, head=RECORD_ALERTS), tmp_path, "hostile-explain")
    assert result["status"] is not None and result["status"]["violations"] == []
    assert "<img" not in result["dom"] and "alert(1)&gt;" in result["dom"]


@needs_chromium
def test_browser_checks_catch_requests(kb, tmp_path):
    """The two offline checks do fail on pages that reach out."""
    plain = '<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png"></body></html>'
    assert open_in_chromium(plain, tmp_path, "plain")["requests"] == ["http://127.0.0.1:9/x.png"]
    leaky = graph_html(kb, focus="CD38", depth=0).replace("</body>", '<img src="http://127.0.0.1:9/y.png"></body>')
    violations = open_in_chromium(leaky, tmp_path, "leaky")["status"]["violations"]
    assert violations and "127.0.0.1:9/y.png" in violations[0]


@needs_chromium
def test_browser_large_graph_stays_responsive(kb, tmp_path):
    """1,500 nodes with precomputed positions: drawn at once, no physics, nothing moves."""
    count = 1500
    kinds = {f"urn:test:{i:04d}": ("cell", "molecule", "agent")[i % 3] for i in range(count)}
    iris = sorted(kinds)
    links = [Link(iris[i], iris[(i * 7 + 1) % count], CD38.activates, 1, f"node {i} activates")
             for i in range(count)]
    links += [Link(iris[i], iris[(i + 1) % count], CD38.inhibits, -1, f"node {i} inhibits") for i in range(count)]
    positions = {iri: ((i % 40) * 120.0, (i // 40) * 120.0) for i, iri in enumerate(iris)}
    text = render(kb, Page("graph", "A large graph", "1,500 nodes", kinds, links, positions))
    result = open_in_chromium(text, tmp_path, "large")
    assert_drawn(result, count, "graph")
    assert result["status"]["edges"] == 2 * count
    assert result["status"]["ms"] < 3000
