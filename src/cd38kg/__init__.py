"""cd38kg: a knowledge graph and reasoning engine for anti-CD38 antibodies in myeloma.

The public API is :class:`KnowledgeBase`::

    from cd38kg import KnowledgeBase
    kb = KnowledgeBase.load()
    result = kb.explain("daratumumab + ATRA", "CD38 downregulation")
    print(result.verdict, result.score)

Heavy libraries (rdflib, owlready2, networkx, pyvis) are imported lazily so that the
command line starts instantly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .kb import KnowledgeBase

__all__ = ["KnowledgeBase", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "KnowledgeBase":
        from .kb import KnowledgeBase

        return KnowledgeBase
    raise AttributeError(name)
