"""Worker processes, seen from the parent: start them, feed them jobs, time them, replace them.

A ``WorkerPool`` keeps its workers (and their imported torch) across ``verify`` calls until it is
closed.  Each worker runs a job for a share of the targets, streaming events.  The parent gives
every scenario and every target ``timeout`` seconds from the moment the worker announces it.  When
the worker hangs (timeout), dies (a segfault, ``os._exit``) or sends garbage, the parent kills it
and its process group, blames whatever was running, and resends the rest of the job to a fresh
worker, without the scenario that failed.  What a target was doing when it failed decides its
verdict: failing while the *rewrite* ran (after the original completed) is ``rejected``; anything
else is ``unverified``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradsafe
from gradsafe.verify.protocol import Closed, Reader, send
from gradsafe.verify.verdicts import TargetVerdict, Verdict

# The worker starts from gradsafe's files (``worker/boot.py``), not from an import of gradsafe, so
# the user's ``PYTHONPATH`` and modules can neither replace gradsafe's nor be replaced by them.
_PACKAGE_DIR = Path(gradsafe.__file__).resolve().parent
_BOOT = _PACKAGE_DIR / "verify" / "worker" / "boot.py"
STARTUP_TIMEOUT = 180.0
GRACE = 1.0  # seconds past the timeout, so the worker's own traceback dump lands in the log first
MAX_RESTARTS = 20


class VerificationUnavailable(RuntimeError):
    """Verification cannot run at all (torch is missing, or the worker cannot start)."""


@dataclass
class JobResult:
    """What one job produced: verdicts as sent by the worker, and scenario outcomes."""

    verdicts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    scenarios: dict[str, dict[str, Any]] = field(default_factory=dict)


class Worker:
    """One worker process, started lazily and restarted after a failure."""

    def __init__(self, memory_mb: int, python: str = sys.executable) -> None:
        self.memory_mb = memory_mb
        self.python = python
        self.torch_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._sandbox: str | None = None
        self._requests = -1
        self._reader: Reader | None = None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        self._sandbox = tempfile.mkdtemp(prefix="gradsafe-verify-")
        requests_read, requests_write = os.pipe()
        events_read, events_write = os.pipe()
        env = dict(os.environ)
        env.update(PYTHONHASHSEED="0", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [
                    self.python,
                    str(_BOOT),
                    str(_PACKAGE_DIR),
                    "--requests",
                    str(requests_read),
                    "--events",
                    str(events_write),
                    "--memory-mb",
                    str(self.memory_mb),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self._sandbox,
                env=env,
                pass_fds=(requests_read, events_write),
                start_new_session=True,
            )
        os.close(requests_read)
        os.close(events_write)
        self._requests = requests_write
        self._reader = Reader(events_read)
        try:
            ready = self._reader.read(time.monotonic() + STARTUP_TIMEOUT)
        except (Closed, ValueError):
            ready = None
        if not ready or ready.get("event") != "ready":
            problem = self.describe_failure(timed_out=ready is None and self.alive)
            self.kill()
            raise VerificationUnavailable(f"the verification worker did not start: {problem}")
        self.torch_seconds = float(ready["torch_seconds"])

    @property
    def log_path(self) -> str:
        assert self._sandbox is not None
        return os.path.join(self._sandbox, "worker.log")

    def send(self, job: dict[str, Any]) -> None:
        send(self._requests, job)

    def read(self, deadline: float) -> dict[str, Any] | None:
        assert self._reader is not None
        return self._reader.read(deadline)

    def describe_failure(self, timed_out: bool, timeout: float = 0.0) -> str:
        """Why the worker stopped, with the user's frame it was in when the log shows one."""
        if timed_out:
            what = f"did not finish within {timeout:g} s"
        else:
            code = self._process.wait(timeout=5) if self._process is not None else None
            if code is not None and code < 0:
                what = f"crashed ({signal.Signals(-code).name})"
            elif code is not None:
                what = f"exited the process with status {code}"
            else:
                what = "stopped answering"
        where = _frame_in_log(self.log_path)
        return f"{what} (in {where})" if where else what

    def kill(self) -> None:
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        self._close_pipes()
        self._process = None

    def stop(self) -> None:
        """Ask the worker to exit; kill it if it does not."""
        if self.alive:
            try:
                send(self._requests, {"op": "exit"})
                assert self._process is not None
                self._process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def close(self) -> None:
        self.stop()
        if self._sandbox is not None:
            shutil.rmtree(self._sandbox, ignore_errors=True)
            self._sandbox = None

    def _close_pipes(self) -> None:
        if self._requests >= 0:
            os.close(self._requests)
            self._requests = -1
        if self._reader is not None:
            os.close(self._reader.fd)
            self._reader = None


_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<function>\S+)', re.MULTILINE)
# Frames in these directories are gradsafe's, the standard library's or installed packages'.
_NOT_USER = tuple({str(Path(gradsafe.__file__).resolve().parent), sys.prefix, sys.base_prefix, sys.exec_prefix})


def _frame_in_log(log_path: str) -> str:
    """The innermost user frame of the last traceback faulthandler wrote to the log."""
    try:
        with open(log_path, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 65536))
            text = log.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    header = max(text.rfind("most recent call first"), 0)
    for match in _FRAME.finditer(text, header):
        filename = match["file"]
        if filename.startswith(_NOT_USER) or "site-packages" in filename or filename.startswith("<"):
            continue
        return f"{Path(filename).name}:{match['line']} in {match['function']}"
    return ""


# Called as each scenario or target starts: ("scenario", "train.py:run") or ("target", "/abs/path.py:Net.forward").
Progress = Callable[[str, str], None]


class WorkerPool:
    """``size`` workers, each used by one job at a time; close it (or use ``with``) to end them.

    ``python`` is the interpreter the workers run on (``gradsafe.verify.interpreter``).
    """

    def __init__(self, size: int = 1, memory_mb: int = 4096, python: str = sys.executable) -> None:
        self.python = python
        self.workers = [Worker(memory_mb, python) for _ in range(size)]

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for worker in self.workers:
            worker.close()

    def run(self, job: dict[str, Any], targets: list[tuple[str, str]], timeout: float, progress: Progress) -> JobResult:
        """Run ``job`` with its targets shared among the workers; merge what they report."""
        count = max(1, min(len(self.workers), len(targets)))
        shares = [targets[i::count] for i in range(count)]
        lock = threading.Lock()

        def locked_progress(kind: str, name: str) -> None:
            with lock:
                progress(kind, name)

        if count == 1:
            results = [_drive(self.workers[0], job, shares[0], timeout, locked_progress)]
        else:
            with ThreadPoolExecutor(max_workers=count) as executor:
                futures = [
                    executor.submit(_drive, worker, job, share, timeout, locked_progress)
                    for worker, share in zip(self.workers, shares)
                ]
                results = [future.result() for future in futures]
        merged = JobResult()
        for result in results:
            merged.verdicts.update(result.verdicts)
            merged.scenarios.update(result.scenarios)
        return merged


class _TimedOut(Exception):
    pass


def _drive(
    worker: Worker, job: dict[str, Any], targets: list[tuple[str, str]], timeout: float, progress: Progress
) -> JobResult:
    """Run one share of a job to the end, restarting the worker after each failure."""
    result = JobResult()
    pending = list(targets)
    skipped: dict[str, str] = {}
    for _ in range(MAX_RESTARTS):
        request = {
            **job,
            "op": "verify",
            "timeout": timeout,
            "targets": [list(t) for t in pending],
            "skip_scenarios": skipped,
        }
        try:
            if not worker.alive:
                worker.start()
            worker.send(request)
        except OSError:  # it died while idle
            worker.kill()
            worker.start()
            worker.send(request)
        running: tuple[str, ...] = ()  # ("scenario", name) or ("target", path, qualname, phase)
        deadline = time.monotonic() + timeout + GRACE
        try:
            while True:
                event = worker.read(deadline)
                if event is None:
                    raise _TimedOut()
                kind = event.get("event")
                if kind == "phase":
                    if "scenario" in event:
                        running = ("scenario", event["scenario"])
                        deadline = time.monotonic() + timeout + GRACE
                        progress("scenario", event["scenario"])
                    else:
                        path, qualname = event["target"]
                        if running[1:3] != (path, qualname):
                            deadline = time.monotonic() + timeout + GRACE
                            progress("target", f"{path}:{qualname}")
                        running = ("target", path, qualname, event["phase"])
                elif kind == "scenario":
                    result.scenarios.setdefault(event["name"], event)
                elif kind == "result":
                    key = (event["path"], event["qualname"])
                    result.verdicts[key] = event
                    if key in pending:
                        pending.remove(key)
                elif kind == "error":
                    for path, qualname in pending:
                        result.verdicts[(path, qualname)] = _verdict(
                            path,
                            qualname,
                            Verdict.UNVERIFIED,
                            f"internal error in gradsafe's worker: {event['message'].strip().splitlines()[-1]}",
                        )
                    pending.clear()
                elif kind == "done":
                    if event.get("recycle"):
                        worker.stop()
                    for path, qualname in pending:
                        result.verdicts[(path, qualname)] = _verdict(
                            path, qualname, Verdict.UNVERIFIED, "the worker reported no verdict"
                        )
                    return result
        except (_TimedOut, Closed, ValueError) as problem:
            failure = worker.describe_failure(isinstance(problem, _TimedOut), timeout)
            worker.kill()
        if not running:
            for path, qualname in pending:
                result.verdicts[(path, qualname)] = _verdict(
                    path, qualname, Verdict.UNVERIFIED, f"the worker {failure}"
                )
            return result
        if running[0] == "scenario":
            skipped[running[1]] = failure
            continue
        _, path, qualname, phase = running
        result.verdicts[(path, qualname)] = _failed_while(path, qualname, phase, failure)
        pending.remove((path, qualname))
        if not pending:
            return result
    for path, qualname in pending:
        result.verdicts[(path, qualname)] = _verdict(
            path, qualname, Verdict.UNVERIFIED, "the worker failed too many times"
        )
    return result


def _failed_while(path: str, qualname: str, phase: str, failure: str) -> dict[str, Any]:
    if phase == "rewrite":
        return _verdict(path, qualname, Verdict.REJECTED, f"the rewrite {failure} (the original completed)")
    doing = {"original": "the original", "reference": "computing the reference from the original"}.get(
        phase, "preparing its inputs"
    )
    return _verdict(path, qualname, Verdict.UNVERIFIED, f"{doing} {failure}")


def _verdict(path: str, qualname: str, verdict: Verdict, detail: str) -> dict[str, Any]:
    return TargetVerdict(Path(path), qualname, verdict, detail).to_json()
