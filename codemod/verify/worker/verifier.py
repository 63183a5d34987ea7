"""``TargetVerifier``: a target's verdict (a ``Decision``) from runs of the original and the rewrite on the same inputs.

For each input pair (``inputs``: recorded, then examples, then synthesized; the first pair that
gives more than "unverified" decides), both versions run in float64 with grad enabled (falling
back to the code's own dtypes when float64 makes the original fail), and then:

=========================================  ====================================================
original                                   verdict
=========================================  ====================================================
fails, not with an in-place error          unverified (these inputs do not work); next pair
runs                                       rewrite fails: rejected.  Forward outputs or argument
                                           state differ: rejected (a *contract change*, see
                                           below).  Gradients equal: **verified**.  Gradients
                                           differ: compare with finite differences of the
                                           original; the rewrite matches: **repaired** (the
                                           original is silently wrong, e.g. ``.data``), else
                                           rejected
raises an in-place error                   rewrite fails: rejected.  The code runs backward
                                           itself: compare with the original under untracked
                                           parameter updates.  Otherwise: forward outputs must
                                           equal the original's under ``no_grad``, gradients
                                           must match finite differences (and functionalize,
                                           where it applies): **repaired**, else rejected
=========================================  ====================================================

A target whose rewrite holds an **unsafe** fix (``--unsafe-fixes``: the repair of a silent bug,
such as a discarded result assigned back) cannot be held to "outputs agree": when the original
runs, the rewrite must *differ* from it (forward outputs, gradients or argument state) and run
its backward without error: **changed**; when everything agrees, the fix changed nothing on these
inputs, so the finding it repairs was wrong there: rejected.  (That the new value is the intended
one is the finding's claim; the rule's fixtures check it against a hand-written reference.)

When the original raised at the in-place call itself (a leaf, a view of a leaf, ``out=``), the
state of arguments that are leaves requiring grad is not compared: with grad enabled the original
could never have completed that write, so no caller can rely on it (and the ``no_grad`` reference
run performing it is an artefact of the reference).

A **contract change** (the rewrite returns something else, or no longer changes what its caller
passed in) is not wrong by itself: a helper that stopped mutating its argument is correct when its
callers changed with it.  So the callers the scenarios recorded are checked instead, in both
versions, on their own recorded inputs; the target inherits their verdict.  The same happens for
a target with no usable inputs of its own but recorded callers (a custom ``autograd.Function``'s
``backward``, called by the engine with a context that cannot be copied).  A caller outside the
changed and scenario files, no recorded caller, or a caller that cannot be shown to agree, means
rejected: a difference was seen, and nothing showed it harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType

import torch

from gradsafe.verify.changes import MODULE_UNIT
from gradsafe.verify.verdicts import Mismatch, Verdict
from gradsafe.verify.worker.compare import Tolerance, compare
from gradsafe.verify.worker.execution import Call, Execution, Failure, default_dtype, execute
from gradsafe.verify.worker.inputs import InputPair, Unavailable, from_examples, recorded, synthesized
from gradsafe.verify.inplace_errors import InplaceError
from gradsafe.verify.worker.oracles import (
    Perturb,
    PrivateExpandedViews,
    ReferenceUnavailable,
    UntrackedParameterUpdates,
    finite_differences,
    functionalized_gradients,
)
from gradsafe.verify.worker.recording import Caller, Key, Recorder
from gradsafe.verify.worker.scenarios import ScenarioOutcome, Status
from gradsafe.verify.worker.snapshot import Inputs
from gradsafe.verify.worker.targets import Kind, Target, call_for, kind_of, module_instances, recording_keys
from gradsafe.verify.worker.worlds import ORIGINAL, REWRITE, World

HOW_TO_PROVIDE = (
    "add a scenario that calls it (--scenario FILE:FUNCTION) or an example function "
    "{example}() in an examples file; see docs/verification.md"
)


@dataclass(frozen=True)
class Decision:
    """A target's verdict, why, the inputs it came from, what differed, and whether the contract changed."""

    verdict: Verdict
    detail: str
    how: str = ""
    mismatches: tuple[Mismatch, ...] = ()
    contract_changed: bool = False


@dataclass(frozen=True)
class Tolerances:
    equal: Tolerance  # original vs rewrite
    reference: Tolerance  # rewrite vs finite differences / functionalize


@dataclass
class _Unit:
    target: Target
    kind: Kind
    modules: dict[str, ModuleType]
    keys: list[tuple[Key, str]] = field(default_factory=list)


@dataclass
class _Trial:
    """One input pair being judged: how each version is called, and in which precision."""

    unit: _Unit
    pair: InputPair
    calls: dict[str, Call]
    dtype: torch.dtype | None = torch.float64  # None: the code's own dtypes

    def inputs(self, version: str) -> Inputs:
        return (self.pair.original if version == ORIGINAL else self.pair.rewrite).fresh(self.dtype)

    def verdict(
        self, verdict: Verdict, detail: str, mismatches: Sequence[Mismatch] = (), contract_changed: bool = False
    ) -> Decision:
        return Decision(verdict, detail, self.pair.how, tuple(mismatches), contract_changed)


def _first(mismatches: Sequence[Mismatch]) -> str:
    more = f" (and {len(mismatches) - 1} more)" if len(mismatches) > 1 else ""
    return mismatches[0].describe() + more


class TargetVerifier:
    """Decides each target's verdict by running both versions in the worker's two worlds (decisions are memoized)."""

    def __init__(
        self,
        worlds: dict[str, World],
        recorders: dict[str, Recorder],
        tolerances: Tolerances,
        example_files: list[Path],
        scenarios: list[ScenarioOutcome],
        scenario_problems: dict[str, str],
        on_phase: Callable[[str], None],
        unsafe: frozenset[Target] = frozenset(),
    ) -> None:
        self.worlds = worlds
        self.recorders = recorders
        self.tolerances = tolerances
        self.example_files = example_files
        self.scenarios = scenarios
        self.scenario_problems = scenario_problems
        self.on_phase = on_phase
        self.unsafe = unsafe  # targets whose rewrite holds an unsafe fix: it must change what they compute
        self._done: dict[Target, Decision] = {}
        self._active: set[Target] = set()

    def decide(self, target: Target) -> Decision:
        if target in self._done:
            return self._done[target]
        if target in self._active:
            return Decision(Verdict.UNVERIFIED, f"{target.qualname} is its own caller")
        self._active.add(target)
        try:
            decision = self._decide(target)
        finally:
            self._active.discard(target)
        self._done[target] = decision
        return decision

    # One target ------------------------------------------------------------------------------

    def _decide(self, target: Target) -> Decision:
        modules: dict[str, ModuleType] = {}
        for version, world in self.worlds.items():
            try:
                modules[version] = world.module(target.path)
            except BaseException as exc:  # importing runs user code
                failure = Failure.of(exc, "call", world)
                if version == ORIGINAL:
                    return Decision(Verdict.UNVERIFIED, f"importing the original file fails: {failure.describe()}")
                return Decision(Verdict.REJECTED, f"importing the rewritten file fails: {failure.describe()}")
        try:
            kind = kind_of(modules[ORIGINAL], target.qualname)
        except LookupError as exc:
            return Decision(Verdict.UNVERIFIED, str(exc))
        try:
            kind_of(modules[REWRITE], target.qualname)
        except LookupError:
            return Decision(Verdict.REJECTED, f"{target.qualname} is not defined in the rewrite")
        if kind is Kind.SCENARIO_ONLY:
            return self._from_scenarios(target)
        unit = _Unit(target, kind, modules, recording_keys(target, modules[ORIGINAL], kind))
        reasons: dict[str, list[str]] = {}  # why a source gave nothing -> the inputs it was true for
        for item in self._sources(unit):
            if isinstance(item, Unavailable):
                reasons.setdefault(item.reason, [])
                continue
            decision = self._pair(unit, item)
            if decision.verdict is Verdict.UNVERIFIED:
                reasons.setdefault(decision.detail, []).append(item.how)
                continue
            if decision.contract_changed:
                decision = self._through_callers(unit, decision)
            return decision
        by_callers = self._by_callers(unit, "it has no inputs of its own", Verdict.UNVERIFIED)
        if by_callers is not None:
            if by_callers.verdict is not Verdict.UNVERIFIED:
                return by_callers
            reasons.setdefault(by_callers.detail, [])
        return self._no_inputs(unit, reasons)

    def _sources(self, unit: _Unit) -> Iterator[InputPair | Unavailable]:
        instances = list(module_instances(unit.modules[ORIGINAL])) if unit.kind is Kind.MODULE_INSTANCES else []
        sources: tuple[Callable[[], Iterator[InputPair | Unavailable]], ...] = (
            lambda: recorded(unit.keys, self.recorders, self.worlds),
            lambda: from_examples(unit.target, unit.kind, self.example_files, self.worlds, instances),
            lambda: synthesized(unit.target, unit.kind, self.worlds),
        )
        for source in sources:
            try:
                yield from source()
            except Exception as exc:  # building inputs runs user code
                yield Unavailable(f"building inputs failed ({type(exc).__name__}: {exc})")

    def _no_inputs(self, unit: _Unit, reasons: dict[str, list[str]]) -> Decision:
        example = "example__" + unit.target.qualname.replace(".", "__")
        if unit.kind is Kind.MODULE_INSTANCES:
            example = "example__<instance name>"
        notes = []
        if not self.scenarios and not self.scenario_problems:
            notes.append("no scenario is configured")
        else:
            ran = [s.name for s in self.scenarios]
            called = any(r.calls[key] for key, _ in unit.keys for r in self.recorders.values())
            if ran and not called:
                notes.append(f"scenario {', '.join(ran)} did not call it")
            notes += [f"scenario {name} {problem}" for name, problem in self.scenario_problems.items()]
        notes += [
            f"with inputs from {'; '.join(hows)}: {reason}" if hows else reason for reason, hows in reasons.items()
        ]
        return Decision(
            Verdict.UNVERIFIED, "no inputs: " + "; ".join(notes) + "; " + HOW_TO_PROVIDE.format(example=example)
        )

    def _from_scenarios(self, target: Target) -> Decision:
        what = (
            "the module's own statements" if target.qualname == MODULE_UNIT else f"the body of class {target.qualname}"
        )
        exercising = [s for s in self.scenarios if any(path == target.path for path, _ in s.reached)]
        failed = [s for s in exercising if s.status in (Status.DIFFER, Status.REWRITE_RAISED)]
        if failed:
            return Decision(
                Verdict.REJECTED,
                f"scenario {failed[0].name}: {failed[0].detail}",
                f"scenario {failed[0].name}",
                tuple(failed[0].mismatches),
            )
        equal = [s for s in exercising if s.status == Status.EQUAL]
        if equal:
            return Decision(
                Verdict.VERIFIED,
                f"a change to {what} is checked only by scenarios; "
                f"{equal[0].name} gives equal results ({equal[0].detail})",
                f"scenario {equal[0].name}",
            )
        return Decision(
            Verdict.UNVERIFIED,
            f"a change to {what} can only be checked by a scenario that runs code of this file, "
            "and none ran both versions to completion; "
            "add one with --scenario FILE:FUNCTION (see docs/verification.md)",
        )

    # One input pair --------------------------------------------------------------------------

    def _pair(self, unit: _Unit, pair: InputPair) -> Decision:
        call_kind = pair.via or unit.kind
        trial = _Trial(
            unit,
            pair,
            {v: call_for(m, unit.target.qualname, call_kind, pair.instance) for v, m in unit.modules.items()},
        )
        equal = self.tolerances.equal

        self.on_phase("original")
        original = self._run_original(trial)
        if isinstance(original, Decision):
            return original
        if original.error is not None and original.error.inplace is None:
            native = _Trial(trial.unit, trial.pair, trial.calls, dtype=None)
            rerun = self._run_original(native)
            if isinstance(rerun, Execution) and (rerun.error is None or rerun.error.inplace is not None):
                original, trial = rerun, native
        if original.error is not None and original.error.inplace is None:
            return trial.verdict(Verdict.UNVERIFIED, f"the original raises {original.error.describe()}")

        self.on_phase("rewrite")
        rewrite = execute(
            trial.calls[REWRITE], trial.inputs(REWRITE), self.worlds[REWRITE], grad=True, dtype=trial.dtype
        )
        if rewrite.error is not None:
            if rewrite.error.inplace is not None:
                error = rewrite.error
                if error.stage == "backward":  # say where the stale tensor was saved: run again, traced
                    traced = execute(trial.calls[REWRITE], trial.inputs(REWRITE), self.worlds[REWRITE], grad=True,
                                     dtype=trial.dtype, locate_saves=True)
                    if traced.error is not None and traced.error.saved_at:
                        error = traced.error
                return trial.verdict(Verdict.REJECTED, f"the rewrite still raises {error.describe()}")
            ran = "runs" if original.error is None else "raises an in-place error"
            return trial.verdict(
                Verdict.REJECTED, f"the rewrite raises {rewrite.error.describe()} (the original {ran})"
            )

        if original.error is None and unit.target in self.unsafe:
            return self._unsafe_change(trial, original, rewrite)
        if original.error is None:
            forward = compare(original.forward(), rewrite.forward(), equal)
            if forward:
                return trial.verdict(Verdict.REJECTED, _first(forward), forward, contract_changed=True)
            grads = compare(original.grads, rewrite.grads, equal, label=lambda n: f"grad of {n}")
            if not grads:
                precision = "float64" if trial.dtype is not None else "the code's own dtypes"
                return trial.verdict(
                    Verdict.VERIFIED,
                    f"equal in {precision}: {len(original.outputs)} outputs, {len(original.grads)} gradients, "
                    f"{len(original.state)} argument values after the call",
                )
            why = f"the original runs but its gradients differ from the rewrite's ({_first(grads)})"
            return self._against_finite_differences(trial, original, rewrite, why)

        why = f"the original raises {original.error.describe()}"
        if rewrite.ran_backward:
            return self._against_untracked_updates(trial, rewrite, why, _overlapping(original))
        return self._against_finite_differences(trial, original, rewrite, why)

    def _unsafe_change(self, trial: _Trial, original: Execution, rewrite: Execution) -> Decision:
        """An unsafe fix on code that runs: the rewrite must compute something else (and its backward ran)."""
        equal = self.tolerances.equal
        differences = compare(original.forward(), rewrite.forward(), equal)
        differences += compare(original.grads, rewrite.grads, equal, label=lambda n: f"grad of {n}")
        if not differences:
            return trial.verdict(
                Verdict.REJECTED,
                "the unsafe fix is meant to change what the code computes, and on these inputs it changes "
                "nothing (outputs, gradients and arguments agree): the finding it repairs does not hold here",
            )
        return trial.verdict(
            Verdict.CHANGED,
            f"the unsafe fix changes what the code computes, as intended: {_first(differences)}; "
            "the rewrite's backward runs",
            differences,
        )

    def _run_original(self, trial: _Trial) -> Execution | Decision:
        world = self.worlds[ORIGINAL]
        if trial.pair.via is None:
            return execute(trial.calls[ORIGINAL], trial.inputs(ORIGINAL), world, grad=True, dtype=trial.dtype)
        target = trial.unit.target
        with self.recorders[ORIGINAL].probing() as calls:
            run = execute(trial.calls[ORIGINAL], trial.inputs(ORIGINAL), world, grad=True, dtype=trial.dtype)
        if not calls[(target.path, target.qualname)]:
            owner = target.qualname.rpartition(".")[0]
            return trial.verdict(Verdict.UNVERIFIED, f"calling {owner}() with synthesized inputs does not reach it")
        return run

    def _against_finite_differences(
        self, trial: _Trial, original: Execution, rewrite: Execution, why: str
    ) -> Decision:
        """Repaired when the rewrite matches the original's forward (under no_grad) and FD gradients."""
        self.on_phase("reference")
        if original.ran_backward or rewrite.ran_backward:
            return trial.verdict(
                Verdict.REJECTED, f"{why}; it runs backward itself, so finite differences do not apply"
            )
        if not rewrite.grads:
            return trial.verdict(
                Verdict.UNVERIFIED, f"{why}; nothing it returns or changes depends on an input that requires grad"
            )
        world, call = self.worlds[ORIGINAL], trial.calls[ORIGINAL]
        copies = PrivateExpandedViews if _overlapping(original) else None  # what torch's overlap error asks for
        base = execute(call, trial.inputs(ORIGINAL), world, grad=False, dtype=trial.dtype, terms=rewrite.terms,
                       mode=copies() if copies else None)
        if base.error is not None:
            return trial.verdict(Verdict.UNVERIFIED, f"{why}, and it fails even without grad: {base.error.describe()}")
        if original.error is not None:
            at_call = original.error.inplace is not None and original.error.inplace.raised_at_call
            exclude = base.leaf_state if at_call else frozenset()
            forward = compare(base.forward(exclude), rewrite.forward(exclude), self.tolerances.equal)
            if forward:
                detail = f"{why}; without grad it computes something else than the rewrite: {_first(forward)}"
                return trial.verdict(Verdict.REJECTED, detail, forward, contract_changed=True)

        def evaluate(perturb: Perturb) -> float:
            run = execute(
                call, trial.inputs(ORIGINAL), world, grad=False, dtype=trial.dtype, terms=rewrite.terms, perturb=perturb,
                mode=copies() if copies else None,
            )
            if run.error is not None:
                raise ReferenceUnavailable(f"a perturbed evaluation fails: {run.error.describe()}")
            if run.scalar is None:
                raise ReferenceUnavailable("the original does not produce the values the rewrite is differentiated by")
            return run.scalar

        try:
            reference = finite_differences(evaluate, rewrite.grads, self.tolerances.reference)
        except ReferenceUnavailable as exc:
            return trial.verdict(Verdict.UNVERIFIED, f"{why}; no finite-difference reference: {exc}")
        if reference.mismatches:
            mismatches = list(reference.mismatches)
            detail = (
                f"{why}; the rewrite's gradients do not match {reference.method} of the original: {_first(mismatches)}"
            )
            return trial.verdict(Verdict.REJECTED, detail, mismatches)
        # functionalize rewrites a write into an expanded view as a write into its base: no second opinion there
        second = "; each expanded view given its own memory" if copies else self._functionalize(trial, rewrite)
        if isinstance(second, list):
            detail = (
                f"{why}; the rewrite matches {reference.method} "
                f"but not the gradient of functionalize(original): {_first(second)}"
            )
            return trial.verdict(Verdict.REJECTED, detail, second)
        return trial.verdict(
            Verdict.REPAIRED,
            f"{why}; the rewrite's gradients match {reference.method} of the original "
            f"(max error {reference.max_error:.1e}){second}",
        )

    def _functionalize(self, trial: _Trial, rewrite: Execution) -> list[Mismatch] | str:
        """Mismatches against functionalize, or a note for the detail (agrees / does not apply)."""
        unit = trial.unit
        through_module = (trial.pair.via or unit.kind) in (Kind.CONSTRUCTION, Kind.MODULE_INSTANCES) or (
            unit.kind is Kind.METHOD and unit.target.qualname.endswith(".forward")
        )
        call = trial.calls[ORIGINAL]
        try:
            with self.worlds[ORIGINAL].active(), default_dtype(trial.dtype), torch.enable_grad():
                grads = functionalized_gradients(
                    call.entry, call.signature, trial.inputs(ORIGINAL), rewrite.terms, through_module
                )
        except Exception:  # functionalize rejects many programs; it is only a second opinion
            return ""
        mismatches = compare(grads, rewrite.grads, self.tolerances.reference, label=lambda n: f"grad of {n}")
        return mismatches or "; the gradient of functionalize(original) agrees"

    def _against_untracked_updates(
        self, trial: _Trial, rewrite: Execution, why: str, overlapping: bool = False
    ) -> Decision:
        self.on_phase("reference")
        untracked = UntrackedParameterUpdates()
        reference = execute(
            trial.calls[ORIGINAL],
            trial.inputs(ORIGINAL),
            self.worlds[ORIGINAL],
            grad=True,
            dtype=trial.dtype,
            mode=PrivateExpandedViews(untracked) if overlapping else untracked,
        )
        if reference.error is not None:
            return trial.verdict(
                Verdict.UNVERIFIED,
                f"{why}; it runs backward itself, so finite differences do not apply, and with its "
                f"post-backward parameter updates untracked it still fails: {reference.error.describe()}",
            )
        mismatches = compare(reference.forward(), rewrite.forward(), self.tolerances.equal)
        mismatches += compare(reference.grads, rewrite.grads, self.tolerances.equal, label=lambda n: f"grad of {n}")
        if mismatches:
            detail = (
                f"{why}; the rewrite differs from the original run with its parameter updates untracked: "
                f"{_first(mismatches)}"
            )
            return trial.verdict(Verdict.REJECTED, detail, mismatches)
        copies = "and each expanded view given its own memory (the clone() torch asks for) " if overlapping else ""
        return trial.verdict(
            Verdict.REPAIRED,
            f"{why}; the rewrite equals the original run with its updates of trained parameters untracked {copies}"
            "(in-place writes after backward executed under no_grad, as torch.optim does)",
        )

    # Judging by callers ----------------------------------------------------------------------

    def _through_callers(self, unit: _Unit, decision: Decision) -> Decision:
        """A contract change: every recorded caller must behave the same, or it is rejected."""
        change = f"the rewrite changes what its callers see ({decision.detail})"
        found = self._by_callers(unit, change, Verdict.REJECTED, decision.mismatches)
        if found is None:
            return Decision(
                Verdict.REJECTED, f"{change}, and no scenario shows who calls it", decision.how, decision.mismatches
            )
        return replace(found, how=f"{decision.how}, via its callers")

    def _by_callers(
        self, unit: _Unit, premise: str, unproven: Verdict, mismatches: tuple[Mismatch, ...] = ()
    ) -> Decision | None:
        """The verdict of the recorded callers (each run in both versions), or None without callers.

        ``unproven`` is the verdict when a caller cannot be checked or is not shown to agree:
        rejected after a difference was seen, unverified when the target had no inputs at all.
        """
        callers: set[Caller] = set()
        for key, _ in unit.keys:
            for recorder in self.recorders.values():
                callers |= recorder.callers.get(key, set())
        callers.discard(Caller(unit.target.path, unit.target.qualname))
        if not callers:
            return None
        checkable = set(self.worlds[ORIGINAL].project.files)
        results: list[tuple[str, Decision]] = []
        for caller in sorted(callers, key=lambda c: (str(c.path), c.unit)):
            name = f"{self.worlds[ORIGINAL].project.display(caller.path)}:{caller.unit}"
            if caller.path not in checkable or caller.unit == MODULE_UNIT:
                return Decision(unproven, f"{premise}, and its caller {name} cannot be checked", "", mismatches)
            results.append((name, self.decide(Target(caller.path, caller.unit))))
        for verdict in (Verdict.REJECTED, Verdict.UNVERIFIED):
            for name, result in results:
                if result.verdict is verdict:
                    worst = Verdict.REJECTED if verdict is Verdict.REJECTED else unproven
                    return Decision(
                        worst, f"{premise}; caller {name}: {result.detail}", result.how, result.mismatches or mismatches
                    )
        names = ", ".join(name for name, _ in results)
        overall = Verdict.REPAIRED if any(r.verdict is Verdict.REPAIRED for _, r in results) else Verdict.VERIFIED
        return Decision(overall, f"{premise}, and every caller agrees with it: {names}", "via its callers")


def _overlapping(original: Execution) -> bool:
    """The original stopped at a write into memory its elements share (an ``expand``ed view)."""
    return original.error is not None and original.error.inplace is InplaceError.INTERNAL_OVERLAP
