"""Tab-separated output (``--format tsv``): each answer as one flat table for spreadsheets and shell tools.

Every function takes the documented JSON form of a result (so TSV can never say something the
JSON does not) and returns a header and rows; :func:`to_tsv` writes them. Cells never contain
tabs or line breaks, and lists are written as people write them ("a, b").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Table = tuple[Sequence[str], list[Sequence[Any]]]


def to_tsv(table: Table) -> str:
    """The table as TSV text with a header line."""
    header, rows = table
    return "".join("\t".join(_cell(v) for v in row) + "\n" for row in [header, *rows])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    return " ".join(str(value).split())


def _labels(entities: Iterable[dict[str, Any]]) -> list[str]:
    return [e["label"] for e in entities]


def info_table(summary: dict[str, Any]) -> Table:
    """Counts: totals, then per kind, class, source and evidence level."""
    rows: list[Sequence[Any]] = [("total", key, summary[key])
                                 for key in ("triples", "entities", "findings", "claims", "conflicts")]
    for group, key in (("kind", "per_kind"), ("class", "per_class"), ("source", "per_source"),
                       ("evidence level", "per_evidence_level")):
        rows += [(group, name, count) for name, count in summary[key].items()]
    return ("group", "name", "count"), rows


def entities_table(found: list[dict[str, Any]]) -> Table:
    """One entity per row."""
    return ("id", "label", "types", "synonyms"), [(e["id"], e["label"], e.get("types", []), e["synonyms"]) for e in found]


def explanation_table(result: dict[str, Any]) -> Table:
    """One step of a causal chain per row, with the verdict repeated (one row if there is no chain)."""
    head = (result["resistance"]["label"], _labels(result["combination"]), result["verdict"], result["score"])
    rows: list[Sequence[Any]] = []
    for chain, steps in enumerate(result["explanations"], 1):
        for number, step in enumerate(steps, 1):
            sources = [f"{s['doi']} §{s['section']}" for s in step["sources"]]
            rows.append((*head, chain, number, step["role"], step["sign"], step["sentence"], step["evidence_level"], sources))
    if not rows:
        rows.append((*head, "", "", "", "", result["message"], "", ""))
    return ("resistance", "combination", "verdict", "score", "chain", "step", "role", "sign", "statement",
            "evidence_level", "sources"), rows


def hypotheses_table(answer: dict[str, Any]) -> Table:
    """One ranked hypothesis per row, with the factors of its score breakdown as columns."""
    return HYPOTHESIS_COLUMNS, [hypothesis_row(answer["resistance"], h) for h in answer["hypotheses"]]


HYPOTHESIS_COLUMNS = ("resistance", "rank", "partner", "antibody", "kind", "verdict", "score", "band", "net_benefit",
                      "support", "harm", "extrapolated", "status", "equivalents", "mechanisms", "how", "first_step",
                      "first_step_evidence")


def hypothesis_row(resistance: dict[str, Any], h: dict[str, Any]) -> Sequence[Any]:
    """A hypothesis as one row: the score's factors, how it acts per mechanism, where it enters."""
    breakdown = h["score_breakdown"]
    steps = [s for chain in h["explanation"]["explanations"] for s in chain if s["role"] == "partner"]
    first = steps[0] if steps else None
    return (resistance["label"], h["rank"], h["partner"]["label"], h["antibody"]["label"], h["kind"], h["verdict"],
            h["score"], breakdown.get("band"), breakdown.get("net_benefit"), breakdown.get("support"),
            breakdown.get("harm"), h["extrapolated"], h["status"], _labels(h["equivalents"]),
            [f"{m['mechanism']['label']}: {m['status']}" for m in h["mechanisms"]],
            [m["how"] for m in h["mechanisms"] if m.get("how")],
            first["sentence"] if first else "", first["evidence_level"] if first else "")


def evaluation_table(result: dict[str, Any]) -> Table:
    """Recall per resistance mechanism."""
    return ("resistance", "claimed", "recall@3", "recall@5", "missed@5", "top5"), [
        (r["resistance"]["label"], r["claimed"], r["recall@3"], r["recall@5"], r["missed@5"], r["top5"])
        for r in result["per_resistance"]]


def profile_table(result: dict[str, Any]) -> Table:
    """The ranked combinations for a profile, each with its verdict per active mechanism."""
    return ("rank", "partner", "addresses", "of", "score", "per_mechanism", "notes"), [
        (c["rank"], c["partner"]["label"], c["addresses"], c["of"], c["score"],
         [f"{name}: {v['verdict']}" + (f" ({v['status']})" if "status" in v else "") for name, v in c["per_mechanism"].items()],
         c["notes"])
        for c in result["combinations"]]


def problems_table(report: dict[str, Any]) -> Table:
    """One validation problem per row (no rows: the check passed)."""
    return ("file", "line", "problem"), [(p["file"], p["line"], p["message"]) for p in report["problems"]]


def examples_table(examples: list[dict[str, str]]) -> Table:
    """The shipped example inputs."""
    return ("name", "kind", "description"), [(e["name"], e["kind"], e["description"]) for e in examples]
