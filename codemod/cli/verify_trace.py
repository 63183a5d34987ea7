"""The commands that run the user's code: ``verify`` (prove the fixes, print a verdict per function)
and ``trace`` (run a program under the run-time detector, and with ``--fix`` fix what it saw)."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gradsafe.rules.arguments import HELPER_MUTATES_ARGUMENT
from gradsafe.cli.app import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, UsageError, app, guarded
from gradsafe.cli.command_run import Run, start_run, write_result
from gradsafe.cli.trace_fix import report_unfixed, unfixed_hazards
from gradsafe.cli.options import (
    CONFIGURATION,
    EMITTED_FIXES,
    UNSAFE_FIXES,
    FILE_SELECTION,
    MESSAGES,
    PATHS,
    PERFORMANCE,
    QUIET,
    REPORT_DESTINATION,
    RULE_SELECTION,
    VERIFY_INPUTS,
    VERIFY_LIMITS,
    takes,
)
from gradsafe.files.paths import display_path
from gradsafe.report import Command, sort_results
from gradsafe.results import FileResult

if TYPE_CHECKING:
    from gradsafe.trace import TraceResult


@app.command(
    epilog="**Examples**\n\n"
    "* `gradsafe verify src/`: prove the fixes `gradsafe fix src/` would write, without writing them\n"
    "* `gradsafe verify --scenario tests/smoke.py:run src/`: with the inputs of a real training step\n\n"
    "**Exit status**: 0 every rewritten function was verified, repaired or changed, 1 some were rejected or "
    "unverified, 2 a file could not be processed or the command line or configuration is wrong.",
)
@takes(
    PATHS, RULE_SELECTION, FILE_SELECTION, CONFIGURATION, UNSAFE_FIXES, VERIFY_INPUTS, VERIFY_LIMITS, QUIET, PERFORMANCE
)
def verify(**options: Any) -> None:
    """Compute the fixes, run the original and the rewritten code, and print a verdict per function.

    Writes nothing. A function is `verified` (same outputs and gradients), `repaired` (the original
    fails in backward or is silently wrong, and the rewrite matches finite differences of the
    original), `changed` (an unsafe fix, `--unsafe-fixes`: the rewrite computes something else, as
    a silent bug's repair must, and its backward runs), `rejected` (something differs) or
    `unverified` (no inputs: the line says how to provide them). `gradsafe diff` and `fix` emit
    only verified, repaired and changed rewrites.
    """

    def body() -> int:
        from gradsafe.verify.verdicts import Verdict

        run = start_run(Command.DIFF, no_verify=False, **options)
        if run.stdin:
            raise UsageError("verify runs code from files; '-' (standard input) is not supported")
        results = run.path_results()
        run.verify_rewrites(results)
        status = EXIT_CLEAN
        for result in results:
            for error in result.errors:
                typer.echo(f"{error.path}:{error.line or 1}:{(error.col or 0) + 1}: {error.code} {error.message}")
                status = EXIT_ERROR
            for scope, verdict in sorted(result.verdicts.items()):
                detail = result.verdict_details.get(scope, "")
                typer.echo(f"{result.display}: {scope or '<module>'}: {verdict}" + (f": {detail}" if detail else ""))
                if not Verdict(verdict).emit_by_default and status == EXIT_CLEAN:
                    status = EXIT_FINDINGS
        if not run.options.quiet:
            counts: dict[str, int] = {}
            for result in results:
                for verdict in result.verdicts.values():
                    counts[verdict] = counts.get(verdict, 0) + 1
            summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "nothing to verify"
            typer.echo(f"Verdicts: {summary}.", err=True)
        return status

    raise typer.Exit(guarded(body))


@app.command(
    context_settings={"allow_interspersed_args": False},
    epilog="**Examples**\n\n"
    "* `gradsafe trace -- python train.py --epochs 1`: run a script and report the hazards that happen\n"
    "* `gradsafe trace -- python -m pytest tests/test_model.py`: the same for a test run\n"
    "* `gradsafe trace --scenario tests/smoke.py:run`: call a zero-argument function\n"
    "* `gradsafe trace --fix --scenario tests/smoke.py:run`: and fix the lines it names, verified\n\n"
    "**Exit status**: 1 a hazard happened (with `--fix`: hazards remain); otherwise the program's own "
    "status; 2 the command line is wrong or the command cannot be started.",
)
@takes(EMITTED_FIXES, VERIFY_LIMITS, CONFIGURATION, REPORT_DESTINATION, MESSAGES)
def trace(
    command: Annotated[
        list[str] | None,
        typer.Argument(help="The command to run, after `--` (python train.py ..., pytest ...).", show_default=False,
                       metavar="-- COMMAND..."),
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option("--scenario", metavar="FILE:FUNCTION", help="Run this zero-argument function instead of a command.",
                     show_default=False),
    ] = None,
    root: Annotated[
        Path | None,
        typer.Option("--root", metavar="DIR", help="The project root: hazards are reported at lines of files under it "
                     "(default: the configuration file's directory, or the working directory).", show_default=False,
                     file_okay=False),
    ] = None,
    stop_at_first: Annotated[
        bool, typer.Option("--stop-at-first", help="Raise at the first hazardous line instead of running on.")
    ] = False,
    checksum_saved: Annotated[
        bool, typer.Option("--checksum-saved", help="Checksum every tensor saved for backward and compare it when "
                           "backward uses it: reports writes no torch op made (NumPy views, torch.from_numpy "
                           "buffers; GS603). Costs time and CPU tensors only.")
    ] = False,
    fix: Annotated[
        bool, typer.Option("--fix", help="Fix the lines the run names (verified like `gradsafe fix`), and write them.")
    ] = False,
    **options: Any,
) -> None:
    """Run a program with a detector inside and report every in-place overwrite of a saved tensor as it
    happens, naming the line that saved the tensor and the line that overwrote it.

    Finds what static analysis cannot see (writes in other modules, through callbacks, layers built
    from a config). The program runs unchanged: same output, same errors. With `--fix`, the lines it
    names are handed to the rewrite passes and verified before anything is written.
    """

    def body() -> int:
        from gradsafe.trace import run_traced

        if (not command) == (scenario is None):
            raise UsageError("give either a command after `--` or --scenario FILE:FUNCTION")
        run = start_run(
            Command.TRACE,
            paths=[str(root or Path.cwd())],
            show_fixes=fix,
            scenario=[scenario] if scenario else None,
            **options,
        )
        project = (root or run.settings.root).resolve()
        try:
            traced = run_traced(command or None, root=project, scenario=scenario, stop_at_first=stop_at_first,
                                checksum_saved=checksum_saved)
        except OSError as exc:
            raise UsageError(f"cannot run {command[0] if command else scenario}: {exc.strerror or exc}") from None
        for problem in traced.errors:
            typer.echo(f"gradsafe: the detector failed in one process: {problem.strip().splitlines()[-1]}", err=True)
        if not traced.traced:
            typer.echo("gradsafe: warning: no process imported torch under the detector; nothing was traced", err=True)
        if fix:
            return _fix_traced(run, traced, project)
        by_file: dict[str, FileResult] = {}
        for found in traced.findings:
            display = display_path(project / found.path)
            finding = found.finding
            if found.count > 1:
                finding = dataclasses.replace(finding, message=f"{finding.message} (seen {found.count} times)")
            by_file.setdefault(display, FileResult(display)).findings.append(finding)
        status = run.report(sort_results(list(by_file.values())), sys.stdout)
        return EXIT_FINDINGS if traced.findings else (status if status == EXIT_ERROR else traced.returncode)

    raise typer.Exit(guarded(body))


def _fix_traced(run: Run, traced: TraceResult, project: Path) -> int:
    """`trace --fix`: the analysis plans fixes for exactly the lines the run saw break autograd."""
    sites: dict[str, set[tuple[int, str]]] = {}
    for found in traced.findings:
        path = os.path.abspath(project / found.path)
        sites.setdefault(path, set()).add((found.finding.span.line, found.finding.code))
        for caller in getattr(found.event, "callers", ())[:1]:
            # A write inside a helper: its call site is where the caller's tensor gets written.
            caller_path = os.path.abspath(caller.path)
            sites.setdefault(caller_path, set()).add((caller.line, HELPER_MUTATES_ARGUMENT.code))
    if not sites:
        typer.echo("gradsafe: nothing to fix: no hazard happened in the traced run", err=True)
        return EXIT_CLEAN
    run.settings = dataclasses.replace(
        run.settings, confirmed=tuple((path, tuple(sorted(lines))) for path, lines in sorted(sites.items()))
    )
    run.command = Command.FIX
    run.paths = [Path(path) for path in sorted(sites) if Path(path).is_file()]
    results = run.path_results()
    run.verify_rewrites(results)
    for result in results:
        write_result(result)
    status = run.report(results, sys.stdout)
    unfixed = unfixed_hazards(traced, project, results)
    if not run.options.quiet or unfixed:
        report_unfixed(unfixed, len(traced.findings), sys.stdout)
    if status == EXIT_ERROR:
        return status
    return EXIT_FINDINGS if unfixed or status == EXIT_FINDINGS else EXIT_CLEAN
