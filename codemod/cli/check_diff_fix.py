"""The commands that process source files: ``check`` (report), ``diff`` (print the fixes), ``fix`` (write them).

They take the same options (``SOURCE_OPTIONS``); ``diff`` and ``fix`` also verify their
rewrites.  ``-`` as the path reads standard input: ``diff`` prints the patch of it and ``fix``
the fixed code to standard output, with the report on standard error.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from gradsafe.cli.app import app, binary_stdout, guarded
from gradsafe.cli.command_run import start_run, write_results
from gradsafe.cli.options import EXIT_ZERO, MESSAGES, PERFORMANCE, SOURCE_OPTIONS, VERIFICATION, takes
from gradsafe.report import Command

EXIT_CODES = (
    "**Exit status**: 0 clean, 1 {one}, 2 a file could not be processed or the command line or configuration is wrong."
)


@app.command(
    epilog="**Examples**\n\n"
    "* `gradsafe check src/`: report hazards under src/\n"
    "* `gradsafe check --select GS1 --format json model.py`: only GS1xx, as JSON\n"
    "* `gradsafe check --format sarif -o gradsafe.sarif .`: for code scanning, with the fixes\n"
    "* `gradsafe check --shard 2/4 --format json -o shard2.json .`: one job of a CI matrix\n"
    "* `cat model.py | gradsafe check - --stdin-filename model.py`: check an editor buffer\n\n"
    + EXIT_CODES.format(one="findings"),
)
@takes(SOURCE_OPTIONS, EXIT_ZERO, MESSAGES, PERFORMANCE)
def check(**options: Any) -> None:
    """Report in-place mutations that break autograd. Writes nothing."""

    def body() -> int:
        run = start_run(Command.CHECK, **options)
        return run.report(run.input_results(), sys.stdout)

    raise typer.Exit(guarded(body))


@app.command(
    epilog="**Examples**\n\n"
    "* `gradsafe diff src/ > fixes.patch`: review the fixes, then `git apply fixes.patch`\n"
    "* `gradsafe diff --format json -o report.json src/ > fixes.patch`: the patch and a JSON report\n"
    "* `gradsafe diff - --stdin-filename model.py < model.py`: diff an editor buffer\n\n"
    + EXIT_CODES.format(one="there are changes or hazards remain (`--exit-zero`: 0)"),
)
@takes(SOURCE_OPTIONS, EXIT_ZERO, MESSAGES, VERIFICATION, PERFORMANCE)
def diff(**options: Any) -> None:
    """Print the fixes as a unified diff (paths relative to the current directory). Writes nothing.

    The patch goes to standard output and applies with `git apply` or `patch -p1`; the report
    (summary and errors) goes to standard error, or to `--output FILE`.
    """

    def body() -> int:
        from gradsafe.report.unified_diff import diff_edit

        run = start_run(Command.DIFF, **options)
        results = run.input_results()
        run.verify_rewrites(results)
        out = binary_stdout()
        for result in results:
            if result.edit is not None:
                out.write(diff_edit(result.edit))
        out.flush()
        return run.report(results, sys.stderr)

    raise typer.Exit(guarded(body))


@app.command(
    epilog="**Examples**\n\n"
    "* `gradsafe fix src/`: rewrite the files in place\n"
    "* `gradsafe fix --show-fixes src/`: and list what was fixed\n"
    "* `gradsafe fix - --stdin-filename model.py < model.py`: fixed code on standard output\n\n"
    + EXIT_CODES.format(one="findings remain (`--exit-zero`: 0)"),
)
@takes(SOURCE_OPTIONS, EXIT_ZERO, MESSAGES, VERIFICATION, PERFORMANCE)
def fix(**options: Any) -> None:
    """Apply the fixes to the files, atomically, keeping encoding, BOM, line endings and permissions.

    A file that changed on disk since it was read is not written. Running `fix` twice changes
    nothing the second time. With `-`, the fixed code goes to standard output and the report to
    standard error.
    """

    def body() -> int:
        run = start_run(Command.FIX, **options)
        if run.stdin:
            raw = sys.stdin.buffer.read()
            result = run.stdin_result(raw)
            run.verify_rewrites([result])
            out = binary_stdout()
            out.write(result.edit.source.encode(result.edit.new_text) if result.edit else raw)
            out.flush()
            return run.report([result], sys.stderr)
        try:
            results = run.path_results()
            run.verify_rewrites(results)
        except KeyboardInterrupt:
            typer.echo("gradsafe: interrupted before any file was written", err=True)
            raise
        write_results(results)
        return run.report(results, sys.stdout)

    raise typer.Exit(guarded(body))
