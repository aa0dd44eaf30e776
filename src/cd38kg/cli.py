"""The ``cd38kg`` command line: a thin layer over :class:`cd38kg.KnowledgeBase`.

Each command parses its options, calls one API function and prints the result. User
errors (:class:`cd38kg.errors.Cd38kgError`) become one line on stderr and a non-zero exit;
nothing heavy is imported until a command runs, so ``cd38kg --help`` is instant.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from . import __version__
from .errors import Cd38kgError

if TYPE_CHECKING:
    from .kb import KnowledgeBase


def extra_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--extra FILE`` (repeatable): user Turtle or TSV files added to the knowledge base."""
    return click.option("--extra", "extras", multiple=True, type=click.Path(dir_okay=False),
                        help="Extra Turtle (.ttl) or TSV (.tsv) file to load; repeatable.")(func)


def format_option(*choices: str, default: str = "text") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        return click.option("--format", "fmt", type=click.Choice(choices), default=default, show_default=True,
                            help="Output format.")(func)
    return decorate


def load_kb(extras: tuple[str, ...], reason: str = "cache") -> KnowledgeBase:
    from .kb import KnowledgeBase

    return KnowledgeBase.load(extras=extras, reason=reason)  # type: ignore[arg-type]


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cd38kg")
def cli() -> None:
    """Knowledge graph and reasoning engine for CD38-targeting antibodies in multiple myeloma."""


@cli.command()
@extra_option
@format_option("text", "json")
def info(extras: tuple[str, ...], fmt: str) -> None:
    """What the knowledge base holds: counts per kind, class, source and evidence level."""
    summary = load_kb(extras).info()
    if fmt == "json":
        emit_json(summary)
        return
    from .render_text import print_info

    print_info(summary)


@cli.command()
@click.option("--type", "kind", help="Entity type: drug/agent, antibody, cell, molecule, mechanism, resistance, "
              "patient-factor, trial, class, ...")
@click.option("--search", help="Text to look for in labels, synonyms and identifiers.")
@extra_option
@format_option("table", "json", default="table")
def entities(kind: str | None, search: str | None, extras: tuple[str, ...], fmt: str) -> None:
    """List entities, optionally of one type and matching a search text."""
    kb = load_kb(extras)
    found = kb.entities(kind=kind, search=search)
    if fmt == "json":
        emit_json([{**e.to_json(), "types": [kb.names.entities[t].curie if t in kb.names.entities else t
                                             for t in e.types]} for e in found])
        return
    from .render_text import print_entities

    print_entities(kb, found)


def main() -> None:
    """Console-script entry point: run the CLI, turning user errors into one-line messages."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except Cd38kgError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(err.exit_code)
    except BrokenPipeError:
        sys.exit(0)


if __name__ == "__main__":
    main()
