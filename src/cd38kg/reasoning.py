"""OWL reasoning with HermiT (through owlready2) and the cache of its inferences.

The reasoner is what makes class-level knowledge hold for members: a fact stated on
``cd38:IMiD`` becomes a ``hasValue`` restriction, and HermiT materialises it for
lenalidomide, pomalidomide and any IMiD a user adds later. It also reclassifies
individuals (an antibody that targets CD38 becomes an anti-CD38 antibody) and proves
the ontology consistent.

Java start-up and reasoning take seconds, so the inferences are cached as N-Triples keyed
by a fingerprint of every input file: the bundled knowledge base ships its inferences
precomputed (``ontology/inferred/hermit.nt``), and inferences for user extensions are
cached under ``$XDG_CACHE_HOME/cd38kg``. Only ``validate``, or a changed input, starts Java.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .errors import Cd38kgError, ReasonerUnavailable
from .resources import bundled_inferences_file

if TYPE_CHECKING:
    from rdflib import Graph

#: Bump when the projection of findings to OWL changes, so stale caches are not reused.
PROJECTION_VERSION = "2"
_HEADER = "# cd38kg HermiT inferences; input fingerprint: "


class InconsistentOntology(Cd38kgError):
    """HermiT found the ontology inconsistent."""

    exit_code = 1


def fingerprint(inputs: Iterable[tuple[str, bytes]]) -> str:
    """A stable hash of the reasoner's inputs (file names and contents) and code version."""
    digest = hashlib.sha256(f"{__version__}/{PROJECTION_VERSION}".encode())
    for name, content in inputs:
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()


def cache_dir() -> Path:
    """Where inferences for user extensions are cached."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cd38kg"


def cached_inferences(key: str) -> str | None:
    """The cached inference N-Triples for ``key``, bundled or per-user, if present."""
    for path in (bundled_inferences_file(), cache_dir() / f"inferences-{key}.nt"):
        try:
            with path.open(encoding="utf-8") as handle:
                if handle.readline().strip() == _HEADER + key:
                    return handle.read()
        except OSError:
            continue
    return None


def store_inferences(key: str, ntriples: str, path: Path | None = None) -> Path:
    """Write inferences atomically (a crash never leaves a half-written cache)."""
    target = path or cache_dir() / f"inferences-{key}.nt"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=target.parent, delete=False,
                                     suffix=".tmp") as handle:
        handle.write(_HEADER + key + "\n")
        handle.write(ntriples)
        tmp = Path(handle.name)
    tmp.replace(target)
    return target


def run_hermit(owl_input: Graph) -> list[tuple[str, str, str]]:
    """Classify ``owl_input`` with HermiT and return the new (subject, predicate, object) IRIs.

    Only triples between named resources are returned; blank-node scaffolding and
    ``owl:Thing`` typings are dropped.
    """
    import owlready2
    from owlready2 import OwlReadyInconsistentOntologyError, World, sync_reasoner_hermit

    owlready2.reasoning.JAVA_MEMORY = int(os.environ.get("CD38KG_JAVA_MEMORY_MB", "2000"))
    with tempfile.TemporaryDirectory(prefix="cd38kg-reason-") as tmp:
        source = Path(tmp) / "input.nt"
        source.write_text(_named_ntriples(owl_input), encoding="utf-8")
        world = World()
        ontology = world.get_ontology(source.as_uri()).load()
        before = set(world.as_rdflib_graph().triples((None, None, None)))
        try:
            with ontology:
                sync_reasoner_hermit(world, infer_property_values=True, debug=0)
        except OwlReadyInconsistentOntologyError:
            raise InconsistentOntology(
                "the reasoner (HermiT) found the ontology inconsistent: some individual is given "
                "classes that cannot overlap, or breaks a property's domain, range or characteristics"
            ) from None
        except FileNotFoundError:
            raise ReasonerUnavailable(
                "Java was not found; the HermiT reasoner needs it (install a JRE, e.g. "
                "'apt-get install default-jre-headless')"
            ) from None
        except owlready2.OwlReadyJavaError as err:
            raise ReasonerUnavailable(f"the HermiT reasoner failed to run: {str(err).splitlines()[0]}") from None
        after = set(world.as_rdflib_graph().triples((None, None, None)))
        world.close()
    owl_thing = "http://www.w3.org/2002/07/owl#Thing"
    rdf_type = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    schema = ("http://www.w3.org/2000/01/rdf-schema#", "http://www.w3.org/2002/07/owl#")
    new = []
    for s, p, o in after - before:
        if type(s).__name__ == "BNode" or type(o).__name__ in ("BNode", "Literal"):
            continue
        if str(o) == owl_thing or (str(p) != rdf_type and str(p).startswith(schema)):
            continue  # keep what holds of individuals; owlready2 adds schema triples unpredictably
        new.append((str(s), str(p), str(o)))
    return sorted(new)


def _named_ntriples(graph: Graph) -> str:
    """N-Triples for the reasoner, without ``owl:imports`` (never followed)."""
    from rdflib import URIRef

    imports = URIRef("http://www.w3.org/2002/07/owl#imports")
    return "".join(
        f"{s.n3()} {p.n3()} {o.n3()} .\n" for s, p, o in graph.triples((None, None, None)) if p != imports
    )


def inferences_ntriples(triples: Iterable[tuple[str, str, str]]) -> str:
    """Serialise inferred IRI triples as N-Triples lines."""
    return "".join(f"<{s}> <{p}> <{o}> .\n" for s, p, o in triples)


def parse_inferences(text: str) -> list[tuple[str, str, str]]:
    """Read back the cache written by :func:`inferences_ntriples`."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.rstrip(" .").split(" ")
        if len(parts) == 3:
            out.append(tuple(part.strip("<>") for part in parts))  # type: ignore[arg-type]
    return out


def write_bundled_inferences() -> Path:
    """Reason over the bundled knowledge base alone and ship the result with the package."""
    from .loader import load

    loaded = load([], reason="always")
    text = bundled_text_from_cache(loaded.inference_key)
    return store_inferences(loaded.inference_key, text, bundled_inferences_file())


def bundled_text_from_cache(key: str) -> str:
    """The inference N-Triples just cached for ``key`` (without the header line)."""
    path = cache_dir() / f"inferences-{key}.nt"
    return path.read_text(encoding="utf-8").split("\n", 1)[1]
