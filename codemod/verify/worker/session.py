"""One verification job inside the worker: build both worlds, run the scenarios, decide each target's verdict.

Events go back to the parent as they happen (see ``gradsafe.verify.protocol``), so a crash or a
hang loses only the scenario or target that was running.  User code runs with the project root's
contents as its working directory (``workdir``: reads work, writes stay out of the project).
Process-wide state that user code may have changed (working directory, ``sys.path``, grad mode, default dtype, anomaly mode) is restored
after every scenario and target.
"""

from __future__ import annotations

import faulthandler
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from gradsafe.verify.verdicts import TargetVerdict
from gradsafe.verify.worker.compare import Tolerance
from gradsafe.verify.worker.verifier import TargetVerifier, Tolerances
from gradsafe.verify.worker.project import Project
from gradsafe.verify.worker.recording import Recorder
from gradsafe.verify.worker.scenarios import ScenarioOutcome, Status, run_scenario, scenario_paths
from gradsafe.verify.worker.targets import Target
from gradsafe.verify.worker.workdir import mirror_root, protect, unprotect
from gradsafe.verify.worker.worlds import ORIGINAL, REWRITE, World

Emit = Callable[[dict[str, Any]], None]


@contextmanager
def _restoring_process_state(sandbox: str) -> Iterator[None]:
    path = list(sys.path)
    try:
        yield
    finally:
        sys.path[:] = path
        os.chdir(sandbox)
        torch.set_grad_enabled(True)
        torch.set_default_dtype(torch.float32)
        torch.autograd.set_detect_anomaly(False)


def run_job(job: dict[str, Any], emit: Emit, timeout: float) -> None:
    root = Path(job["root"]).resolve()
    changes = {Path(c["path"]).resolve(): c for c in job["changes"]}
    examples = [(root / e).resolve() for e in job.get("examples", ())]
    scenarios = [s for s in job.get("scenarios", ()) if s not in job.get("skip_scenarios", {})]
    scenario_files = [p for s in scenarios for p in scenario_paths(s, root)]
    project = Project(root, tuple(dict.fromkeys([*changes, *scenario_files, *examples])))
    recorders = {version: Recorder(frozenset(changes)) for version in (ORIGINAL, REWRITE)}
    worlds = {
        version: World(
            version,
            project,
            {path: change["original" if version == ORIGINAL else "rewritten"] for path, change in changes.items()},
            recorders[version].instrument,
        )
        for version in (ORIGINAL, REWRITE)
    }
    settings = job["settings"]
    tolerances = Tolerances(
        Tolerance(settings["rtol"], settings["atol"]), Tolerance(settings["fd_rtol"], settings["fd_atol"])
    )
    private = os.getcwd()
    sandbox = str(mirror_root(root, Path(private)))
    protect(root, Path(private))
    os.chdir(sandbox)
    original_path = list(sys.path)
    sys.path[:0] = project.import_dirs

    def start(message: dict[str, Any]) -> None:
        faulthandler.dump_traceback_later(timeout, exit=False)
        emit({"event": "phase", **message})

    try:
        outcomes: list[ScenarioOutcome] = []
        for spec in scenarios:
            start({"scenario": spec})
            with _restoring_process_state(sandbox):
                outcome = run_scenario(spec, worlds, recorders, tolerances.equal)
            outcomes.append(outcome)
            emit({"event": "scenario", **outcome.to_json()})
        current: list[str] = []
        verifier = TargetVerifier(
            worlds,
            recorders,
            tolerances,
            examples,
            [o for o in outcomes if o.status != Status.UNUSABLE],
            {
                **job.get("skip_scenarios", {}),
                **{o.name: f"cannot be used: {o.detail}" for o in outcomes if o.status == Status.UNUSABLE},
            },
            on_phase=lambda phase: emit({"event": "phase", "target": current, "phase": phase}),
            unsafe=frozenset(
                Target(Path(path).resolve(), unit) for path, change in changes.items() for unit in change.get("unsafe", ())
            ),
        )
        for path_text, qualname in job["targets"]:
            current[:] = [path_text, qualname]
            start({"target": current, "phase": "inputs"})
            with _restoring_process_state(sandbox):
                decision = verifier.decide(Target(Path(path_text).resolve(), qualname))
            verdict = TargetVerdict(
                Path(path_text), qualname, decision.verdict, decision.detail, decision.how, decision.mismatches
            )
            emit({"event": "result", **verdict.to_json()})
    finally:
        faulthandler.cancel_dump_traceback_later()
        unprotect()
        os.chdir(private)
        for recorder in recorders.values():
            recorder.close()
        for world in worlds.values():
            world.discard()
        sys.path[:] = original_path
