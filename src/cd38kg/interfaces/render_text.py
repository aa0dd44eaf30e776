"""Human-readable terminal output (rich tables), kept apart from the API and the CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..kb import KnowledgeBase
    from ..model import Entity


def console() -> Any:
    import shutil

    from rich.console import Console

    return Console(highlight=False, width=max(120, shutil.get_terminal_size((160, 40)).columns))


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
        rows = list(summary[key].items())
        if len(rows) > _INFO_ROWS:  # thousands of classes or sources in a large extension: the largest
            shown = sorted(sorted(rows, key=lambda row: -row[1])[:_INFO_ROWS])
            title += f" (the {_INFO_ROWS} largest of {len(rows)}; --format json or tsv lists all)"
            rows = shown
        table = _table(title, "name", "count")
        for name, count in rows:
            table.add_row(str(name), str(count))
        out.print(table)


#: Rows an info table shows before it keeps only the largest (the terminal is not a report).
_INFO_ROWS = 40


def print_entities(kb: KnowledgeBase, found: list[Entity]) -> None:
    """Print entities as a table of id, label, kind and synonyms."""
    out = console()
    table = _table(f"{len(found)} entities", "id", "label", "kind", "synonyms")
    for entity in found:
        table.add_row(entity.curie, entity.label, kb.kind_of(entity), "; ".join(entity.synonyms))
    out.print(table)


_VERDICT_STYLE = {"overcomes": "bold green", "partial": "yellow", "mixed": "magenta", "does-not": "red",
                  "unknown": "dim"}


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def print_explanation(result: Any) -> None:
    """A verdict line, the mechanisms, the causal chains in plain English, and conflicts."""
    out = console()
    style = _VERDICT_STYLE.get(result.verdict.value, "")
    names = " + ".join(e.label for e in result.combination)
    out.print(f"[bold]{_escape(names)}[/bold] against [bold]{_escape(result.resistance.label)}[/bold]: "
              f"[{style}]{result.verdict.value}[/{style}]  (score {result.score:.4f}; outcome {result.outcome.value})"
              + (" [bold]extrapolated[/bold]" if result.extrapolated else ""))
    out.print(_escape(result.message.split(": ", 1)[-1] if result.outcome.value == "ok" else result.message))
    if result.mechanisms:
        table = _table("Mechanisms the resistance impairs", "mechanism", "status", "how", "reliance", "impairment",
                       "weight", "support", "harm")
        for m in result.mechanisms:
            table.add_row(_escape(m["mechanism"]["label"]), m["status"], _escape(m.get("how", "")), f"{m['reliance']:.2f}",
                          f"{m['impairment']:.3f}", f"{m['weight']:.3f}", f"{m['support']:.3f}", f"{m['harm']:.3f}")
        out.print(table)
    if result.extrapolated:
        out.print("\n[bold]Extrapolated from a class[/bold] (known for the agent only through its class):")
        for item in result.extrapolated:
            out.print(f"  - {_escape(item['statement'])}")
    if result.caveats:
        out.print("\n[bold]Caveats[/bold] (harm below the material share of the help):")
        for caveat in result.caveats:
            out.print(f"  - {_escape(caveat['mechanism'])}: {_escape(' -> '.join(caveat['steps']))}")
    shown: set[tuple[str, ...]] = set()
    for steps in result.explanations:
        key = tuple(s.sentence for s in steps)
        if key in shown:
            continue
        shown.add(key)
        heading = "What the resistance takes away" if steps[0].role == "resistance" else "What the partner does"
        last = steps[-1]
        target = last.subject if last.predicate.reverse else last.object
        out.print(f"\n[bold]{heading}[/bold] (towards {_escape(target.label)}):")
        for number, step in enumerate(steps, 1):
            marker = "+" if step.sign > 0 else "-"
            out.print(f"  {number}. ({marker}) {_escape(step.sentence)}")
    if result.conflicts:
        out.print("\n[bold]Evidence against / conflicting evidence[/bold]:")
        for conflict in result.conflicts:
            a, b = conflict.finding, conflict.other
            out.print(f"  - {_escape(conflict.note)}")
            out.print(f"      for: {_escape(a.note)} [{_escape(a.source.removeprefix('https://doi.org/'))} §{_escape(a.section)}]")
            out.print(f"      against: {_escape(b.note)} [{_escape(b.source.removeprefix('https://doi.org/'))} §{_escape(b.section)}]")


def print_hypotheses(resistance: Any, hypotheses: list[Any], note: str = "") -> None:
    """A ranked table of hypotheses with verdict, status and score."""
    out = console()
    if not hypotheses:
        out.print(_escape(f"No hypotheses against {resistance.label}: {note}."))
        return
    antibody = hypotheses[0].antibody.label
    table = _table(f"Hypotheses against {resistance.label} (antibody in use: {antibody})", "#", "partner / switch",
                   "kind", "verdict", "status", "score", "also", "mechanisms")
    for rank, hyp in enumerate(hypotheses, 1):
        mechanisms = ", ".join(f"{m['mechanism']['label']}:{m['status']}" for m in hyp.result.mechanisms)
        verdict = hyp.result.verdict.value + (" (extrapolated)" if hyp.result.extrapolated else "")
        table.add_row(str(rank), _escape(hyp.partner.label), hyp.kind, verdict, hyp.status,
                      f"{hyp.score:.4f}", _escape(", ".join(e.label for e in hyp.equivalents)), _escape(mechanisms))
    out.print(table)


def print_evaluation(result: Any) -> None:
    """Recall per resistance mechanism and overall, and any wrong verdicts."""
    out = console()
    out.print(f"[bold]Overall[/bold]: expert agreement {result.expert_agreement:.3f}, "
              f"recall@3 {result.recall_at_3:.3f}, recall@5 {result.recall_at_5:.3f}, recall@10 {result.recall_at_10:.3f}; "
              f"wrong 'overcomes' verdicts on {result.counter_examples_checked} counter-example checks: "
              f"{len(result.wrong_verdicts)}")
    table = _table("Per resistance mechanism", "resistance", "claimed strategies", "recall@3", "recall@5", "missed@5")
    for row in result.per_resistance:
        table.add_row(_escape(row["resistance"]["label"]), _escape(", ".join(row["claimed"])), f"{row['recall@3']:.2f}",
                      f"{row['recall@5']:.2f}", _escape(", ".join(row["missed@5"])))
    out.print(table)
    for wrong in result.wrong_verdicts:
        out.print(f"[red]wrong verdict[/red]: {wrong}")
    passed = sum(a.passed for a in result.expert)
    out.print(f"[bold]Expert agreement[/bold]: {passed} of {len(result.expert)} questions "
              f"({result.expert_agreement:.3f})")
    for answer in result.expert:
        if not answer.passed:
            out.print(f"  [red]disagrees[/red] {_escape(answer.id)}: {_escape('; '.join(answer.problems))}")


def as_written(value: Any) -> str:
    """A profile value as a person writes it: lists joined with commas, not Python reprs."""
    if isinstance(value, list | tuple):
        return ", ".join(as_written(v) for v in value)
    return str(value)


def print_profile(result: Any) -> None:
    """Active mechanisms with why, ranked combinations, caveats."""
    out = console()
    antibody = result.antibody.label if result.antibody else "none"
    out.print(f"[bold]{_escape(result.patient)}[/bold] (antibody: {_escape(antibody)})")
    if not result.active:
        out.print("No resistance mechanism is indicated by this profile.")
    for item in result.active:
        contested = "; contested: stronger evidence points the other way" if item.contested else ""
        out.print(f"\n[bold]{_escape(item.resistance.label)}[/bold] (weight {item.weight:.2f}{contested}) because:")
        for reason in item.reasons:
            out.print("  - " + _escape(f"{reason['factor']} = {as_written(reason['value'])}: {reason['note']} "
                                       f"[{reason['evidence_level']}; {reason['doi']} §{reason['section']}]"
                                       + (" (contested)" if reason.get("contested") else "")))
    if result.combinations:
        table = _table("Combinations addressing these mechanisms together", "#", "partner", "addresses", "score",
                       "per mechanism", "notes")
        for row in result.combinations:
            per = "; ".join(f"{k}: {v['verdict']}" + (f" ({v['status']})" if "status" in v else "")
                            + (", extrapolated" if v.get("extrapolated") else "")
                            for k, v in row["per_mechanism"].items())
            label = row["partner"]["label"] + (" (extrapolated from its class)" if row.get("extrapolated") else "")
            table.add_row(str(row["rank"]), _escape(label), f"{row['addresses']}/{row['of']}",
                          f"{row['score']:.4f}", _escape(per), _escape("; ".join(row["notes"])))
        out.print(table)
    if result.caveats:
        out.print("\n[bold]Caveats[/bold]:")
        for caveat in result.caveats:
            where = f" [{caveat.get('doi', '')} §{caveat.get('section', '')}]" if caveat.get("doi") else ""
            out.print("  - " + _escape(f"{caveat['about']}: {caveat['note']}{where}"))


def print_examples(listing: list[dict[str, str]]) -> None:
    """The shipped example inputs and how to use them."""
    table = _table("Example inputs (cd38kg example NAME prints one; --out FILE copies it)", "name", "use", "description")
    for item in listing:
        table.add_row(item["name"], item["kind"], _escape(item["description"]))
    console().print(table)
