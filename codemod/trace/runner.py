"""Running a command, a test run or a scenario with the detector inside, and collecting what it saw.

The command runs as a child process in the caller's environment, with two additions: the session
directory first on ``PYTHONPATH`` (it holds the ``sitecustomize`` that arms the detector, see
``runtime.bootstrap``) and ``GRADSAFE_TRACE_SESSION`` naming it.  The program's stdin, stdout and
stderr are its own (inherited, or captured when asked), so its output is exactly what it would
print untraced; the detector writes only to the session directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradsafe.trace.runtime as runtime_package
from gradsafe.trace.report import TraceFinding, findings_from_events
from gradsafe.trace.runtime import scenario as scenarios
from gradsafe.trace.runtime.events import Event, read_session
from gradsafe.trace.runtime.session import CONFIG

SESSION_VARIABLE = "GRADSAFE_TRACE_SESSION"  # read by runtime/bootstrap.py, which cannot import this
_RUNTIME_DIR = Path(runtime_package.__file__).parent
_SCENARIO_CODE = "from _gradsafe_trace_runtime.scenario import main; main()"


@dataclass
class TraceResult:
    """What a traced run produced."""

    returncode: int
    findings: list[TraceFinding]
    events: list[tuple[Event, int]]  # as the detector saw them: absolute paths, byte columns
    processes: list[dict[str, Any]]  # one per process that loaded the detector (pid, argv, torch)
    errors: list[str] = field(default_factory=list)  # detectors that failed to start (tracebacks)
    stdout: bytes | None = None  # only when run with capture=True
    stderr: bytes | None = None

    @property
    def traced(self) -> bool:
        """Whether any process imported torch with the detector installed.

        False when the program never imported torch, or ran Python in a mode that skips
        ``sitecustomize`` (``-I``, ``-S``, ``-E``): then "no findings" means nothing.
        """
        return bool(self.processes)


def run_traced(
    argv: Sequence[str] | None = None,
    *,
    root: str | os.PathLike[str],
    scenario: str | None = None,
    stop_at_first: bool = False,
    checksum_saved: bool = False,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    capture: bool = False,
    timeout: float | None = None,
) -> TraceResult:
    """Run ``argv`` (``["python", "train.py", ...]``, ``["pytest", ...]``) or ``scenario``
    (``"pkg.mod:fn"``, ``"path/to/file.py:fn"``) under the detector.

    Exactly one of ``argv`` and ``scenario`` is given.  A scenario runs in ``sys.executable``;
    ``argv`` runs as given (``python`` is whatever the environment's ``PATH`` says, as it would be
    untraced).  ``root`` is the project root (a relative path is taken from the current
    directory): hazards are reported at lines of files under it, with paths relative to it.
    ``cwd`` is the program's working directory, ``env`` replaces ``os.environ`` for it.  With
    ``capture`` the program's output is returned in the result instead of going to this
    process's streams.  ``checksum_saved`` checksums every saved tensor and compares at backward,
    to catch writes no torch op made (GS603; see ``runtime.checksums``).  Raises ``subprocess.TimeoutExpired`` after ``timeout`` seconds (the
    program is killed) and ``OSError`` if the command cannot be started.
    """
    if (argv is None) == (scenario is None):
        raise ValueError("give either a command or a scenario")
    root = Path(root).resolve()
    workdir = Path(cwd) if cwd is not None else Path.cwd()
    if scenario is not None:
        target, function = scenarios.parse(scenario)
        if target.endswith(".py"):
            target = str((workdir / target).resolve())
        command = [sys.executable, "-c", _SCENARIO_CODE, f"{target}:{function}", str(root)]
    else:
        command = list(argv or ())
    if not command:
        raise ValueError("empty command")

    session = Path(tempfile.mkdtemp(prefix="gradsafe-trace-"))
    try:
        shutil.copyfile(_RUNTIME_DIR / "bootstrap.py", session / "sitecustomize.py")
        config = {"root": str(root), "stop_at_first": stop_at_first, "checksum_saved": checksum_saved,
                  "runtime": str(_RUNTIME_DIR)}
        (session / CONFIG).write_text(json.dumps(config), encoding="utf-8")
        completed = _run(command, _child_env(env, session), workdir, capture, timeout)
        records = read_session(session)
    finally:
        shutil.rmtree(session, ignore_errors=True)
    return TraceResult(
        returncode=completed.returncode,
        findings=findings_from_events(records.events, root),
        events=records.events,
        processes=records.processes,
        errors=records.errors,
        stdout=completed.stdout,
        stderr=completed.stderr,
    )


def _child_env(env: Mapping[str, str] | None, session: Path) -> dict[str, str]:
    child = dict(os.environ if env is None else env)
    existing = child.get("PYTHONPATH")
    child["PYTHONPATH"] = str(session) + (os.pathsep + existing if existing else "")
    child[SESSION_VARIABLE] = str(session)
    return child


def _run(
    argv: list[str], env: dict[str, str], cwd: Path, capture: bool, timeout: float | None
) -> subprocess.CompletedProcess[bytes]:
    """Run to completion.  Ctrl-C reaches the child too (same process group): wait for it to end,
    so that what it saw before the interrupt is still reported."""
    pipe = subprocess.PIPE if capture else None
    with subprocess.Popen(argv, env=env, cwd=cwd, stdout=pipe, stderr=pipe) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
        except KeyboardInterrupt:
            stdout, stderr = process.communicate()
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
