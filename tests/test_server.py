"""The SPARQL endpoint, queried over real HTTP with a real SPARQL client (SPARQLWrapper)."""

from __future__ import annotations

import csv
import http.client as http_client
import io
import json
import multiprocessing
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from rdflib import Graph
from SPARQLWrapper import CSV, JSON, JSONLD, POST, POSTDIRECTLY, TSV, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from cd38kg import KnowledgeBase
from cd38kg.interfaces.server import Settings, is_loopback, make_server, negotiate

KB_NS = "https://w3id.org/cd38kg/kb/"
IMIDS = "SELECT ?drug ?label WHERE { ?drug a cd38:IMiD ; rdfs:label ?label } ORDER BY ?label"


@pytest.fixture(scope="module")
def kb_and_dataset():
    kb = KnowledgeBase.load()
    return kb, kb.sparql_dataset()


@contextmanager
def running(kb_and_dataset, **settings):
    kb, dataset = kb_and_dataset
    server = make_server(kb, dataset, "127.0.0.1", 0, Settings(quiet=True, **settings))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def server(kb_and_dataset):
    with running(kb_and_dataset, timeout=20.0, max_rows=100) as srv:
        yield srv


@pytest.fixture
def endpoint(server):
    return server.url + "sparql"


def client(endpoint, query, fmt=JSON, method=None):
    sparql = SPARQLWrapper(endpoint)
    sparql.setQuery(query)
    sparql.setReturnFormat(fmt)
    if method == POSTDIRECTLY:
        sparql.setMethod(POST)
        sparql.setRequestMethod(POSTDIRECTLY)
    elif method:
        sparql.setMethod(method)
    return sparql


def http(url, data=None, headers=None, method=None):
    """(status, headers, body text) of a request, errors included."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode("utf-8")


def get(server, path, **params):
    headers = params.pop("headers", None)
    query = urllib.parse.urlencode(params)
    return http(server.url + path.lstrip("/") + (f"?{query}" if query else ""), headers=headers)


# -- result formats through a real client -----------------------------------------------------


@pytest.mark.parametrize("method", [None, POST, POSTDIRECTLY], ids=["GET", "POST-form", "POST-direct"])
def test_select_as_json_over_each_request_style(endpoint, method):
    results = client(endpoint, IMIDS, JSON, method).queryAndConvert()
    labels = [b["label"]["value"] for b in results["results"]["bindings"]]
    assert labels == ["lenalidomide", "pomalidomide", "thalidomide"]
    assert results["head"]["vars"] == ["drug", "label"]


def test_select_as_xml(endpoint):
    document = client(endpoint, IMIDS, XML).queryAndConvert()
    ns = "http://www.w3.org/2005/sparql-results#"
    literals = [node.firstChild.data for node in document.getElementsByTagNameNS(ns, "literal")]
    assert literals == ["lenalidomide", "pomalidomide", "thalidomide"]


def test_select_as_csv_and_tsv(endpoint):
    rows = list(csv.reader(io.StringIO(client(endpoint, IMIDS, CSV).queryAndConvert().decode("utf-8"))))
    assert rows[0] == ["drug", "label"] and rows[1] == [KB_NS + "lenalidomide", "lenalidomide"]
    tsv = client(endpoint, IMIDS, TSV).queryAndConvert().decode("utf-8").splitlines()
    assert tsv[0] == "?drug\t?label"
    assert tsv[1] == f'<{KB_NS}lenalidomide>\t"lenalidomide"'


def test_ask(endpoint):
    assert client(endpoint, "ASK { kb:iberdomide a cd38:CELMoD }", JSON).queryAndConvert()["boolean"] is True


def test_construct_as_turtle_jsonld_and_ntriples(endpoint):
    construct = "CONSTRUCT { ?d a cd38:IMiD } WHERE { ?d a cd38:IMiD }"
    turtle = client(endpoint, construct, TURTLE).queryAndConvert()
    graph = Graph().parse(data=turtle.decode("utf-8"), format="turtle")
    assert len(graph) == 3
    jsonld = client(endpoint, construct, JSONLD).queryAndConvert()
    assert len(jsonld) == 3
    status, headers, body = http(endpoint + "?" + urllib.parse.urlencode({"query": construct}),
                                 headers={"Accept": "application/n-triples"})
    assert status == 200 and headers["Content-Type"].startswith("application/n-triples")
    assert len(Graph().parse(data=body, format="nt")) == 3


def test_construct_with_sparqlwrapper_defaults_is_rdf_xml(endpoint):
    sparql = SPARQLWrapper(endpoint)  # no return format set: SPARQLWrapper asks for RDF/XML
    sparql.setQuery("CONSTRUCT { ?d a cd38:IMiD } WHERE { ?d a cd38:IMiD }")
    graph = sparql.queryAndConvert()
    assert {str(s) for s in graph.subjects()} == {KB_NS + "lenalidomide", KB_NS + "pomalidomide", KB_NS + "thalidomide"}


def test_describe(endpoint):
    turtle = client(endpoint, "DESCRIBE kb:daratumumab", TURTLE).queryAndConvert().decode("utf-8")
    graph = Graph().parse(data=turtle, format="turtle")
    assert any(str(o) == "Darzalex" for o in graph.objects())


@pytest.mark.parametrize(("accept", "content_type"), [
    ("application/sparql-results+json", "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/sparql-results+xml"),
    ("text/csv;q=0.5, application/json", "application/sparql-results+json"),
    ("*/*", "application/sparql-results+json"),
])
def test_content_negotiation_by_accept(server, accept, content_type):
    status, headers, _ = get(server, "/sparql", query=IMIDS, headers={"Accept": accept})
    assert status == 200 and headers["Content-Type"].split(";")[0] == content_type


def test_unacceptable_type_is_406(server):
    status, _, body = get(server, "/sparql", query=IMIDS, headers={"Accept": "image/png"})
    assert status == 406 and "application/sparql-results+json" in body


def test_negotiate_prefers_an_explicit_format_parameter():
    assert negotiate("SELECT", "application/json", ["tsv", "text/tab-separated-values"]) == "tsv"
    assert negotiate("CONSTRUCT", "text/turtle", ["json"]) == "json-ld"
    assert negotiate("CONSTRUCT", None, ["xml"]) == "xml", "RDF/XML, as SPARQLWrapper asks by default"
    assert negotiate("CONSTRUCT", None, ["csv"]) == "turtle", "not offered for graphs: the default"
    assert negotiate("CONSTRUCT", "text/html,application/xml;q=0.9,*/*;q=0.8", []) == "turtle"
    assert negotiate("SELECT", "text/*", []) == "xml"


# -- named queries over HTTP ----------------------------------------------------------------------


def test_named_query_over_http(server):
    status, _, body = get(server, "/query/clinical-evidence", drug="daratumumab",
                          headers={"Accept": "application/sparql-results+json"})
    assert status == 200
    rows = json.loads(body)["results"]["bindings"]
    pollux = next(r for r in rows if r["arm"]["value"] == KB_NS + "arm-pollux-drd")
    assert float(pollux["orrPercent"]["value"]) == 93.0
    assert float(pollux["comparatorOrrPercent"]["value"]) == 76.0


def test_named_query_errors_list_the_valid_choices(server):
    status, _, body = get(server, "/query/no-such-query")
    assert status == 404 and "clinical-evidence" in body
    status, _, body = get(server, "/query/cells-expressing", drug="daratumumab")
    assert status == 400 and "molecule" in body
    status, _, body = get(server, "/query/cells-expressing", molecule="CD3888")
    assert status == 400 and "Did you mean" in body


def test_query_list_and_page(server):
    status, _, body = get(server, "/queries")
    listed = {q["name"]: q for q in json.loads(body)}
    assert status == 200 and "VALUES" in listed["cells-expressing"]["example"]
    status, headers, page = get(server, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "<textarea" in page and "clinical-evidence" in page and "<table" not in page.split("<script>")[0]
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    # Works offline: nothing is loaded from elsewhere.
    assert "src=" not in page and "<link" not in page and "@import" not in page


# -- read-only and no outbound requests -------------------------------------------------------------


@pytest.fixture
def listener():
    """A local port that records whether anything tried to connect to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    sock.settimeout(0.3)
    yield sock
    sock.close()


def connected(sock):
    try:
        sock.accept()[0].close()
    except TimeoutError:
        return False
    return True


@pytest.mark.parametrize("template", [
    "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "select * where {{ ?a ?b ?c . {{ select ?s where {{ service silent <{url}> {{ ?s ?p ?o }} }} }} }} limit 1",
    "ASK {{ \\u0053ERVICE <{url}> {{ ?s ?p ?o }} }}",
])
def test_service_is_refused_and_never_followed(endpoint, listener, template):
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/sparql"
    with pytest.raises(urllib.error.HTTPError) as err:
        client(endpoint, template.format(url=url)).query()
    assert err.value.code == 403
    assert "SERVICE" in err.value.read().decode("utf-8")
    assert not connected(listener)


def test_updates_and_load_are_refused(endpoint, server, listener):
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/data.ttl"
    for update in ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", f"LOAD <{url}>"):
        with pytest.raises(urllib.error.HTTPError) as err:
            client(endpoint, update, JSON, POST).query()  # SPARQLWrapper sends these as update=
        assert err.value.code == 403 and "read-only" in err.value.read().decode("utf-8")
    status, _, body = get(server, "/sparql", query=f"LOAD <{url}>")
    assert status == 403 and "read-only" in body
    status, _, _ = http(endpoint, data=b"DELETE WHERE { ?s ?p ?o }", method="POST",
                        headers={"Content-Type": "application/sparql-update"})
    assert status == 403
    assert not connected(listener)
    assert client(endpoint, "ASK { ?s ?p ?o }").queryAndConvert()["boolean"] is True


# -- limits -------------------------------------------------------------------------------------------


def test_slow_query_is_stopped_by_the_timeout(kb_and_dataset):
    with running(kb_and_dataset, timeout=1.0, max_concurrent=1) as short:
        before = {child.pid for child in multiprocessing.active_children()}
        started = time.monotonic()
        cross_product = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
        status, _, body = get(short, "/sparql", query=cross_product)
        elapsed = time.monotonic() - started
        assert status == 503 and "--timeout" in body
        assert elapsed < 6
        after = {child.pid for child in multiprocessing.active_children()}
        killed, started_again = before - after, after - before
        assert len(killed) == 1 and len(started_again) == 1, "the worker was killed and replaced"
        assert not Path(f"/proc/{killed.pop()}").exists(), "and reaped"
        status, _, body = get(short, "/sparql", query="ASK { ?s ?p ?o }", headers={"Accept": "application/json"})
        assert status == 200 and json.loads(body)["boolean"] is True


def test_large_results_are_capped_and_say_so(server):
    status, headers, body = get(server, "/sparql", query="SELECT * WHERE { ?s ?p ?o }",
                                headers={"Accept": "application/sparql-results+json"})
    document = json.loads(body)
    assert status == 200 and len(document["results"]["bindings"]) == 100
    assert headers["X-Result-Truncated"] == "true" and headers["X-Result-Limit"] == "100"
    assert "truncated" in document["note"]
    status, headers, body = get(server, "/sparql", query="CONSTRUCT WHERE { ?s ?p ?o }",
                                headers={"Accept": "text/turtle"})
    assert headers["X-Result-Truncated"] == "true" and body.startswith("# result truncated")
    assert len(Graph().parse(data=body, format="turtle")) == 100
    status, headers, _ = get(server, "/sparql", query=IMIDS)
    assert status == 200 and "X-Result-Truncated" not in headers


# -- malformed requests ---------------------------------------------------------------------------------


def test_syntax_error_is_400_with_line_and_column(endpoint):
    with pytest.raises(QueryBadFormed) as err:
        client(endpoint, "SELECT ?s WHERE {\n  ?s ?p ?o\n  FILTER(\n}").query()
    assert "line 3, column 3" in str(err.value)


@pytest.mark.parametrize(("request_args", "status", "message"), [
    ({"path": "/sparql"}, 400, "exactly one query"),
    ({"path": "/sparql?query=ASK{}&query=ASK{}"}, 400, "exactly one query"),
    ({"path": "/sparql?query=SELECT+*+WHERE+{+?s+ex:p+?o+}"}, 400, "unknown prefix 'ex:'"),
    ({"path": "/sparql?query=SELECT+*+FROM+<urn:x>+WHERE+{?s+?p+?o}"}, 400, "GRAPH"),
    ({"path": "/sparql?query=ASK{}&default-graph-uri=urn:x"}, 400, "not supported"),
    ({"path": "/sparql", "data": b"ASK {}", "headers": {"Content-Type": "text/plain"}}, 415, "Content-Type"),
    ({"path": "/sparql", "data": b"query=%FF", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
     400, ""),
    ({"path": "/nowhere"}, 404, "/sparql"),
    ({"path": "/sparql", "method": "PUT", "data": b"x"}, 405, "read-only"),
])
def test_malformed_requests(server, request_args, status, message):
    args = dict(request_args)
    code, _, body = http(server.url + args.pop("path").lstrip("/"), **args)
    assert code == status and message in body


def test_foreign_host_header_is_refused(server):
    connection = socket.create_connection(("127.0.0.1", server.server_port))
    connection.sendall(b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n")
    reply = b""
    while chunk := connection.recv(65536):
        reply += chunk
    connection.close()
    assert reply.startswith(b"HTTP/1.0 421") and b"attacker.example" in reply
    status, _, _ = http(f"http://localhost:{server.server_port}/sparql?query=ASK%7B%7D")
    assert status == 200


def test_cors_is_off_unless_asked_for(server, kb_and_dataset):
    _, headers, _ = get(server, "/sparql", query=IMIDS)
    assert "Access-Control-Allow-Origin" not in headers
    with running(kb_and_dataset, cors_origin="https://example.org") as open_server:
        _, headers, _ = get(open_server, "/sparql", query=IMIDS)
        assert headers["Access-Control-Allow-Origin"] == "https://example.org"
        status, headers, _ = http(open_server.url + "sparql", method="OPTIONS",
                                  headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"})
        assert status == 204 and "POST" in headers["Access-Control-Allow-Methods"]


# -- the command ------------------------------------------------------------------------------------------


def processes_mentioning(marker):
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes():
                found.append(cmdline.parent.name)
        except OSError:
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to find the query processes")
def test_serve_command_stops_its_running_queries_on_sigterm():
    marker = f"marker-{uuid.uuid4().hex}.invalid"
    process = subprocess.Popen([sys.executable, "-m", "cd38kg.interfaces.cli", "serve", "--port", "0", "--timeout", "60",
                                "--max-concurrent", "2", "--allow-host", marker], stderr=subprocess.PIPE, text=True)
    try:
        banner = process.stderr.readline()
        url = re.search(r"(http://\S+/)sparql", banner).group(1)
        assert http(url + "sparql?query=ASK%7B%7D")[0] == 200
        slow = urllib.parse.quote("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }")

        def slow_request():
            with suppress(OSError, http_client.HTTPException):  # the server goes away mid-answer
                http(url + "sparql?query=" + slow)

        assert len(processes_mentioning(marker)) == 3, "the server and its two warm query workers"
        threading.Thread(target=slow_request, daemon=True).start()
        time.sleep(1)  # the slow query is running in a worker
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        time.sleep(0.5)
        assert processes_mentioning(marker) == []
    finally:
        process.kill()
        process.wait()
        process.stderr.close()
        for pid in processes_mentioning(marker):  # this test's own query processes, if it failed midway
            os.kill(int(pid), signal.SIGKILL)


def test_listening_beyond_loopback_warns():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("192.168.1.20")
    process = subprocess.Popen([sys.executable, "-m", "cd38kg.interfaces.cli", "serve", "--host", "0.0.0.0", "--port", "0",
                                "--max-concurrent", "1"], stderr=subprocess.PIPE, text=True)
    try:
        lines = [process.stderr.readline()]
        while lines[-1] and "SPARQL endpoint at" not in lines[-1]:  # progress lines may come between
            lines.append(process.stderr.readline())
        assert "SPARQL endpoint at" in lines[-1]
        warning = lines[0]
        assert "warning" in warning and "0.0.0.0" in warning and "no authentication" in warning
        assert "reverse proxy" in warning
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        process.stderr.close()
