"""The verify stage of ``diff`` / ``fix``: prove each rewritten function before its hunk is emitted.

Sits between rewrite and emit.  The rewritten files go to ``gradsafe.verify`` (which runs the user's
code in a worker subprocess); every changed function gets a verdict.  Functions whose rewrite is
``rejected`` (or ``unverified``, unless the user accepts those) are taken out of the rewrite: the
fix loop runs again with their scopes excluded, and the smaller rewrite is verified again, until
every emitted change is proven.  The verdicts end up on each ``FileResult`` so that every report
format can show them.

Verdicts are per function, fixes per finding scope.  Most fixes edit only their own function; two
kinds reach further: ``inplace=False`` at a module's construction (often in ``__init__``) and a
helper made to return its argument (the helper and its call sites).  A rejected function that is
no fix's own scope therefore also drops the fixes of those kinds: conservative, never unproven.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Callable, Sequence

from gradsafe.settings.config import Settings
from gradsafe.findings import FixKind
from gradsafe.results import FileResult
from gradsafe.run.pipeline import process_source

if TYPE_CHECKING:
    from gradsafe.verify.settings import VerifySettings
    from gradsafe.verify.verdicts import TargetVerdict

# Fix kinds whose edits can land outside the function of their finding.
_FAR_REACHING = frozenset({FixKind.INPLACE_FLAG, FixKind.HELPER_RETURN})
MAX_ROUNDS = 3


@dataclass(frozen=True)
class VerifyOptions:
    """How ``diff``/``fix`` verify: the settings of ``gradsafe.verify`` and which verdicts are emitted."""

    scenarios: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    timeout: float | None = None
    workers: int | None = None
    python: str | None = None
    tests: bool = True  # the project's own pytest tests as scenarios (``gradsafe.verify.discovery``)
    emit_unverified: bool = False


@dataclass
class _FileState:
    result: FileResult
    excluded: set[str] = field(default_factory=set)
    # Verdicts and their explanations by verification unit (function qualname or "<module>"),
    # latest round wins.
    verdicts: dict[str, str] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)


class ScenarioError(Exception):
    """A scenario that cannot serve as a source of inputs: misnamed, or failing before it reaches any
    rewritten function (the command stops with exit status 2 before emitting anything)."""


def check_scenario_names(specs: Sequence[str], root: Path) -> None:
    """Raise ``ScenarioError`` for a scenario that is misspelt or names a file that does not exist
    (``pkg.mod:fn`` names are checked when the worker imports them)."""
    for spec in specs:
        location, _, attribute = spec.rpartition(":")
        if not location or not attribute:
            raise ScenarioError(f"scenario {spec!r} must look like 'path/file.py:FUNCTION' or 'pkg.mod:FUNCTION'")
        if (location.endswith(".py") or "/" in location) and not (root / location).is_file():
            raise ScenarioError(f"scenario {spec}: no file {location} under the project root {root}")


def check_scenario_outcomes(outcomes: Sequence[dict[str, Any]], changed: set[Path]) -> None:
    """Raise ``ScenarioError`` for a scenario whose original raised before it reached code of any
    ``changed`` file (absolute paths)."""
    for outcome in outcomes:
        reached = {Path(path) for path, _ in outcome.get("reached", ())}
        if outcome.get("status") == "unusable" and not reached & changed:
            raise ScenarioError(
                f"scenario {outcome.get('name')} fails before it reaches any rewritten function: {outcome.get('detail')}"
            )


def scope_unit(scope: str) -> str:
    """The verification unit of a finding scope: nested functions count as their enclosing one."""
    if not scope:
        return "<module>"
    return scope.split(".<locals>.", 1)[0]


def verify_results(
    results: Sequence[FileResult],
    settings: Settings,
    options: VerifyOptions,
    *,
    announce: Callable[[str], None],
    start_progress: Callable[[int], Callable[[str, str], None]] | None = None,
) -> list[tuple[str, str, str]]:
    """Verify every rewritten file in ``results`` and keep only proven changes (in place).

    Returns the verdict of every rewritten function, as ``(path, function, verdict)`` rows in path
    order (the last round's verdict of each function), for the report's verdict table.

    Raises ``VerificationUnavailable`` when verification cannot run here (no torch, no worker).
    """
    # Looked up at each call (tests replace ``gradsafe.verify.torch_available``).
    from gradsafe.verify import (
        FileChange,
        SettingsError,
        VerificationUnavailable,
        VerifySettings,
        WorkerPool,
        count_targets,
        notice,
        torch_available,
        verify,
        worker_interpreter,
    )
    from gradsafe.verify.verdicts import Verdict

    states = [_FileState(r) for r in results if r.edit is not None]
    if not states:
        return []
    try:
        base = VerifySettings.from_config(settings.verify)
    except SettingsError as exc:  # validated when the configuration was loaded; kept for safety
        raise VerificationUnavailable(str(exc)) from None
    verify_settings = _with_options(base, options)
    root = Path(settings.root)
    interpreter = worker_interpreter(verify_settings, root)
    if not torch_available(None if interpreter.is_own else interpreter.executable):
        where = "" if interpreter.is_own else f" in {interpreter.describe()}"
        raise VerificationUnavailable(
            f"verification needs torch{where}: pip install 'gradsafe[verify]' (torch==2.13.0), or pass --no-verify"
        )
    accepted = {verdict.value for verdict in Verdict if verdict.emit_by_default}
    if options.emit_unverified:
        accepted.add(Verdict.UNVERIFIED.value)

    def changes(pending: list[_FileState]) -> list[FileChange]:
        return [
            FileChange(
                Path(s.result.edit.source.path),
                s.result.edit.source.text,
                s.result.edit.new_text,
                unsafe=_unsafe_units(s.result),
            )
            for s in pending
            if s.result.edit is not None
        ]

    check_scenario_names(verify_settings.scenarios, root)
    first = changes(states)
    new: list[str] = []
    if options.tests:
        from dataclasses import replace

        from gradsafe.verify.discovery import discover_tests

        found = discover_tests(root, [(c.path, q) for c in first for q in c.resolved_targets()])
        new = [t for t in found if t not in verify_settings.scenarios]
        if new:
            verify_settings = replace(verify_settings, scenarios=(*verify_settings.scenarios, *new))
    announce(notice(first))
    if options.tests and new:
        announce(f"running {len(new)} of the project's tests as scenarios; --no-tests to skip")
    if not interpreter.is_own:
        announce(f"verification runs in {interpreter.describe()}")
    progress = start_progress(count_targets(first)) if start_progress is not None else None
    pool = WorkerPool(verify_settings.workers, verify_settings.memory_mb, interpreter.executable)
    try:
        pending = states
        for round_number in range(MAX_ROUNDS):
            batch = changes(pending)
            if not batch:
                break
            outcomes: list[dict[str, Any]] = []
            verdicts = verify(
                batch, verify_settings, root=root, progress=progress, pool=pool, scenario_outcomes=outcomes
            )
            if round_number == 0:
                check_scenario_outcomes(outcomes, {Path(c.path).resolve() for c in batch})
            by_path: dict[Path, list[TargetVerdict]] = {}
            for verdict in verdicts:
                by_path.setdefault(Path(verdict.path), []).append(verdict)
            next_round = []
            for state in pending:
                path = Path(state.result.edit.source.path)  # type: ignore[union-attr]
                refused = set()
                for verdict in by_path.get(path, []):
                    state.verdicts[verdict.qualname] = verdict.verdict.value
                    state.details[verdict.qualname] = verdict.detail
                    if verdict.verdict.value not in accepted:
                        refused.add(verdict.qualname)
                if refused and _exclude(state, refused, settings):
                    next_round.append(state)
            pending = next_round
        else:
            # Still refusing after the last round: emit nothing for those files.
            for state in pending:
                _exclude_everything(state, settings)
    finally:
        pool.close()
    for state in states:
        _record(state)
    return [(state.result.display, unit, verdict) for state in states for unit, verdict in state.verdicts.items()]


def verdict_table(rows: Sequence[tuple[str, str, str]]) -> list[str]:
    """The verdict per rewritten function, as aligned lines (``VERDICT  FUNCTION``), for standard error."""
    if not rows:
        return []
    cells = [("VERDICT", "FUNCTION")] + [(verdict, f"{path}:{unit}") for path, unit, verdict in rows]
    width = max(len(verdict) for verdict, _ in cells)
    return [f"{verdict.ljust(width)}  {where}" for verdict, where in cells]


def _with_options(base: VerifySettings, options: VerifyOptions) -> VerifySettings:
    from dataclasses import replace

    changes: dict[str, Any] = {}
    if options.scenarios:
        changes["scenarios"] = tuple(base.scenarios) + tuple(options.scenarios)
    if options.examples:
        changes["examples"] = tuple(base.examples) + tuple(options.examples)
    if options.timeout is not None:
        changes["timeout"] = options.timeout
    if options.workers is not None:
        changes["workers"] = options.workers
    if options.python is not None:
        changes["python"] = options.python
    return replace(base, **changes) if changes else base


def _exclude(state: _FileState, refused: set[str], settings: Settings) -> bool:
    """Rewrite the file again without the refused functions' fixes.  True when a change is left."""
    result = state.result
    scopes = {a.finding.scope for a in result.applied}
    for applied in result.applied:
        unit = scope_unit(applied.finding.scope)
        fix = applied.finding.fix
        if unit in refused:
            state.excluded.add(applied.finding.scope)
        elif fix is not None and fix.kind in _FAR_REACHING and any(
            r not in {scope_unit(s) for s in scopes} for r in refused
        ):
            state.excluded.add(applied.finding.scope)
    return _rerun(state, settings)


def _exclude_everything(state: _FileState, settings: Settings) -> None:
    state.excluded |= {a.finding.scope for a in state.result.applied}
    _rerun(state, settings)


def _rerun(state: _FileState, settings: Settings) -> bool:
    edit = state.result.edit
    assert edit is not None
    fresh = process_source(edit.source, settings, fix=True, excluded_scopes=frozenset(state.excluded))
    # Keep the verdicts of this file; everything else comes from the smaller rewrite.
    result = state.result
    result.findings, result.errors = fresh.findings, result.errors + fresh.errors
    result.edit, result.applied, result.declined, result.fixed = fresh.edit, fresh.applied, fresh.declined, fresh.fixed
    return result.edit is not None


_WORST_FIRST = ("rejected", "unverified", "changed", "repaired", "verified")


def _unsafe_units(result: FileResult) -> tuple[str, ...]:
    """The units whose rewrite applied an unsafe fix: verification must see them change what they compute.
    Those are the finding's own unit and the unit the fix edits (``inplace=False`` in ``__init__``
    for a finding in ``forward``), whose callers then see the change."""
    from gradsafe.verify.changes import unit_at_line

    unsafe = [a for a in result.applied if a.finding.fix is not None and a.finding.fix.unsafe]
    units = {scope_unit(a.finding.scope) for a in unsafe}
    if unsafe and result.edit is not None:
        for a in unsafe:
            assert a.finding.fix is not None
            edited = unit_at_line(result.edit.source.text, a.finding.fix.target.line)
            if edited is not None:
                units.add(edited)
    return tuple(sorted(units))


def _record(state: _FileState) -> None:
    """Verdicts by finding scope, for every finding the report shows (fixed or remaining).

    A fix that reaches beyond its finding's function (``inplace=False`` in ``__init__`` for a
    finding in ``forward``) is judged by the verdicts of the functions it edited that are no
    finding's own: the worst of them, with the finding's own function's verdict when it has one.
    """
    result = state.result
    findings = [*result.findings, *result.fixed, *(a.finding for a in result.applied)]
    scopes = {f.scope for f in findings} | state.excluded
    far = {f.scope for f in findings if f.fix is not None and f.fix.kind in _FAR_REACHING}
    own_units = {scope_unit(scope) for scope in scopes}
    elsewhere = [unit for unit in state.verdicts if unit not in own_units]
    for scope in scopes:
        unit = scope_unit(scope)
        units = [unit] if unit in state.verdicts else []
        if scope in far:
            units += elsewhere
        if not units:
            continue
        worst = min(units, key=lambda u: _WORST_FIRST.index(state.verdicts[u]) if state.verdicts[u] in _WORST_FIRST else 0)
        result.verdicts[scope] = state.verdicts[worst]
        if state.details.get(worst):
            result.verdict_details[scope] = state.details[worst] if worst == unit else f"{worst}: {state.details[worst]}"
