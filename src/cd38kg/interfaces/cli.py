"""The ``cd38kg`` command line: a thin layer over :class:`cd38kg.KnowledgeBase`.

Each command parses its options, calls one API function and prints the result on stdout
in the shared ``--format`` (table, json, tsv; html where it applies); messages about the
work (files written, progress) go to stderr. User errors (:class:`cd38kg.errors.Cd38kgError`)
become one line on stderr and a non-zero exit; nothing heavy is imported until a command
runs, so ``cd38kg --help`` is instant.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from .. import __version__
from ..errors import Cd38kgError
from ..progress import step
from ..resources import user_file

if TYPE_CHECKING:
    from ..kb import KnowledgeBase
    from ..store.base import KnowledgeStore
    from .render_tsv import Table

#: The output formats every command offers; some add more (html, csv).
FORMATS = ("table", "json", "tsv")


def user_files(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Option callback: a name of a shipped example (``my_findings.tsv``) works where no such file exists."""
    if value is None:
        return None
    return tuple(str(user_file(v)) for v in value) if isinstance(value, tuple) else str(user_file(value))


def extra_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--extra FILE`` (repeatable): user Turtle or TSV files added to the knowledge base."""
    return click.option("--extra", "extras", multiple=True, type=click.Path(dir_okay=False), callback=user_files,
                        help="Extra Turtle (.ttl), TSV findings or KGX (.tsv/.jsonl), INDRA statements (.json) file, "
                        "or a shipped example's name; repeatable.")(func)


class FormatChoice(click.Choice):
    """The ``--format`` choices; "text", the earlier name of "table", is still accepted."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return super().convert("table" if value == "text" else value, param, ctx)


def format_option(*more: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--format``: one option shared by every command, ``table|json|tsv`` plus ``more`` where they apply."""
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        return click.option("--format", "fmt", type=FormatChoice([*FORMATS, *more]), default="table",
                            show_default=True, help="Output format.")(func)
    return decorate


def emit(fmt: str, data: Any, table: Callable[[Any], Table], show: Callable[[], None]) -> None:
    """Print a result: ``data`` (its JSON form) as JSON or as TSV through ``table``, else ``show()`` a table."""
    if fmt == "json":
        emit_json(data)
    elif fmt == "tsv":
        from .render_tsv import to_tsv

        click.echo(to_tsv(table(data)), nl=False)
    else:
        show()


def note(message: str) -> None:
    """A message about the work, not part of the answer: stderr, so stdout stays clean for pipes."""
    click.echo(message, err=True)


def chosen_store(question: Sequence[str] = (), weights: Any = None) -> KnowledgeStore:
    """The store the global ``--store``/``--endpoint`` options (or their environment variables) name;
    ``question``: the names one question is about (an endpoint then sends only their neighbourhood);
    ``weights``: the scoring weights in use (an endpoint's fetch reaches as far as their paths)."""
    from ..store import open_store

    ctx = click.get_current_context(silent=True)
    options = ctx.find_root().params if ctx else {}
    reach = weights.max_path_length if weights is not None else None
    return open_store(options.get("store_dir"), options.get("endpoint"), question, reach)


def load_kb(extras: tuple[str, ...], reason: str = "cache", with_engine: bool = True,
            question: Sequence[str] = (), weights: Any = None) -> KnowledgeBase:
    from ..kb import KnowledgeBase

    store = chosen_store(question, weights)
    with step("Loading the knowledge base"):
        kb = KnowledgeBase.load(extras=extras, reason=reason, store=store,  # type: ignore[arg-type]
                                with_engine=with_engine)
    for message in kb.import_notes:
        note(message)
    return kb


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cd38kg")
@click.option("--store", "store_dir", metavar="DIR", envvar="CD38KG_STORE_DIR",
              help="Keep the knowledge base in an on-disk Oxigraph store in DIR: loaded once, reopened in "
              "a fraction of a second (env CD38KG_STORE_DIR).")
@click.option("--endpoint", metavar="URL", envvar="CD38KG_ENDPOINT",
              help="Read the knowledge base from a SPARQL 1.1 endpoint (a lab's Oxigraph or Virtuoso), "
              "fetching only the neighbourhood the questions need (env CD38KG_ENDPOINT).")
def cli(store_dir: str | None, endpoint: str | None) -> None:
    """Knowledge graph and reasoning engine for CD38-targeting antibodies in multiple myeloma."""


@cli.command()
@extra_option
@format_option()
def info(extras: tuple[str, ...], fmt: str) -> None:
    """What the knowledge base holds: counts per kind, class, source and evidence level."""
    from .render_text import print_info
    from .render_tsv import info_table

    summary = load_kb(extras, with_engine=False).info()
    emit(fmt, summary, info_table, lambda: print_info(summary))


@cli.command()
@click.option("--type", "kind", help="Entity type: drug/agent, antibody, cell, molecule, mechanism, resistance, "
              "patient-factor, trial, class, ...")
@click.option("--search", help="Text to look for in labels, synonyms and identifiers.")
@extra_option
@format_option()
def entities(kind: str | None, search: str | None, extras: tuple[str, ...], fmt: str) -> None:
    """List entities, optionally of one type and matching a search text."""
    from .render_text import print_entities
    from .render_tsv import entities_table

    kb = load_kb(extras, with_engine=False)
    found = kb.entities(kind=kind, search=search)
    data = [{**e.to_json(), "types": [kb.names.entities[t].curie if t in kb.names.entities else t for t in e.types]}
            for e in found]
    emit(fmt, data, entities_table, lambda: print_entities(kb, found))


def weights_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--weights FILE``: a JSON file overriding scoring weights (see README)."""
    return click.option("--weights", "weights_file", type=click.Path(dir_okay=False),
                        help="JSON file overriding scoring weights.")(func)


def load_weights(path: str | None) -> Any:
    if not path:
        return None
    from ..engine.scoring import ScoringWeights

    return ScoringWeights.from_file(path)


def html_out(fmt: str, out: str | None) -> None:
    """Check ``--format html`` has ``--out`` (and only then)."""
    if fmt == "html" and not out:
        raise Cd38kgError("--format html needs --out FILE")
    if out and fmt != "html":
        raise Cd38kgError("--out is only used with --format html")


@cli.command()
@click.option("--combination", "-c", required=True, help='Agents joined by "+", e.g. "daratumumab + ATRA".')
@click.option("--resistance", "-r", required=True, help="Resistance mechanism (label, synonym or CURIE).")
@click.option("--antibody", help="Anti-CD38 antibody, if the combination does not name one.")
@click.option("--without", multiple=True, metavar="STATEMENT",
              help="Ablate a statement: a finding id or 'subject | predicate | object'; repeatable.")
@weights_option
@extra_option
@format_option("html")
@click.option("--out", type=click.Path(dir_okay=False), help="Output file for --format html.")
def explain(combination: str, resistance: str, antibody: str | None, without: tuple[str, ...],
            weights_file: str | None, extras: tuple[str, ...], fmt: str, out: str | None) -> None:
    """Why should COMBINATION counter RESISTANCE? Verdict, causal chains, sources, conflicts."""
    html_out(fmt, out)
    from ..kb import combination_names

    weights = load_weights(weights_file)
    kb = load_kb(extras, question=[*combination_names(combination), resistance, *([antibody] if antibody else [])],
                 weights=weights)
    with step("Explaining"):
        result = kb.explain(combination, resistance, antibody=antibody, without=without, weights=weights)
    if fmt == "html":
        from .render_html import explanation_html, write_html

        with step("Drawing the explanation"):
            write_html(explanation_html(kb, result), out)  # type: ignore[arg-type]
        note(f"wrote {out}")
        return
    from ..serialize import explain_json
    from .render_text import print_explanation
    from .render_tsv import explanation_table

    emit(fmt, explain_json(result), explanation_table, lambda: print_explanation(result))


@cli.command()
@click.option("--resistance", "-r", help="Resistance mechanism (label, synonym or CURIE).")
@click.option("--all", "screen_all", is_flag=True,
              help="Screen every resistance mechanism against every anti-CD38 antibody it impairs: TSV rows, "
                   "or JSON Lines (one answer per pair) with --format json.")
@click.option("--antibody", help="The anti-CD38 antibody in use (default: the best-characterised one it impairs).")
@click.option("--top", type=click.IntRange(1, 500), default=10, show_default=True, help="How many hypotheses.")
@click.option("--without", multiple=True, metavar="STATEMENT", help="Ablate a statement; repeatable.")
@weights_option
@extra_option
@format_option("html")
@click.option("--out", type=click.Path(dir_okay=False), help="Output file for --format html.")
def hypotheses(resistance: str | None, screen_all: bool, antibody: str | None, top: int, without: tuple[str, ...],
               weights_file: str | None, extras: tuple[str, ...], fmt: str, out: str | None) -> None:
    """Rank partners and antibody switches against RESISTANCE, marked reported or novel."""
    if screen_all:
        if resistance or antibody or without or fmt == "html":
            raise click.UsageError("--all screens every resistance and antibody; it takes no --resistance, "
                                   "--antibody, --without or --format html")
        screen(top, weights_file, extras, fmt)
        return
    if not resistance:
        raise click.UsageError("give --resistance NAME, or --all to screen every resistance mechanism")
    html_out(fmt, out)
    weights = load_weights(weights_file)
    kb = load_kb(extras, weights=weights)
    with step(f"Ranking partners against {resistance}"):
        ranked = kb.hypotheses(resistance, antibody=antibody, top=top, without=without, weights=weights)
    target = kb.entity(resistance, kind="resistance", role="resistance mechanism")
    chosen = ranked[0].antibody if ranked else (kb.entity(antibody, kind="antibody") if antibody else None)
    why = "" if ranked else kb.why_no_hypotheses(resistance, antibody)
    if fmt == "html":
        from .render_html import hypotheses_html, write_html

        with step("Drawing the hypotheses"):
            write_html(hypotheses_html(kb, target, ranked), out)  # type: ignore[arg-type]
        note(f"wrote {out}")
        return
    from ..serialize import hypotheses_json
    from .render_text import print_hypotheses
    from .render_tsv import hypotheses_table

    data = {**hypotheses_json(target, chosen, ranked), **({"message": why} if why else {})}
    emit(fmt, data, hypotheses_table, lambda: print_hypotheses(target, ranked, why))


def screen(top: int, weights_file: str | None, extras: tuple[str, ...], fmt: str) -> None:
    """``hypotheses --all``: one answer per (resistance, antibody) pair, streamed as it is ranked."""
    from ..serialize import hypotheses_json
    from .render_tsv import HYPOTHESIS_COLUMNS, hypothesis_row, to_tsv

    weights = load_weights(weights_file)
    kb = load_kb(extras, weights=weights)
    if fmt != "json":
        click.echo(to_tsv((HYPOTHESIS_COLUMNS, [])), nl=False)
    for number, (resistance, antibody, ranked) in enumerate(kb.screen(top, weights), 1):
        note(f"screened {number}: {resistance.label} with {antibody.label} ({len(ranked)} hypotheses)")
        data = hypotheses_json(resistance, antibody, ranked)
        if fmt == "json":
            click.echo(json.dumps(data, ensure_ascii=False))
        else:
            rows = [hypothesis_row(data["resistance"], h) for h in data["hypotheses"]]
            click.echo(to_tsv((HYPOTHESIS_COLUMNS, rows)).split("\n", 1)[1], nl=False)


@cli.command()
@extra_option
@format_option()
def evaluate(extras: tuple[str, ...], fmt: str) -> None:
    """Score the engine against what the reviews propose (recall@3/@5, wrong verdicts)."""
    from .render_text import print_evaluation
    from .render_tsv import evaluation_table

    kb = load_kb(extras)
    with step("Evaluating against the reviews' proposals"):
        result = kb.evaluate()
    emit(fmt, result.to_json(), evaluation_table, lambda: print_evaluation(result))


@cli.command()
@click.argument("profile_file", metavar="FILE.yaml", type=click.Path(dir_okay=False), callback=user_files)
@click.option("--top", type=click.IntRange(1, 100), default=10, show_default=True, help="How many combinations.")
@extra_option
@format_option()
def profile(profile_file: str, top: int, extras: tuple[str, ...], fmt: str) -> None:
    """From a patient profile (a file, or a shipped example's name) to likely resistance mechanisms and
    combinations that address them."""
    from .render_text import print_profile
    from .render_tsv import profile_table

    kb = load_kb(extras)
    with step("Assessing the profile"):
        result = kb.profile(profile_file, top=top)
    emit(fmt, result.to_json(), profile_table, lambda: print_profile(result))


@cli.command("build-cache")
def build_cache() -> None:
    """Re-run HermiT on the bundled ontology and rewrite its shipped inference cache (developers)."""
    from ..knowledge.loader import write_bundled_inferences

    path = write_bundled_inferences()
    note(f"wrote {path}")


@cli.command()
@extra_option
@format_option()
def validate(extras: tuple[str, ...], fmt: str) -> None:
    """Check the knowledge base and --extra files: SHACL shapes, references, OWL consistency (HermiT)."""
    from pathlib import Path

    from ..errors import ValidationFailed
    from ..knowledge.validate import validate as run_validation
    from .render_tsv import problems_table

    report = run_validation([Path(p) for p in extras])

    def show() -> None:
        for problem in report.problems:
            click.echo(str(problem))
        if report.ok:
            click.echo(report.summary())

    emit(fmt, report.to_json(), problems_table, show)
    if not report.ok:
        raise ValidationFailed([str(p) for p in report.problems])


@cli.command()
@click.argument("name", metavar="NAME-or-FILE.rq", required=False)
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="Value of a query parameter (a name, synonym or CURIE for entities); repeatable.")
@click.option("--list", "list_only", is_flag=True, help="List the named queries and their parameters.")
@click.option("--timeout", type=float, default=60.0, show_default=True,
              help="Seconds the query may run before it is stopped.")
@extra_option
@format_option("csv")
def query(name: str | None, params: tuple[str, ...], list_only: bool, timeout: float, extras: tuple[str, ...],
          fmt: str) -> None:
    """Run a named competency query (see --list) or your own SPARQL file; json is W3C SPARQL JSON."""
    from .queries import query_command

    click.echo(query_command(name, params, fmt=fmt, extras=extras, list_only=list_only, timeout=timeout,
                             store=None if list_only else chosen_store()), nl=False)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8038, show_default=True, help="Port (0: any free port).")
@click.option("--timeout", type=float, default=10.0, show_default=True,
              help="Seconds a query may run (and may wait for a free worker).")
@click.option("--max-rows", type=click.IntRange(1), default=10_000, show_default=True, help="Result size cap.")
@click.option("--max-concurrent", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Queries evaluated at once, each in its own worker process; others wait.")
@click.option("--cors", metavar="ORIGIN", help="Allow browser pages from ORIGIN (or *) to query the endpoint.")
@click.option("--allow-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Another host name clients may use to reach the server; repeatable.")
@extra_option
def serve(host: str, port: int, timeout: float, max_rows: int, max_concurrent: int, cors: str | None,
          allowed_hosts: tuple[str, ...], extras: tuple[str, ...]) -> None:
    """Serve the knowledge base as a read-only SPARQL 1.1 endpoint (/sparql) with a query page (/).

    It has no authentication: keep the default 127.0.0.1 and share it through a reverse proxy.
    """
    from .server import serve as run_server

    run_server(extras=extras, host=host, port=port, timeout=timeout, max_rows=max_rows, cors=cors,
               allowed_hosts=allowed_hosts, max_concurrent=max_concurrent, store=chosen_store())


@cli.group()
def export() -> None:
    """Export the knowledge graph to other formats."""


@export.command("html")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The HTML file to write.")
@click.option("--focus", help="Draw only the neighbourhood of this entity (label, synonym or CURIE).")
@click.option("--depth", type=click.IntRange(0, 10), default=2, show_default=True,
              help="With --focus: how many links away from it to go.")
@extra_option
def export_html(out: str, focus: str | None, depth: int, extras: tuple[str, ...]) -> None:
    """One self-contained, offline HTML page: the whole graph, or the neighbourhood of --focus."""
    from .render_html import graph_html, write_html

    kb = load_kb(extras)
    with step("Drawing the graph"):
        write_html(graph_html(kb, focus=focus, depth=depth), out)
    note(f"wrote {out}")


@export.command("kgx")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="The folder to write into.")
@extra_option
def export_kgx(out_dir: str, extras: tuple[str, ...]) -> None:
    """Biolink KGX: nodes and edges as TSV and JSON Lines (nodes.tsv, edges.tsv, nodes.jsonl, edges.jsonl)."""
    from ..io.kgx import to_kgx

    summary = to_kgx(load_kb(extras, with_engine=False), out_dir)
    note(f"wrote {summary['nodes']} nodes and {summary['edges']} edges to {out_dir}")


@cli.command()
@click.argument("name", required=False)
@click.option("--out", type=click.Path(dir_okay=False), help="Write the example to this file instead of printing it.")
@format_option()
def example(name: str | None, out: str | None, fmt: str) -> None:
    """List the example inputs that ship with cd38kg, or print one (NAME), or copy it (--out FILE).

    Their names also work in place of a file: ``--extra my_findings.tsv``, ``profile patient-relapsed.yaml``.
    """
    from ..resources import example_file, example_summaries

    if name is None:
        if out:
            raise Cd38kgError("--out needs the NAME of an example")
        from .render_text import print_examples
        from .render_tsv import examples_table

        listing = example_summaries()
        emit(fmt, listing, examples_table, lambda: print_examples(listing))
        return
    text = example_file(name).read_text(encoding="utf-8")
    if out:
        from ..store import write_text

        write_text(text, out)
        note(f"wrote {out}")
    else:
        click.echo(text, nl=False)


def main() -> None:
    """Console-script entry point: run the CLI, turning user errors into one-line messages."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as err:
        where = err.ctx.command_path if err.ctx else "cd38kg"
        click.echo(f"error: {err.format_message()} (see '{where} --help')", err=True)
        sys.exit(err.exit_code)
    except click.ClickException as err:
        click.echo(f"error: {err.format_message()}", err=True)
        sys.exit(err.exit_code)
    except Cd38kgError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(err.exit_code)
    except BrokenPipeError:
        sys.exit(0)


if __name__ == "__main__":
    main()
