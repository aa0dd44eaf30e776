"""The scoring rule's weights, in one documented, configurable place.

The rule (README, "How scores are built"):

* an **edge** weighs ``evidence[level of its best finding] × magnitude[stated magnitude]``,
  times ``contested`` when a finding reports no effect for the same statement;
* a **path** weighs the product of its edges × ``length_decay ** (edges - 1)`` ×
  ``Π degree(v) ** -hub_damping`` over its inner nodes, so routes through hubs (NK cells,
  CD38 on myeloma cells) do not win merely by having many neighbours — the same damping
  as the degree-weighted path count;
* a partner's **support** for a mechanism is its best positive path × the kind factor
  (``restores`` at the lesion, ``parallel`` route, ``contested`` restoration of a
  population the resistance keeps depleting); its **harm** is its best negative path
  (× ``aggravates`` when it deepens the lesion itself);
* the **score** is ``Σ_M ω_M (support_M − harm_M)`` over the mechanisms the resistance
  impairs, with ``ω_M`` = the share of the antibody's activity that runs through M (its
  reliance on M over its total reliance) × M's impairment relative to the most impaired
  mechanism. A partner thus scores higher when it rescues more of what the antibody
  actually depends on: ATRA against complement inhibitors scores far higher with
  daratumumab (CDC-reliant) than with isatuximab (which hardly uses CDC).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import Cd38kgError
from .store import read_text


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
    length_decay: float = 0.8
    hub_damping: float = 0.3
    restores: float = 1.0
    parallel: float = 0.6
    contested_restoration: float = 0.5
    aggravates: float = 1.0
    max_path_length: int = 5

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_file(cls, path: str | Path) -> ScoringWeights:
        """Weights from a JSON file holding any subset of the fields (others keep defaults)."""
        text = read_text(Path(path))
        try:
            data = json.loads(text)
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
