"""User-facing errors.

Every problem caused by the user's input (a file, a name, a parameter) is raised as a
:class:`Cd38kgError` whose message is one line naming what went wrong and where; the CLI
prints it and exits non-zero instead of showing a traceback.
"""

from __future__ import annotations


class Cd38kgError(Exception):
    """A problem the user can fix; ``str(error)`` is the one-line message."""

    exit_code = 2


class InputFileError(Cd38kgError):
    """A file could not be read or parsed; the message names the file and line."""

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {reason}")
        self.path = str(path)
        self.line = line
        self.reason = reason


class UnknownEntityError(Cd38kgError):
    """A name matched no entity; carries near matches."""

    def __init__(self, name: str, suggestions: list[str], role: str = "entity") -> None:
        hint = f" Did you mean: {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"unknown {role} {name!r}.{hint}")
        self.name = name
        self.suggestions = suggestions


class NameTooLongError(Cd38kgError):
    """A name longer than any real one; refused before any matching is spent on it."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"a name of {length} characters is too long (names have at most {limit})")


class AmbiguousEntityError(Cd38kgError):
    """A name matched several entities; carries the candidates."""

    def __init__(self, name: str, candidates: list[str], role: str = "entity") -> None:
        super().__init__(
            f"ambiguous {role} {name!r}: it could be {', '.join(candidates)}; use one of these ids"
        )
        self.name = name
        self.candidates = candidates


class WrongKindError(Cd38kgError):
    """A name matched entities, but none of the kind the command needs."""

    def __init__(self, name: str, meant: str, role: str, hint: str = "") -> None:
        super().__init__(f"{name!r} is {meant}, not {article(role)} {role}{'; ' + hint if hint else ''}")
        self.name = name
        self.role = role


def article(word: str) -> str:
    """"a" or "an" for an English noun."""
    return "an" if word[:1].lower() in "aeiou" else "a"


class ValidationFailed(Cd38kgError):
    """Validation found problems; ``problems`` lists one message per problem."""

    exit_code = 1

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) found: {problems[0] if problems else ''}")
        self.problems = problems


class ReasonerUnavailable(Cd38kgError):
    """Java (needed by HermiT) is missing or failed to start."""
