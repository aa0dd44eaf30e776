"""One triple pattern with a fixed predicate: the shape of every read a load makes of all its statements.

The findings, names, types and relations a load reads after writing are each ``?s <p> ?o``
with a filter, so whoever holds the triples can answer them: the store by SPARQL
(:attr:`Pattern.query`), or the loader from the triples it has just written
(:class:`cd38kg.knowledge.written.WrittenTriples`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Pattern:
    """``?s <predicate> ?o`` (one column, the subject, when the object is a fixed ``value``),
    filtered as :attr:`query` says. Answering these from the triples just written spares a
    load reading a million statements back out of RocksDB."""

    predicate: str
    #: ``FILTER(isIRI(?s))``
    iri_subject: bool = False
    #: "any" term, an "iri" (``isIRI``) or any "resource" (``!isLiteral``: an IRI or a blank node)
    objects: Literal["any", "iri", "resource"] = "any"
    value: str | None = None

    @property
    def query(self) -> str:
        if self.value is not None:
            columns, where, tests = "?s", f"?s <{self.predicate}> <{self.value}> .", []
        else:
            columns, where = "?s ?o", f"?s <{self.predicate}> ?o ."
            tests = {"any": [], "iri": ["isIRI(?o)"], "resource": ["!isLiteral(?o)"]}[self.objects]
        tests = (["isIRI(?s)"] if self.iri_subject else []) + tests
        filtered = f" FILTER({' && '.join(tests)})" if tests else ""
        return f"SELECT {columns} WHERE {{ {where}{filtered} }}"
