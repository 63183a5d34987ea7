"""The worker process: contain it, import torch once, then run jobs until told to exit.

Containment, set up before any user code runs:

* fd 0 is ``/dev/null`` and fds 1/2 are a log file (the parent arranges both), so user code can
  neither block on input nor corrupt the protocol, which uses two other, non-inheritable fds;
* address space is capped (``RLIMIT_AS``), as are file sizes (``RLIMIT_FSIZE``, 256 MiB, so a
  runaway print loop fails with ``OSError`` instead of filling the disk) and core dumps (none);
* the working directory is a private temporary directory that lists the project root's entries
  (``workdir``): files opened by paths relative to the root are found, files the code creates by
  relative path land in the private directory, and Python-level writes into the project are
  refused;
* no bytecode is written; ``faulthandler`` writes a traceback to the log on a crash and when a
  scenario or target runs past its timeout, so the parent can say where it hung.

Threads that user code leaves running cannot be stopped; the worker asks to be replaced after such
a job (``"recycle"``), and leaves with ``os._exit`` so they cannot keep it alive.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import os
import resource
import signal
import sys
import threading
import time
import traceback
import warnings
from typing import Any

from gradsafe.verify.protocol import Closed, Reader, send

LOG_SIZE_LIMIT = 256 << 20


def _contain(memory_mb: int, fds: tuple[int, ...]) -> None:
    for fd in fds:
        os.set_inheritable(fd, False)
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (LOG_SIZE_LIMIT, LOG_SIZE_LIMIT))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    sys.dont_write_bytecode = True
    faulthandler.enable(file=sys.stderr, all_threads=True)
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")


def _fresh_log() -> None:
    """Start each job with an empty log, so a crash report shows only that job's output."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    with contextlib.suppress(OSError):
        os.ftruncate(1, 0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gradsafe.verify.worker")
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--memory-mb", type=int, required=True)
    options = parser.parse_args(argv)
    _contain(options.memory_mb, (options.requests, options.events))

    started = time.monotonic()
    import torch

    torch.set_num_threads(1)
    # functionalize's first use imports a few hundred modules; pay for it here, not in a target.
    torch.func.functionalize(torch.square)(torch.ones(2, requires_grad=True)).sum().backward()
    from gradsafe.verify.worker.session import run_job

    def emit(message: dict[str, Any]) -> None:
        send(options.events, message)

    threads = threading.active_count()
    emit({"event": "ready", "torch_seconds": time.monotonic() - started, "pid": os.getpid()})
    reader = Reader(options.requests)
    while True:
        try:
            job = reader.read()
        except Closed:
            break
        if job is None or job.get("op") != "verify":
            break
        _fresh_log()
        try:
            run_job(job, emit, float(job["timeout"]))
        except Exception:  # a bug in gradsafe must not lose the other verdicts
            emit({"event": "error", "message": traceback.format_exc(limit=8)})
        emit({"event": "done", "recycle": threading.active_count() > threads})
    os._exit(0)


if __name__ == "__main__":
    main()
