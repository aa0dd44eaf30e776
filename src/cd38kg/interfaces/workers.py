"""Worker processes that answer queries and can be stopped at a deadline.

Neither SPARQL engine can interrupt a running query, and rdflib's SPARQL parser can spend
seconds on a long query text, so every check and evaluation of a user's query runs in a
separate process that is killed when it outlives its deadline. The processes are forked
once, after the knowledge base is loaded (so they share it copy-on-write instead of
loading it again), and then answer one job after another: a query costs a pipe round trip
instead of a fork. A worker that overruns its deadline, or dies, is killed and replaced.

Each worker may grow by at most ``memory_budget`` bytes of address space beyond its size
at start (``RLIMIT_AS``), so a query that materialises a huge result fails on its own
instead of exhausting the machine. ``cd38kg query`` uses a pool of one worker for one
job; ``cd38kg serve`` keeps ``--max-concurrent`` of them warm.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..errors import Cd38kgError

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

Job = TypeVar("Job")
Answer = TypeVar("Answer")

#: Address space a worker may add to its size at start.
DEFAULT_MEMORY_BUDGET = 2 << 30


class WorkerError(Cd38kgError):
    """A job could not be answered by a worker (timeout, busy pool, or a failed worker)."""


class JobTimeout(WorkerError):
    """The job outlived its deadline; its worker was killed."""


class PoolBusy(WorkerError):
    """No worker became free in time."""


class WorkerFailed(WorkerError):
    """The worker died, or the job raised something that is not a user error."""

    exit_code = 1


@dataclass(frozen=True)
class _Failure:
    """A user error raised by a job, carried back to the parent as plain data."""

    message: str
    exit_code: int


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, process: BaseProcess, connection: Connection) -> None:
        self.process = process
        self.connection = connection

    def stop(self) -> None:
        self.connection.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


class WorkerPool(Generic[Job, Answer]):
    """``size`` forked processes that each run ``job(request)`` for one request at a time.

    :meth:`run` raises :class:`JobTimeout`, :class:`PoolBusy` or :class:`WorkerFailed`;
    a :class:`Cd38kgError` raised by the job is raised again in the parent (its message
    and exit code; the class is not kept).
    """

    def __init__(self, job: Callable[[Job], Answer], size: int = 1,
                 memory_budget: int | None = DEFAULT_MEMORY_BUDGET) -> None:
        if "fork" not in multiprocessing.get_all_start_methods():
            raise Cd38kgError("query workers need the 'fork' process start method (Linux or macOS)")
        if size < 1:
            raise Cd38kgError("the number of query workers must be at least 1")
        self._job = job
        self._budget = memory_budget
        self._context = multiprocessing.get_context("fork")
        # Last in, first out: under light load the same worker answers again, its caches still warm
        # (taking them in turn made a small query's round trip half as slow again).
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(size):
            self._idle.put(self._start())

    def _start(self) -> _Worker:
        parent_end, child_end = self._context.Pipe()
        process = self._context.Process(target=_serve_jobs, args=(self._job, child_end, parent_end, self._budget),
                                        daemon=True)
        with self._lock:
            process.start()
            worker = _Worker(process, parent_end)
            self._workers.add(worker)
        child_end.close()
        return worker

    def run(self, request: Job, timeout: float, wait: float | None = None) -> Answer:
        """The job's answer for ``request``, waiting at most ``wait`` seconds (default:
        ``timeout``) for a free worker and ``timeout`` seconds for the answer."""
        try:
            worker = self._idle.get(timeout=timeout if wait is None else wait)
        except queue.Empty:
            raise PoolBusy("every query worker is busy with other queries; try again shortly") from None
        healthy = False
        try:
            worker.connection.send(request)
            if not worker.connection.poll(timeout):
                raise JobTimeout(f"query stopped: it ran longer than {timeout:g} s")
            outcome = worker.connection.recv()
            healthy = True
        except (EOFError, OSError):
            limit = f" (each may use {self._budget >> 20} MiB more than at start)" if self._budget else ""
            raise WorkerFailed(f"the query process stopped without an answer; it may have run out of memory"
                               f"{limit}") from None
        finally:
            if healthy:
                self._idle.put(worker)
            else:
                self._replace(worker)
        if isinstance(outcome, _Failure):
            error = WorkerFailed(outcome.message) if outcome.exit_code == WorkerFailed.exit_code \
                else Cd38kgError(outcome.message)
            error.exit_code = outcome.exit_code
            raise error
        return outcome

    def _replace(self, worker: _Worker) -> None:
        worker.stop()
        with self._lock:
            self._workers.discard(worker)
            if self._closed:
                return
        self._idle.put(self._start())

    def close(self) -> None:
        """Kill every worker; jobs still running end with :class:`WorkerFailed`."""
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            worker.stop()

    def __enter__(self) -> WorkerPool[Job, Answer]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve_jobs(job: Callable[[Any], Any], connection: Connection, parent_end: Connection,
                budget: int | None) -> None:
    """A worker's loop: answer requests until the parent closes the pipe."""
    parent_end.close()  # the parent's end, inherited through the fork
    # Python-level handlers never run while the engine is busy, so let signals kill outright.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if budget:
        _limit_memory(budget)
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        try:
            outcome: Any = job(request)
        except Cd38kgError as err:
            outcome = _Failure(str(err), err.exit_code)
        except MemoryError:
            outcome = _Failure(f"the query needed more than the {budget >> 20 if budget else 0} MiB "
                               "a query process may use", 2)
        except RecursionError:
            outcome = _Failure("the query is nested too deeply to be processed", 2)
        except Exception as err:  # a bug answering this request must not take the worker down
            outcome = _Failure(f"internal error while answering the query: {type(err).__name__}: {err}",
                               WorkerFailed.exit_code)
        connection.send(outcome)


def _limit_memory(budget: int) -> None:
    """Cap this process's address space at its current size plus ``budget`` (Linux)."""
    import resource

    try:
        pages = Path(f"/proc/{os.getpid()}/statm").read_text(encoding="ascii").split()[0]
        size = int(pages) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return  # no /proc: leave the limit as it is
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + budget
    if soft != resource.RLIM_INFINITY:
        limit = min(limit, soft)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


__all__ = ["DEFAULT_MEMORY_BUDGET", "JobTimeout", "PoolBusy", "WorkerError", "WorkerFailed", "WorkerPool"]
