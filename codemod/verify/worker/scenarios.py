"""Running a scenario (a zero-argument callable of the user's) in both worlds and comparing them.

A scenario is named ``"pkg.mod:fn"`` or ``"path/to/file.py:fn"`` (relative to the project root);
``fn`` may be dotted (``"Trainer.smoke"`` for a static method).  It runs once per world, with the
RNG seeded identically, grad enabled, the user's own dtypes, and the recorder on, so the calls it
makes become inputs for the per-target checks.  Compared afterwards: everything it returns (with the
``.grad`` of each leaf tensor and each parameter of a returned module), and the parameters, buffers
and gradients of every module-level ``nn.Module`` in the changed files.

When the rewrite fails, the innermost frame in a changed file names the unit to blame.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from gradsafe.verify.changes import MODULE_UNIT, unit_at_line
from gradsafe.verify.verdicts import Mismatch
from gradsafe.verify.worker.compare import Tolerance, compare
from gradsafe.verify.worker.execution import Failure, seed_everything
from gradsafe.verify.worker.recording import Recorder
from gradsafe.verify.worker.targets import module_instances
from gradsafe.verify.worker.values import capture
from gradsafe.verify.worker.worlds import ORIGINAL, REWRITE, World


class Status:
    EQUAL = "equal"  # both ran and agree
    DIFFER = "differ"  # both ran and disagree
    ORIGINAL_INPLACE_ERROR = "original-inplace-error"  # the original raised an in-place error, the rewrite ran
    REWRITE_RAISED = "rewrite-raised"  # the rewrite raised (the original did not, or differently)
    UNUSABLE = "unusable"  # the original fails for another reason, or the scenario cannot be found


@dataclass
class ScenarioOutcome:
    name: str
    status: str
    detail: str
    mismatches: list[Mismatch] = field(default_factory=list)
    reached: set[tuple[Path, str]] = field(default_factory=set)  # (file, unit) called in either run
    blamed: tuple[Path, str] | None = None  # the unit where the rewrite failed

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "mismatches": [m.to_json() for m in self.mismatches],
            "reached": sorted([str(p), u] for p, u in self.reached),
            "blamed": [str(self.blamed[0]), self.blamed[1]] if self.blamed else None,
        }


@dataclass
class _Run:
    values: dict[str, Any]
    error: Failure | None
    blamed: tuple[Path, str] | None


def resolve_scenario(spec: str, world: World) -> Any:
    location, _, attribute = spec.rpartition(":")
    if not location or not attribute:
        raise LookupError(f"scenario {spec!r} must look like 'pkg.mod:fn' or 'path/file.py:fn'")
    if location.endswith(".py") or "/" in location:
        path = (world.project.root / location).resolve()
        module = world.module(path)
    else:
        module = world.import_module(location)
    obj: Any = module
    for part in attribute.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise LookupError(f"scenario {spec!r} is not callable")
    return obj


def scenario_paths(spec: str, root: Path) -> list[Path]:
    """The file a path-style scenario names (it must be importable by the worlds), else nothing."""
    location = spec.rpartition(":")[0]
    if location.endswith(".py") or "/" in location:
        return [(root / location).resolve()]
    return []


def run_scenario(
    spec: str, worlds: dict[str, World], recorders: dict[str, Recorder], tolerance: Tolerance
) -> ScenarioOutcome:
    before = {version: recorder.calls.copy() for version, recorder in recorders.items()}
    runs = {version: _run(spec, world, recorders[version]) for version, world in worlds.items()}
    reached: set[tuple[Path, str]] = set()
    for version, recorder in recorders.items():
        for (path, key), count in recorder.calls.items():
            if count > before[version][(path, key)]:
                reached.update((path, unit) for unit in _units_of_key(key))
    original, rewrite = runs[ORIGINAL], runs[REWRITE]
    outcome = ScenarioOutcome(spec, Status.EQUAL, "", reached=reached)
    if original.error is not None and original.error.inplace is None:
        outcome.status = Status.UNUSABLE
        outcome.detail = f"the original raises {original.error.describe()}"
    elif rewrite.error is not None:
        outcome.status = Status.REWRITE_RAISED
        outcome.detail = f"the rewrite raises {rewrite.error.describe()}"
        outcome.blamed = rewrite.blamed
    elif original.error is not None:
        outcome.status = Status.ORIGINAL_INPLACE_ERROR
        outcome.detail = f"the original raises {original.error.describe()}; the rewrite runs"
    else:
        outcome.mismatches = compare(original.values, rewrite.values, tolerance)
        if outcome.mismatches:
            outcome.status = Status.DIFFER
            outcome.detail = outcome.mismatches[0].describe()
        else:
            outcome.detail = f"{len(original.values)} values equal"
    return outcome


def _units_of_key(key: str) -> tuple[str, ...]:
    """The units a recorded call exercises: a module call exercises its class's construction."""
    if key.startswith("<module>:"):
        return (MODULE_UNIT,)
    if key.endswith("()"):
        return (key[:-2], f"{key[:-2]}.__init__")
    return (key,)


def _run(spec: str, world: World, recorder: Recorder) -> _Run:
    recorder.scenario = spec
    recorder.recording = True
    seed_everything()
    try:
        with world.active(), torch.enable_grad():
            result = resolve_scenario(spec, world)()
    except BaseException as exc:  # user code may raise anything, even SystemExit
        return _Run({}, Failure.of(exc, "call", world), _blame(exc, world))
    finally:
        recorder.recording = False
    values = capture(result, "return")
    for path, module in world.loaded().items():
        for name, instance in module_instances(module).items():
            values.update(capture(instance, f"{world.project.display(path)}:{name}"))
    return _Run(values, None, None)


def _blame(exc: BaseException, world: World) -> tuple[Path, str] | None:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename)
        if path in world.texts and frame.lineno is not None:
            unit = unit_at_line(world.texts[path], frame.lineno)
            return (path, unit) if unit else None
    return None
