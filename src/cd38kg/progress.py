"""Telling the user about slow work, on stderr so that stdout keeps only the answer.

Anything that can take more than about a second (HermiT over a user's extension, ranking,
drawing the graph) runs inside :func:`step`: a terminal shows a spinner with the elapsed
time while it runs, and work that took more than a few seconds ends with one line saying how
long. Nothing is printed before the work, so a user error in it stays the only line on stderr.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

#: The spinner display in use, so that a step inside another adds a line to it (rich allows one display).
_ACTIVE: ContextVar[Any] = ContextVar("cd38kg_progress", default=None)


def console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def say(message: str) -> None:
    """One line about the work (not part of the answer)."""
    console().print(message, markup=False)


@contextmanager
def step(message: str, report_after: float = 5.0) -> Iterator[None]:
    """Run the body while a terminal shows ``message`` with a spinner; afterwards, if it took
    longer than ``report_after`` seconds, say how long (on any stderr, so logs show it too)."""
    out = console()
    started = time.monotonic()
    active = _ACTIVE.get()
    if active is not None:
        task = active.add_task(message, total=None)
        try:
            yield
        finally:
            active.remove_task(task)
    elif out.is_terminal:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False), TimeElapsedColumn(),
                      console=out, transient=True) as bar:
            bar.add_task(message, total=None)
            token = _ACTIVE.set(bar)
            try:
                yield
            finally:
                _ACTIVE.reset(token)
    else:
        yield
    took = time.monotonic() - started
    if took > report_after:
        (active.console if active is not None else out).print(f"{message}: done in {took:.1f} s", markup=False)
