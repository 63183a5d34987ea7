"""Verification: run the original and the rewritten code, and prove that the rewrite is right.

This package never imports torch itself; user code runs in a worker subprocess that does
(``gradsafe.verify.worker``).  Use::

    from gradsafe.verify import FileChange, VerifySettings, changed_functions, notice, verify

    change = FileChange(path, original_text, rewritten_text)   # targets computed when omitted
    print(notice([change]))      # "verifying 3 rewritten functions: this imports and runs your code; ..."
    for v in verify([change], VerifySettings(scenarios=("train.py:run",)), root=project_root):
        print(v.path, v.qualname, v.verdict.value, v.detail)

**Targets** are the units ``changed_functions`` reports: functions, methods (``Net.forward``),
class bodies (``Net``) and module-level code (``<module>``); see ``gradsafe.verify.changes``.

**Verdicts** (``Verdict``): ``verified`` (same forward outputs, gradients of every input and
parameter, and state of every argument after the call); ``repaired`` (the original raised an
autograd in-place error, or ran with wrong gradients, and the rewrite matches finite differences
of the original, with the gradient of ``functionalize(original)`` as a second opinion; or, for code that
runs backward itself, the original with its post-backward parameter updates untracked);
``changed`` (a target whose rewrite holds an unsafe fix, ``--unsafe-fixes``: it computes something
else than the original, as a silent bug's repair must, and its backward runs); ``rejected`` (the
detail and ``mismatches`` say what differed and by how much; for an unsafe fix, that nothing did);
``unverified`` (no inputs, or the original cannot run on them; the detail says how to provide inputs).
Only ``verified``, ``repaired`` and ``changed`` hunks should be emitted by default
(``Verdict.emit_by_default``).

**Inputs**, in order: calls recorded while the configured *scenarios* run (zero-argument
callables, run against both versions and compared as whole programs too), user *examples*
(``example__<qualname>()`` functions returning ``(args, kwargs)``), and *synthesis* (functions
with ``torch.Tensor``-annotated parameters, ``nn.Module`` classes constructible without
arguments).  ``docs/verification.md`` describes all three for users.

**Isolation**: one worker process per ``VerifySettings.workers``, torch imported once and reused;
a timeout per scenario and per target; an address-space cap; stdin, stdout and stderr detached
from the protocol; a private working directory.  Hangs, crashes, ``sys.exit``/``os._exit``,
exceptions and prints are reported against the scenario or target that caused them; the other
verdicts are kept.  Nothing runs unless ``verify`` is called.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from gradsafe.verify.changes import MODULE_UNIT, FileChange, changed_functions
from gradsafe.verify.combine import apply_scenarios
from gradsafe.verify.interpreter import (
    Interpreter,
    InterpreterNotFound,
    find_interpreter,
    has_torch,
)
from gradsafe.verify.settings import CONFIG_KEYS, SettingsError, VerifySettings
from gradsafe.verify.supervisor import Progress, VerificationUnavailable, WorkerPool
from gradsafe.verify.verdicts import Mismatch, TargetVerdict, Verdict

__all__ = [
    "CONFIG_KEYS",
    "MODULE_UNIT",
    "FileChange",
    "Interpreter",
    "InterpreterNotFound",
    "Mismatch",
    "Progress",
    "SettingsError",
    "TargetVerdict",
    "Verdict",
    "VerificationUnavailable",
    "VerifySettings",
    "WorkerPool",
    "changed_functions",
    "count_targets",
    "find_interpreter",
    "notice",
    "torch_available",
    "verify",
    "worker_interpreter",
]

TORCH_MISSING = "torch is not installed; install gradsafe[verify] (pip install torch==2.13.0) or pass --no-verify"


def torch_available(python: str | None = None) -> bool:
    """Whether torch can be imported (in ``python``, by default here), without importing it."""
    if python is None:
        return importlib.util.find_spec("torch") is not None
    return has_torch(Interpreter(python, "given"))


def worker_interpreter(settings: VerifySettings, root: Path) -> Interpreter:
    """The interpreter the worker runs on for ``settings`` in the project at ``root``."""
    try:
        return find_interpreter(settings.python, Path(root).resolve())
    except InterpreterNotFound as exc:
        raise VerificationUnavailable(str(exc)) from None


def count_targets(changes: Sequence[FileChange]) -> int:
    return sum(len(change.resolved_targets()) for change in changes)


def notice(changes: Sequence[FileChange]) -> str:
    """The one-line warning to print before verifying: running user code is not a side effect-free act."""
    count = count_targets(changes)
    noun = "function" if count == 1 else "functions"
    return f"verifying {count} rewritten {noun}: this imports and runs your code; --no-verify to skip"


def verify(
    changes: Sequence[FileChange],
    settings: VerifySettings,
    *,
    root: Path,
    progress: Progress | None = None,
    pool: WorkerPool | None = None,
    scenario_outcomes: list[dict[str, Any]] | None = None,
) -> list[TargetVerdict]:
    """A verdict for every target of every change, in order.

    ``root`` is the project root: scenario and example paths are relative to it, and it is put on
    the worker's ``sys.path``.  Pass a ``pool`` to reuse workers across calls (it must be closed by
    the caller); otherwise one is started and closed here.  ``scenario_outcomes``, when given, receives
    each scenario's outcome (``name``, ``status``, ``detail``, ``reached``).  Raises ``VerificationUnavailable`` when
    torch is not installed or no worker can start.
    """
    python = pool.python if pool is not None else worker_interpreter(settings, Path(root)).executable
    if not torch_available(None if python == sys.executable else python):
        raise VerificationUnavailable(f"{TORCH_MISSING} (in {python})" if python != sys.executable else TORCH_MISSING)
    targets = [(change, qualname) for change in changes for qualname in change.resolved_targets()]
    if not targets:
        return []
    job = {
        "root": str(Path(root).resolve()),
        "changes": [
            {
                "path": str(Path(c.path).resolve()),
                "original": c.original,
                "rewritten": c.rewritten,
                "unsafe": list(c.unsafe),
            }
            for c in changes
        ],
        "scenarios": list(settings.scenarios),
        "examples": list(settings.examples),
        "settings": {
            "rtol": settings.rtol,
            "atol": settings.atol,
            "fd_rtol": settings.fd_rtol,
            "fd_atol": settings.fd_atol,
        },
    }
    keys = [(str(Path(change.path).resolve()), qualname) for change, qualname in targets]
    owned = pool is None
    active = pool if pool is not None else WorkerPool(settings.workers, settings.memory_mb, python)
    try:
        result = active.run(job, keys, settings.timeout, progress or (lambda kind, name: None))
    finally:
        if owned:
            active.close()
    if scenario_outcomes is not None:
        scenario_outcomes.extend(result.scenarios.values())
    judged = [TargetVerdict.from_json(result.verdicts[key]) for key in keys]
    combined = apply_scenarios(judged, result.scenarios.values())
    return [replace(v, path=change.path) for v, (change, _) in zip(combined, targets)]
