"""One command's run: its configuration (``Invocation``), settings, files, results, verification and report.

Every command that processes files builds its run with ``start_run(command, **options)``: the
options it takes, by the names of ``Invocation``'s fields; those it does not take keep the
defaults here.  ``Run`` checks that the options go together (``UsageError`` otherwise), loads the
configuration, and then gives the commands what they share: the results of the paths or of
standard input, the verification of the rewrites, the report and its exit status.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence, TextIO

import typer

from gradsafe.cli.app import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, UsageError
from gradsafe.errors import FileError
from gradsafe.files.discovery import Filters, discover, force_excluded
from gradsafe.files.loading import decode
from gradsafe.files.paths import STDIN, display_path
from gradsafe.report import Command, RenderOptions, Report, get_formatter, output_format, sort_results
from gradsafe.results import FileResult
from gradsafe.rules import IO_ERROR, Policy
from gradsafe.run.parallel import available_cpus
from gradsafe.run.pipeline import process_paths, process_source
from gradsafe.run.progress import ProgressReporter
from gradsafe.run.sharding import Shard, ShardError
from gradsafe.settings.config import Overrides, Settings, load_settings
from gradsafe.settings.patterns import PathPatterns

if TYPE_CHECKING:
    from gradsafe.run.cache import ResultCache


def split_list(values: Sequence[str] | None) -> list[str] | None:
    """Repeated list options, each split at commas: ``["GS1,GS2", "GS3"]`` -> ``["GS1", "GS2", "GS3"]``."""
    if values is None:
        return None
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def use_color(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


@contextlib.contextmanager
def report_stream(output: Path | None, default: TextIO) -> Iterator[TextIO]:
    """Where a report goes: ``--output FILE`` (UTF-8, ``\\n`` line ends on every platform) or ``default``."""
    if output is None:
        yield default
        return
    try:
        handle = output.open("w", encoding="utf-8", newline="\n")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    with handle:
        yield handle


def check_output_options(name: str, *, statistics: bool, show_fixes: bool) -> None:
    """Raise ``UsageError`` unless ``--format name`` and the report options go together."""
    try:
        output_format(name)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    for flag, given in (("--statistics", statistics), ("--show-fixes", show_fixes)):
        if given and name != "text":
            raise UsageError(f"{flag} applies to the text format only")
    if statistics and show_fixes:
        raise UsageError("--statistics replaces the list of findings that --show-fixes annotates: use one of them")


def exit_status(report: Report, *, exit_zero: bool = False) -> int:
    """2 when a file could not be processed; else 1 for findings (that remain, for ``diff`` and ``fix``),
    or changes (``diff``); ``exit_zero`` turns that 1 into 0."""
    if report.errors():
        return EXIT_ERROR
    flagged = report.finding_count or (report.command is Command.DIFF and report.files_changed)
    return EXIT_FINDINGS if flagged and not exit_zero else EXIT_CLEAN


@dataclass(frozen=True)
class Invocation:
    """The options of one command line, one field per option (``gradsafe.cli.options`` names them).

    The defaults are what a command that does not take an option runs with.
    """

    paths: list[str] | None  # None: the current directory
    select: list[str] | None = None
    extend_select: list[str] | None = None
    ignore: list[str] | None = None
    policy: Policy | None = None
    exclude: list[str] | None = None
    extend_exclude: list[str] | None = None
    force_exclude: bool = False
    stdin_filename: str | None = None
    shard: str | None = None
    config: Path | None = None
    isolated: bool = False
    output_format: str = "text"
    output: Path | None = None
    statistics: bool = False
    show_fixes: bool = False
    quiet: bool = False
    verbose: bool = False
    exit_zero: bool = False
    no_verify: bool = True  # check never verifies
    unsafe_fixes: bool | None = None  # None: the configuration's `unsafe-fixes` (default false)
    unverified: bool = False
    scenario: list[str] | None = None
    example: list[str] | None = None
    timeout: float | None = None
    workers: int | None = None
    python: str | None = None
    no_tests: bool = False
    jobs: int | None = None
    no_cache: bool = False


def start_run(command: Command, **options: Any) -> Run:
    """The run of ``command`` with ``options`` (``Invocation`` fields); ``UsageError`` for a wrong command line."""
    return Run(command, Invocation(**options))


class Run:
    """One invocation of check / diff / fix (or verify, trace): settings, the files, and their results."""

    def __init__(self, command: Command, options: Invocation) -> None:
        self.command = command
        self.options = options
        paths = options.paths or ["."]  # as ruff: no PATH is the current directory
        self.stdin = STDIN in paths
        if self.stdin and len(paths) > 1:
            raise UsageError("'-' (standard input) cannot be combined with other paths")
        if options.stdin_filename is not None and not self.stdin:
            raise UsageError("--stdin-filename is only used when the path is '-'")
        try:
            self.shard = Shard.parse(options.shard) if options.shard is not None else None
        except ShardError as exc:
            raise UsageError(str(exc)) from None
        if self.shard is not None and self.stdin:
            raise UsageError("--shard splits files; it cannot be used with '-' (standard input)")
        check_output_options(options.output_format, statistics=options.statistics, show_fixes=options.show_fixes)
        self.stdin_filename = options.stdin_filename
        self.verdicts: list[tuple[str, str, str]] = []  # (path, function, verdict) after verification
        self.paths = [Path(p) for p in paths if p != STDIN]
        overrides = Overrides(
            select=split_list(options.select),
            extend_select=split_list(options.extend_select) or (),
            ignore=split_list(options.ignore) or (),
            exclude=split_list(options.exclude),
            extend_exclude=split_list(options.extend_exclude) or (),
            policy=options.policy.value if options.policy else None,
            force_exclude=options.force_exclude,
            unsafe_fixes=options.unsafe_fixes,
        )
        config_paths = [Path(self.stdin_filename)] if self.stdin_filename else self.paths
        self.settings: Settings = load_settings(
            config_paths, overrides, config_file=options.config, isolated=options.isolated
        )
        if options.verbose:
            where = display_path(self.settings.config_path) if self.settings.config_path else "none (defaults)"
            typer.echo(f"gradsafe: configuration: {where}", err=True)
        self.filters = Filters(
            PathPatterns(self.settings.exclude, self.settings.root),
            force_exclude=self.settings.force_exclude,
            respect_gitignore=self.settings.respect_gitignore,
        )

    @property
    def fixing(self) -> bool:
        return self.command is not Command.CHECK

    @property
    def previewing(self) -> bool:
        """``check`` computes (without applying) the fixes when its report format shows them."""
        return self.command is Command.CHECK and output_format(self.options.output_format).shows_fixes

    def input_results(self) -> list[FileResult]:
        """The results of the paths, or of standard input."""
        if self.stdin:
            return [self.stdin_result(sys.stdin.buffer.read())]
        return self.path_results()

    def path_results(self) -> list[FileResult]:
        """Every file's result (and every path that failed discovery), sorted by path."""
        found = discover(self.paths, self.filters)
        files, errors = found.files, found.errors
        if self.shard is not None:
            files = [item for item in files if self.shard.owns(item.display)]
            errors = [error for error in errors if self.shard.owns(error.path)]
            if self.options.verbose:
                typer.echo(f"gradsafe: shard {self.shard}: {len(files)} of {len(found.files)} files", err=True)
        stage = "fixing" if self.fixing else "checking"
        with ProgressReporter(sys.stderr, enabled=not self.options.quiet) as progress:
            processed = process_paths(
                files, self.settings, fix=self.fixing, preview=self.previewing, jobs=self.jobs, cache=self.cache()
            )
            results = list(progress.track(processed, stage, total=len(files)))
        results += [FileResult(error.path, errors=[error]) for error in errors]
        return sort_results(results)

    @property
    def jobs(self) -> int:
        return self.options.jobs or available_cpus()

    def cache(self) -> ResultCache | None:
        """The project's result cache, unless ``--no-cache``."""
        if self.options.no_cache:
            return None
        from gradsafe.run.cache import ResultCache

        return ResultCache.for_settings(self.settings)

    def verify_rewrites(self, results: list[FileResult]) -> None:
        """Prove the rewrites before they are emitted (``diff``/``fix``, unless ``--no-verify``)."""
        given = self.options
        if not self.fixing or given.no_verify or not any(r.edit is not None for r in results):
            return
        from gradsafe.verify import VerificationUnavailable
        from gradsafe.verify.stage import ScenarioError, VerifyOptions, verify_results

        options = VerifyOptions(
            scenarios=tuple(split_list(given.scenario) or ()),
            examples=tuple(split_list(given.example) or ()),
            timeout=given.timeout,
            workers=given.workers,
            python=given.python,
            tests=not given.no_tests,
            emit_unverified=given.unverified,
        )

        def announce(message: str) -> None:
            if not given.quiet:
                typer.echo(f"gradsafe: {message}", err=True)

        with ProgressReporter(sys.stderr, enabled=not given.quiet) as reporter:

            def start_progress(total: int) -> Callable[[str, str], None]:
                task = reporter.task("verifying", total)
                return lambda kind, name: task.advance() if kind == "target" else None

            try:
                self.verdicts = verify_results(
                    results, self.settings, options, announce=announce, start_progress=start_progress
                )
            except (VerificationUnavailable, ScenarioError) as exc:
                raise UsageError(str(exc)) from None

    def stdin_result(self, raw: bytes) -> FileResult:
        """The result of ``raw``, standard input's bytes, named by ``--stdin-filename`` if given."""
        name = self.stdin_filename or STDIN
        display = display_path(Path(name)) if self.stdin_filename else STDIN
        if self.stdin_filename and self.settings.force_exclude and force_excluded(Path(name), self.filters):
            return FileResult(display)
        source = decode(raw, Path(name), display)
        if isinstance(source, FileError):
            return FileResult(display, errors=[source])
        return process_source(source, self.settings, fix=self.fixing, preview=self.previewing)

    def report(self, results: list[FileResult], default_stream: TextIO) -> int:
        """Print the report (to ``--output`` or ``default_stream``) and return the exit status."""
        report = Report(self.command, results, unsafe_fixes=self.settings.unsafe_fixes)
        given = self.options
        with report_stream(given.output, default_stream) as stream:
            options = RenderOptions(
                color=use_color(stream),
                quiet=given.quiet,
                verbose=given.verbose,
                statistics=given.statistics,
                show_fixes=given.show_fixes,
            )
            get_formatter(given.output_format)(report, stream, options)
        if self.verdicts and not given.quiet and given.output_format == "text":
            from gradsafe.verify.stage import verdict_table

            typer.echo("\n".join(["gradsafe: verdict per rewritten function:", *verdict_table(self.verdicts)]), err=True)
        return exit_status(report, exit_zero=given.exit_zero)


def write_result(result: FileResult) -> None:
    """Write one file's fixes; on failure the file is untouched and the result says why."""
    from gradsafe.files.writing import WriteError, write_source

    if result.edit is None:
        return
    try:
        write_source(result.edit.source, result.edit.new_text)
    except WriteError as exc:
        result.errors.append(FileError(result.display, IO_ERROR, str(exc)))
        result.applied = []
        result.fixed = []
        result.edit = None


def write_results(results: Sequence[FileResult]) -> None:
    """Write every result's fixes, in order.  Ctrl-C stops between two files or inside one.

    Each file is replaced atomically (``write_source``), so an interrupted run leaves every file
    either as it was or wholly fixed; before the interrupt goes on, standard error names the
    files already written (they stay fixed: running ``fix`` again finishes the rest).
    """
    written: list[str] = []
    try:
        for result in results:
            write_result(result)
            if result.edit is not None:
                written.append(result.display)
    except KeyboardInterrupt:
        if written:
            shown = "".join(f"\n  {display}" for display in written)
            typer.echo(f"gradsafe: interrupted while writing; {len(written)} file(s) already written:{shown}", err=True)
        else:
            typer.echo("gradsafe: interrupted before any file was written", err=True)
        raise

