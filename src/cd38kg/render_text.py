"""Human-readable terminal output (rich tables), kept apart from the API and the CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .kb import KnowledgeBase
    from .model import Entity


def console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _table(title: str, *columns: str) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def print_info(summary: dict[str, Any]) -> None:
    """Print ``KnowledgeBase.info()`` as a few small tables."""
    out = console()
    out.print(f"[bold]cd38kg knowledge base[/bold]: {summary['triples']} triples, {summary['entities']} entities, "
              f"{summary['findings']} findings, {summary['claims']} literature claims, "
              f"{summary['conflicts']} marked conflicts")
    if summary["extras"]:
        out.print("extra files: " + ", ".join(summary["extras"]))
    for key, title in (("per_kind", "Entities per kind"), ("per_source", "Findings per source"),
                       ("per_evidence_level", "Findings per evidence level"), ("per_class", "Members per class")):
        table = _table(title, "name", "count")
        for name, count in summary[key].items():
            table.add_row(str(name), str(count))
        out.print(table)


def print_entities(kb: KnowledgeBase, found: list[Entity]) -> None:
    """Print entities as a table of id, label, kind and synonyms."""
    out = console()
    table = _table(f"{len(found)} entities", "id", "label", "kind", "synonyms")
    for entity in found:
        table.add_row(entity.curie, entity.label, kb.kind_of(entity), "; ".join(entity.synonyms))
    out.print(table)
