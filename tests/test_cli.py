"""The command line's shared conventions: one ``--format`` (table, json, tsv) on every command with
TSV saying what the JSON says, answers on stdout and messages on stderr, shipped examples by name.

In-process through click's runner on the real knowledge base (the hostile-input suite runs the
CLI in real processes under limits).
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from cd38kg.interfaces.cli import cli
from cd38kg.resources import examples


@pytest.fixture(scope="module")
def runner(cache_home):
    return CliRunner()


def invoke(runner, *args: str):
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result


def tsv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))


# (command line, the records its JSON holds (one TSV row each), the TSV's first column from the JSON)
COMMANDS = [
    (["entities", "--type", "antibody"], lambda d: d, lambda d: [e["id"] for e in d]),
    (["hypotheses", "-r", "CD47 upregulation", "--top", "5"], lambda d: d["hypotheses"],
     lambda d: [d["resistance"]["label"] for _ in d["hypotheses"]]),
    (["evaluate"], lambda d: d["per_resistance"], lambda d: [r["resistance"]["label"] for r in d["per_resistance"]]),
    (["profile", "patient-relapsed.yaml", "--top", "4"], lambda d: d["combinations"],
     lambda d: [str(c["rank"]) for c in d["combinations"]]),
    (["explain", "-c", "daratumumab + ATRA", "-r", "CD38 downregulation"],
     lambda d: [s for chain in d["explanations"] for s in chain] or [d],
     lambda d: [d["resistance"]["label"]] * max(1, sum(map(len, d["explanations"])))),
    (["example"], lambda d: d, lambda d: [e["name"] for e in d]),
]


@pytest.mark.parametrize(("args", "records", "firsts"), COMMANDS, ids=[c[0][0] for c in COMMANDS])
def test_tsv_says_what_json_says(runner, args, records, firsts):
    data = json.loads(invoke(runner, *args, "--format", "json").stdout)
    rows = tsv_rows(invoke(runner, *args, "--format", "tsv").stdout)
    assert len(rows) == len(records(data)) > 0
    assert [row[next(iter(row))] for row in rows] == firsts(data)
    assert all(None not in row and len(row) == len(rows[0]) for row in rows), "every row fills the header's columns"


def test_info_tsv_counts_match_json(runner):
    data = json.loads(invoke(runner, "info", "--format", "json").stdout)
    rows = {(r["group"], r["name"]): int(r["count"]) for r in tsv_rows(invoke(runner, "info", "--format", "tsv").stdout)}
    assert rows[("total", "entities")] == data["entities"]
    assert {name: count for (group, name), count in rows.items() if group == "kind"} == data["per_kind"]


def test_info_tables_keep_the_largest_rows_of_a_large_extension(runner, tmp_path):
    """A lab's extension can cite thousands of sources: the terminal table shows the largest
    ones and says so, while --format json still lists every one."""
    lines = ["subject\tpredicate\tobject\tsource\tsection\tevidence_level"]
    lines += [f"ATRA\tincreases_expression\tCD38 on myeloma cells\tuser: lab notebook {i:02d}\tp. {i}\tin vitro"
              for i in range(45)]
    extra = tmp_path / "many_sources.tsv"
    extra.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table = invoke(runner, "info", "--extra", str(extra)).stdout
    sources = json.loads(invoke(runner, "info", "--extra", str(extra), "--format", "json").stdout)["per_source"]
    assert len(sources) > 40
    assert "the 40 largest of" in table and "--format json" in table
    largest = max(sources, key=sources.get)
    assert largest in table


def test_table_is_the_default_and_text_its_old_name(runner):
    table = invoke(runner, "entities", "--type", "antibody").stdout
    assert invoke(runner, "entities", "--type", "antibody", "--format", "text").stdout == table
    assert "daratumumab" in table


def test_every_command_that_prints_results_offers_the_shared_formats():
    from cd38kg.interfaces.cli import FORMATS

    printing = {name: command for name, command in cli.commands.items() if name not in ("serve", "build-cache", "export")}
    for name, command in printing.items():
        option = next((p for p in command.params if p.name == "fmt"), None)
        assert option is not None, f"{name} has no --format"
        assert set(FORMATS) <= set(option.type.choices), name


def test_profile_prints_lists_as_written(runner):
    text = invoke(runner, "profile", "patient-relapsed.yaml").stdout
    assert "daratumumab, lenalidomide" in text and "['" not in text


def test_example_copies_a_shipped_file_and_says_so_on_stderr(runner, tmp_path):
    out = tmp_path / "mine.tsv"
    result = invoke(runner, "example", "my_findings.tsv", "--out", str(out))
    assert out.read_bytes() == examples()["my_findings.tsv"].read_bytes()
    assert result.stdout == "" and f"wrote {out}" in result.stderr
    printed = invoke(runner, "example", "patient-relapsed.yaml").stdout
    assert printed == examples()["patient-relapsed.yaml"].read_text(encoding="utf-8")


def test_a_file_of_an_examples_name_wins_over_the_example(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "patient-relapsed.yaml").write_text("patient: my own\ncd47: high\n", encoding="utf-8")
    data = json.loads(invoke(runner, "profile", "patient-relapsed.yaml", "--format", "json").stdout)
    assert data["patient"] == "my own"


def test_html_export_writes_the_file_and_only_a_message(runner, tmp_path):
    out = tmp_path / "why.html"
    result = invoke(runner, "explain", "-c", "daratumumab + ATRA", "-r", "CD38 downregulation", "--format", "html",
                    "--out", str(out))
    assert result.stdout == "" and result.stderr.strip() == f"wrote {out}"
    assert "<html" in out.read_text(encoding="utf-8")
