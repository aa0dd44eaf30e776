"""Telling the user about slow work, on stderr so that stdout keeps only the answer.

Anything that can take more than about a second (HermiT over a user's extension, say)
runs inside :func:`step`: a terminal shows a spinner with the elapsed time, any other
stderr (a log, a pipe) gets one line before and one after.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def say(message: str) -> None:
    """One line about the work (not part of the answer)."""
    console().print(message, markup=False)


@contextmanager
def step(message: str) -> Iterator[None]:
    """Run the body while showing ``message``; report how long it took."""
    out = console()
    started = time.monotonic()
    if out.is_terminal:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False), TimeElapsedColumn(),
                      console=out, transient=True) as bar:
            bar.add_task(message, total=None)
            yield
    else:
        out.print(f"{message} ...", markup=False)
        yield
    out.print(f"{message}: done in {time.monotonic() - started:.1f} s", markup=False)
