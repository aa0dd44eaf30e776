"""The scoring rule's weights, in one documented, configurable place.

The rule (README, "How scores are built"), chosen so a scientist can recompute a score by
hand from the breakdown and so that facts leading nowhere never move it:

* an **edge** weighs ``evidence[level of its best finding] × magnitude[stated magnitude]``,
  × ``extrapolated`` when the subject is known to do this only through its class, and
  × ``contested`` when a finding reports no effect for the same statement;
* a **path** is as strong as its weakest edge: a short chain is not stronger than a long
  one for being short, so a one-step table cell at hypothesis level cannot outweigh a
  chain of experimentally shown steps;
* a partner's **support** for a mechanism is its best positive path × its kind factor
  (``restores`` when it undoes the resistance's own change in the same aspect and cell
  context, ``escapes`` when it adds effector cells lacking the molecule the resistance
  acts through, ``compensates`` when it acts on a node the resistance changes but in
  another aspect or downstream of the resistance's own change, ``parallel`` when it reaches
  the mechanism by a route that avoids the resistance's changes altogether,
  ``exposed`` when the cells it adds carry that very molecule (NKG2A-high NK-92 cells
  against HLA-E), ``contested_restoration`` when it refills a population the resistance
  keeps depleting, unless the partner itself blocks that depletion: then it restores, and the
  blocking statement's weight caps the path's);
  its **harm** is its best negative path (× ``aggravates`` when it deepens a change the
  resistance makes, × ``parallel`` for harm by another route);
* ``ω_M`` is the share of the antibody's activity that runs through M (its reliance on M
  over the largest total reliance of any anti-CD38 antibody, so an antibody known through
  fewer mechanisms gains nothing from that) × M's impairment relative to the most impaired
  mechanism, so a partner scores higher when it rescues more of what the antibody depends
  on (ATRA against complement inhibitors matters more for CDC-reliant daratumumab than for
  isatuximab);
* the **net benefit** ``s = Σ_M ω_M (support_M − harm_M)`` lies in [0, 1]; the
  **score** places it in the verdict's third of the scale, ``(band + s) / 3`` with band
  2 for overcomes, 1 for partial, 0 for mixed (0 for does-not and unknown), so ranks by
  score never put a weaker verdict above a stronger one;
* harm is **material** (the verdict becomes *mixed*) when ``Σ ω harm ≥ material_harm ×
  Σ ω support``; smaller harm is a caveat shown with its source.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import Cd38kgError
from ..store import read_text


@dataclass(frozen=True)
class ScoringWeights:
    """Every number the scoring rule uses; override any of them from a JSON file."""

    evidence: dict[str, float] = field(default_factory=lambda: {
        "hypothesis": 0.3, "in vitro": 0.5, "ex vivo": 0.6, "animal model": 0.65, "case series": 0.7,
        "phase 1": 0.75, "phase 2": 0.85, "phase 3": 0.95, "approved": 1.0,
    })
    magnitude: dict[str, float] = field(default_factory=lambda: {
        "strong": 1.0, "moderate": 0.7, "weak": 0.4, "": 1.0,
    })
    contested: float = 0.7
    extrapolated: float = 0.8
    restores: float = 1.0
    escapes: float = 0.8
    compensates: float = 0.5
    parallel: float = 0.3
    exposed: float = 0.1
    contested_restoration: float = 0.5
    aggravates: float = 1.0
    material_harm: float = 0.25
    max_path_length: int = 5

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_file(cls, path: str | Path) -> ScoringWeights:
        """Weights from a JSON file holding any subset of the fields (others keep defaults)."""
        text = read_text(Path(path))
        def refuse(constant: str) -> None:
            raise Cd38kgError(f"{path}: {constant} is not a weight; weights are finite numbers")

        try:
            data = json.loads(text, parse_constant=refuse)
        except json.JSONDecodeError as err:
            raise Cd38kgError(f"{path}:{err.lineno}: bad JSON in weights file: {err.msg}") from None
        if not isinstance(data, dict):
            raise Cd38kgError(f"{path}: the weights file must hold a JSON object")
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        defaults = cls()
        for key, value in data.items():
            if key not in known:
                raise Cd38kgError(f"{path}: unknown weight {key!r}; known: {', '.join(sorted(known))}")
            current = getattr(defaults, key)
            if isinstance(current, dict):
                if not isinstance(value, dict) or not all(isinstance(v, int | float) for v in value.values()):
                    raise Cd38kgError(f"{path}: {key} must map names to numbers")
                unknown = set(value) - set(current)
                if unknown:
                    raise Cd38kgError(f"{path}: unknown {key} name(s) {', '.join(sorted(unknown))}")
                values[key] = {**current, **value}
            elif isinstance(current, int) and key == "max_path_length":
                if not isinstance(value, int) or not 1 <= value <= 8:
                    raise Cd38kgError(f"{path}: max_path_length must be a whole number from 1 to 8")
                values[key] = value
            else:
                if not isinstance(value, int | float) or value < 0:
                    raise Cd38kgError(f"{path}: {key} must be a non-negative number")
                values[key] = float(value)
        return cls(**values)
