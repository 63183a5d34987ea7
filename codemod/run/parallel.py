"""``--jobs``: one function over many files in worker processes, with the results in input order.

The analysis is CPU-bound pure Python, so threads would take turns on one core; processes use
them all.  ``process_path`` is a pure function of picklable arguments and returns a picklable
result, so a worker needs nothing but its share of the paths.

* **Order.**  ``ProcessPoolExecutor.map`` yields results in the order of its input, so the output
  of a run is byte for byte the same whatever the number of workers (and the progress bar still
  advances once per file, in order).
* **Chunks.**  Files are sent in chunks of up to ``MAX_CHUNK``: a round trip per file would cost
  more than analysing a small one, and a chunk small enough that the last one to finish leaves
  the other workers idle only briefly.
* **When not to.**  Starting workers takes a few milliseconds each, and a handful of small files
  is done in less: below ``MIN_BYTES_PER_WORKER`` of source per worker the files are processed in
  this process, one by one (``workers_for``).  So ``gradsafe check one_file.py`` never starts a pool.
* **Start method.**  On Linux the workers are forked: they start in milliseconds with gradsafe
  already imported.  The fork happens when the run starts, before
  the progress bar (the only thread gradsafe starts) exists.  Elsewhere the platform's default
  (spawn) is used, and each worker imports gradsafe once.
* **Garbage collection.**  Parsing a file allocates hundreds of thousands of AST nodes, which
  trigger the cyclic garbage collector over and over, yet the analysis makes almost no cycles (its
  trees are freed by reference counting).  While files are processed, the collector runs only
  every ``GC_THRESHOLD`` allocations instead of every 700: about a tenth of the run time saved,
  peak memory unchanged.  (mypy does the same.)
* **Failure.**  Ctrl-C is the parent's to handle (the workers ignore it, so the user sees one
  "interrupted" and no traceback per worker).  If a worker dies (killed for memory, a crash in C
  code), the files not yet done are processed in this process instead, where a file that kills
  the interpreter fails the way it does with ``--jobs 1``.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from collections.abc import Callable, Iterator, Sequence

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing.context import BaseContext

T = TypeVar("T")
R = TypeVar("R")

# Source bytes of analysis that pay for starting one worker (about 0.1 s of analysis, an order of
# magnitude more than a forked worker costs to start and feed).
MIN_BYTES_PER_WORKER = 256 * 1024
MAX_CHUNK = 16
GC_THRESHOLD = 100_000


def available_cpus() -> int:
    """The CPUs this process may run on: its affinity mask (containers, ``taskset``), else the machine's."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def workers_for(paths: Sequence[Path], jobs: int) -> int:
    """How many workers the files at ``paths`` are worth: at most ``jobs``, one per ``MIN_BYTES_PER_WORKER``."""
    if jobs <= 1 or len(paths) < 2:
        return 1
    wanted = min(jobs, len(paths))
    total = 0
    for path in paths:
        try:
            total += os.stat(path).st_size
        except OSError:
            continue  # the worker reports it
        if total >= wanted * MIN_BYTES_PER_WORKER:
            return wanted
    return max(1, total // MIN_BYTES_PER_WORKER)


def ordered_map(function: Callable[[T], R], items: Sequence[T], *, workers: int) -> Iterator[R]:
    """``map(function, items)``, computed by ``workers`` processes when there is more than one."""
    with _rare_collections():
        if workers <= 1 or len(items) < 2:
            yield from map(function, items)
        else:
            yield from _pooled(function, items, workers)


@contextlib.contextmanager
def _rare_collections() -> Iterator[None]:
    """Run the young-generation garbage collection every ``GC_THRESHOLD`` allocations (forked workers inherit it)."""
    thresholds = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def _pooled(function: Callable[[T], R], items: Sequence[T], workers: int) -> Iterator[R]:
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    chunk = max(1, min(MAX_CHUNK, len(items) // (workers * 8)))
    executor = ProcessPoolExecutor(workers, mp_context=_context(), initializer=_start_worker)
    done = 0
    try:
        for result in executor.map(function, items, chunksize=chunk):
            done += 1
            yield result
    except BrokenProcessPool:
        yield from map(function, items[done:])
        done = len(items)
    finally:
        # The consumer may stop pulling once it has every result (the generator is then closed, not
        # exhausted): that is a finished run.  Interrupted (Ctrl-C) or abandoned before the end: the
        # workers are stopped at once instead of finishing the chunks they hold.  Either way the
        # pool is shut down *and joined* here: a pool left running until interpreter exit races
        # with concurrent.futures' exit hook ("OSError: [Errno 9] Bad file descriptor").
        if done < len(items):
            _stop_workers(executor)
        executor.shutdown(wait=True, cancel_futures=True)


def _stop_workers(executor: ProcessPoolExecutor) -> None:
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            process.terminate()


def _context() -> BaseContext:
    import multiprocessing

    return multiprocessing.get_context("fork" if sys.platform == "linux" else None)


def _start_worker() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])  # spawned workers do not inherit it
