"""Resolving the names people type to entities.

Labels, synonyms, CURIEs (``kb:atra``, ``CHEBI:15367``) and full IRIs all work, in any
case, with Greek letters and punctuation folded (``FcgRIIIA`` finds ``FcγRIIIA``). An
unknown name fails with near matches; an ambiguous one lists its candidates.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any

from ..errors import AmbiguousEntityError, NameTooLongError, UnknownEntityError, WrongKindError
from ..model import Entity
from ..vocab import PREFIXES
from .identifiers import looks_like_identifier, standard_curie

#: Far longer than any label, synonym or IRI here; longer input is refused before matching.
MAX_NAME_LENGTH = 500
#: How many names sharing the most letter triples are compared in full for near matches.
SHORTLIST = 40

_GREEK = str.maketrans({"α": "a", "β": "b", "γ": "g", "δ": "d", "ε": "e", "κ": "k", "λ": "l"})


def normalize(name: str) -> str:
    """The comparison key of a name: case, Greek letters, dashes and spacing folded."""
    if name.isascii():  # most names: NFKC, casefolding and the Greek table change nothing but case
        text = name.lower()
    else:
        text = unicodedata.normalize("NFKC", name).casefold().translate(_GREEK)
        text = text.replace("’", "'").replace("–", "-").replace("—", "-")
    return " ".join(text.replace("_", " ").replace("-", " ").split()).strip(" '\"")


def trigrams(key: str) -> set[str]:
    """The letter triples of a normalised name, padded so that short names have some."""
    padded = f"  {key} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


def singular(key: str) -> str:
    """A normalised name with its last word made singular ("immune checkpoint inhibitors")."""
    for plural, single in (("ies", "y"), ("s", "")):
        if key.endswith(plural) and len(key) > len(plural) + 2:
            return key[: -len(plural)] + single
    return key


def curie(iri: str) -> str:
    """The shortest CURIE for ``iri`` under the project prefixes, or the IRI itself."""
    best = iri
    for prefix, base in PREFIXES.items():
        if iri.startswith(base) and len(iri) - len(base) + len(prefix) + 1 < len(best):
            best = f"{prefix}:{iri[len(base):]}"
    return best


def expand(name: str) -> str | None:
    """The IRI a CURIE or ``<IRI>`` stands for, if it is one."""
    text = name.strip()
    if text.startswith("<") and text.endswith(">"):
        return text[1:-1]
    if re.match(r"^https?://", text):
        return text
    prefix, sep, local = text.partition(":")
    if sep and prefix in PREFIXES:
        return PREFIXES[prefix] + local
    return None


def name_keys(label: str, synonyms: Iterable[str], xrefs: Iterable[str]) -> list[str]:
    """The normalised names an entity is found by: its label, synonyms and cross-references, and
    self-describing identifiers (NCT02076009, DB09331) without their prefix."""
    xrefs = list(xrefs)
    local_ids = [x.split(":", 1)[1] for x in xrefs if ":" in x and re.fullmatch(r"[A-Za-z]+_?\d{4,}", x.split(":", 1)[1])]
    return [normalize(name) for name in (label, *synonyms, *xrefs, *local_ids) if name]


def lookup_keys(name: str) -> Iterator[str]:
    """The keys a typed name is looked up under, in order (the first that names anything wins):
    the name, its singular, and for an identifier its standard spelling (NCT:NCT…, CVCL_…), made
    only when asked for (the standard spelling costs a registry lookup)."""
    key = normalize(name)
    yield key
    yield singular(key)
    if looks_like_identifier(name) and (standard := standard_curie(name)):
        yield normalize(standard)


#: An entity as the name index keeps it: label, synonyms, types, cross-references, CURIE.
EntityRow = tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...], str]


class EntityRows(MutableMapping[str, Entity]):
    """IRI -> entity, kept as plain rows and made into :class:`Entity` objects when asked for:
    a cached index of 450,000 entities then reads back in a fraction of the time, and a query
    that resolves two names builds two."""

    def __init__(self, rows: Mapping[str, EntityRow]) -> None:
        self._rows = rows
        self._built: dict[str, Entity] = {}

    @property
    def rows(self) -> Mapping[str, EntityRow]:
        """IRI -> (label, synonyms, types, cross-references, CURIE), as stored."""
        return self._rows

    def __getitem__(self, iri: str) -> Entity:
        entity = self._built.get(iri)
        if entity is None:
            label, synonyms, types, xrefs, curie_ = self._rows[iri]
            entity = self._built[iri] = Entity(iri, label, synonyms, types, xrefs, curie_)
        return entity

    def __setitem__(self, iri: str, entity: Entity) -> None:
        if not isinstance(self._rows, MutableMapping):
            raise TypeError("a stored name index is read-only")
        self._rows[iri] = (entity.label, entity.synonyms, entity.types, entity.xrefs, entity.curie)
        self._built[iri] = entity

    def __delitem__(self, iri: str) -> None:
        if not isinstance(self._rows, MutableMapping):
            raise TypeError("a stored name index is read-only")
        del self._rows[iri]
        self._built.pop(iri, None)

    def __contains__(self, iri: object) -> bool:
        return iri in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __reduce__(self) -> tuple[type[EntityRows], tuple[dict[str, Any]]]:
        return (EntityRows, (dict(self._rows),))


class NameIndex:
    """Every way of naming each entity, mapped to the entities it can mean."""

    def __init__(self, entities: Iterable[Entity]) -> None:
        self.entities = EntityRows({})
        #: normalised name -> the IRIs it names (tuples: they pickle several times faster than sets)
        self._keys: MutableMapping[str, tuple[str, ...]] | Mapping[str, tuple[str, ...]] = {}
        self._trigram_index: dict[str, set[str]] | None = None
        for entity in entities:
            self.add(entity)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the near-match index, which is rebuilt on the first near-match search."""
        return {"entities": self.entities, "_keys": dict(self._keys), "_trigram_index": None}

    @classmethod
    def from_parts(cls, rows: Mapping[str, EntityRow], keys: Mapping[str, tuple[str, ...]]) -> NameIndex:
        """An index over entity rows and name keys kept elsewhere (the stored engine reads each
        on demand: a question resolves a few names of 450,000)."""
        index = cls.__new__(cls)
        index.entities, index._keys, index._trigram_index = EntityRows(rows), keys, None
        return index

    def parts(self) -> tuple[Mapping[str, EntityRow], Mapping[str, tuple[str, ...]]]:
        """The entity rows and the name keys, for :meth:`from_parts`."""
        return self.entities.rows, self._keys

    @property
    def _by_trigram(self) -> dict[str, set[str]]:
        """Names by their letter triples, built on the first near-match search: most runs
        resolve every name exactly and never pay for it."""
        if self._trigram_index is None:
            index: dict[str, set[str]] = {}
            for key in self._keys:
                for gram in trigrams(key):
                    index.setdefault(gram, set()).add(key)
            self._trigram_index = index
        return self._trigram_index

    def add(self, entity: Entity) -> None:
        """Index an entity under its label, synonyms and cross-references (CURIEs and IRIs
        are matched exactly, since their case matters: ``cd38:Regimen`` is not ``cd38:regimen``)."""
        self.entities[entity.iri] = entity
        for key in name_keys(entity.label, entity.synonyms, entity.xrefs):
            found = self._keys.get(key)
            if found is None:
                self._keys[key] = (entity.iri,)
                if self._trigram_index is not None:
                    for gram in trigrams(key):
                        self._trigram_index.setdefault(gram, set()).add(key)
            elif entity.iri not in found:
                self._keys[key] = (*found, entity.iri)

    def candidates(self, name: str) -> set[str]:
        """IRIs that ``name`` can mean (exact on IRI/CURIE, normalised on names)."""
        if len(name) > MAX_NAME_LENGTH:
            raise NameTooLongError(len(name), MAX_NAME_LENGTH)
        iri = expand(name)
        if iri and iri in self.entities:
            return {iri}
        return set(next((self._keys[key] for key in lookup_keys(name) if key in self._keys), ()))

    def resolve(self, name: str, role: str = "entity",
                accept: Callable[[Entity], bool] | None = None) -> Entity:
        """The one entity ``name`` means among those ``accept`` allows."""
        found = sorted(self.candidates(name))
        if accept is not None:
            allowed = [iri for iri in found if accept(self.entities[iri])]
            if found and not allowed:
                meant = ", ".join(self.entities[iri].label for iri in found)
                raise WrongKindError(name, meant, role)
            found = allowed
        if len(found) == 1:
            return self.entities[found[0]]
        if len(found) > 1:
            raise AmbiguousEntityError(
                name, [f"{curie(iri)} ({self.entities[iri].label})" for iri in found], role=role)
        raise UnknownEntityError(name, self.suggest(name, accept), role=role)

    def suggest(self, name: str, accept: Callable[[Entity], bool] | None = None, limit: int = 3) -> list[str]:
        """Labels of the entities whose names are closest to ``name``.

        The letter-triple index picks a short list of names sharing the most triples; only
        those are compared with the (quadratic) sequence similarity, so the cost does not
        grow with the size of the knowledge base.
        """
        key = normalize(name[:MAX_NAME_LENGTH])
        if not key:
            return []
        shared: Counter[str] = Counter()
        for gram in trigrams(key):
            shared.update(self._by_trigram.get(gram, ()))
        scored: dict[str, float] = {}
        for other in sorted(shared, key=lambda o: (-shared[o], len(o), o))[:SHORTLIST]:
            ratio = difflib.SequenceMatcher(None, key, other).ratio()
            if other.startswith(key) or key in other:
                ratio = max(ratio, 0.75)
            if ratio < 0.6:
                continue
            for iri in self._keys[other]:
                entity = self.entities[iri]
                if accept is None or accept(entity):
                    scored[entity.label] = max(scored.get(entity.label, 0.0), ratio)
        return [label for label, _ in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]
