"""The ``gradsafe`` command line: check, diff, fix, merge-reports, rules, explain.

Conventions are ruff's and black's: exit 0 when clean, 1 when there are findings (``check``),
changes (``diff``) or findings left (``fix``), 2 when a file could not be processed or the command
line or configuration is wrong.  A user mistake is one ``gradsafe: error: ...`` line, never a
traceback.  ``-`` as the path reads standard input and writes the result to standard output.

Standard error carries only messages (and, on a terminal, a progress bar for slow runs), so CI
logs hold nothing else.  Only what a command needs is imported: ``check`` never loads torch, nor
LibCST unless its report format shows fixes (SARIF).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO, Callable, Iterator, Optional, Sequence, TextIO

import typer

from gradsafe import __version__
from gradsafe.settings.config import ConfigError, Overrides, Settings, load_settings
from gradsafe.files.discovery import Filters, discover, force_excluded
from gradsafe.errors import FileError
from gradsafe.run.parallel import available_cpus
from gradsafe.files.paths import STDIN, display_path
from gradsafe.settings.patterns import PathPatterns
from gradsafe.run.pipeline import FileResult, process_paths, process_source
from gradsafe.run.progress import ProgressReporter
from gradsafe.files.loading import decode
from gradsafe.report import (
    FORMATTERS,
    Command,
    RenderOptions,
    Report,
    get_formatter,
    output_format,
    sort_results,
    write_json,
)
from gradsafe.rules import IO_ERROR, Policy, all_rules, get_rule
from gradsafe.run.sharding import Shard, ShardError

if TYPE_CHECKING:
    from gradsafe.run.cache import ResultCache

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="gradsafe",
    help="Find in-place tensor mutations that break PyTorch autograd, and rewrite them safely.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class UsageError(Exception):
    """A mistake on the command line or in the configuration (exit status 2)."""


# Options shared by check, diff and fix.  Lists accept repeated options and commas: --select GS1,GS2.
PathsArg = Annotated[
    list[str],
    typer.Argument(
        help="Files or directories to process; `-` reads standard input.", show_default=False, metavar="PATH"
    ),
]
SelectOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--select",
        metavar="CODES",
        help="Rule codes or prefixes to enable, replacing the configured selection (`GS1`, `GS101`, `ALL`).",
        rich_help_panel="Rule selection",
        show_default=False,
    ),
]
ExtendSelectOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--extend-select",
        metavar="CODES",
        help="Rule codes or prefixes to enable in addition to the selection.",
        rich_help_panel="Rule selection",
        show_default=False,
    ),
]
IgnoreOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--ignore",
        metavar="CODES",
        help="Rule codes or prefixes to disable.",
        rich_help_panel="Rule selection",
        show_default=False,
    ),
]
PolicyOpt = Annotated[
    Optional[Policy],
    typer.Option(
        "--policy",
        help="`default` reports hazards; `strict` also reports every other in-place op in differentiable code.",
        rich_help_panel="Rule selection",
        show_default=False,
    ),
]
ExcludeOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--exclude",
        metavar="PATTERNS",
        help="Patterns (.gitignore syntax) to exclude, replacing the configured and default ones.",
        rich_help_panel="File selection",
        show_default=False,
    ),
]
ExtendExcludeOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--extend-exclude",
        metavar="PATTERNS",
        help="Patterns to exclude in addition to the configured ones.",
        rich_help_panel="File selection",
        show_default=False,
    ),
]
ForceExcludeOpt = Annotated[
    bool,
    typer.Option(
        "--force-exclude",
        help="Apply exclusions to paths named on the command line too (for editors and pre-commit).",
        rich_help_panel="File selection",
    ),
]
StdinFilenameOpt = Annotated[
    Optional[str],
    typer.Option(
        "--stdin-filename",
        metavar="NAME",
        help="The file name to use for standard input in messages and configuration matching.",
        rich_help_panel="File selection",
        show_default=False,
    ),
]
ShardOpt = Annotated[
    Optional[str],
    typer.Option(
        "--shard",
        metavar="K/N",
        help="Process only shard K of N: the files split deterministically by path, for a CI matrix. "
        "Combine the shards' json or sarif reports with `gradsafe merge-reports`.",
        rich_help_panel="File selection",
        show_default=False,
    ),
]
ConfigOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--config",
        metavar="FILE",
        help="Use this pyproject.toml instead of searching for one.",
        rich_help_panel="Configuration",
        show_default=False,
        dir_okay=False,
    ),
]
IsolatedOpt = Annotated[
    bool, typer.Option("--isolated", help="Ignore all configuration files.", rich_help_panel="Configuration")
]
FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        metavar="FORMAT",
        help="Report format: " + "; ".join(f"`{name}`: {spec.description}" for name, spec in FORMATTERS.items()) + ".",
        rich_help_panel="Output",
    ),
]
OutputOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="Write the report to this file instead of the terminal.",
        rich_help_panel="Output",
        dir_okay=False,
        show_default=False,
    ),
]
StatisticsOpt = Annotated[
    bool,
    typer.Option(
        "--statistics",
        help="Show the number of findings per rule instead of each finding (text format).",
        rich_help_panel="Output",
    ),
]
ShowFixesOpt = Annotated[
    bool,
    typer.Option(
        "--show-fixes",
        help="Under each finding, show the fix it gets or why it gets none; list the findings fixed (text format).",
        rich_help_panel="Output",
    ),
]
ExitZeroOpt = Annotated[
    bool,
    typer.Option(
        "--exit-zero", help="Exit 0 even when there are findings (errors still exit 2).", rich_help_panel="Output"
    ),
]
QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="Print findings and errors only: no summary, no progress bar.", rich_help_panel="Output"
    ),
]
VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Also print the configuration used, declined fixes and tracebacks of internal errors.",
        rich_help_panel="Output",
    ),
]

NoVerifyOpt = Annotated[
    bool,
    typer.Option(
        "--no-verify",
        help="Emit every fix without running any code (fast, static; what the pre-commit hook does).",
        rich_help_panel="Verification",
    ),
]
UnverifiedOpt = Annotated[
    bool,
    typer.Option(
        "--unverified",
        help="Also emit fixes that could not be verified for lack of inputs (marked in the report).",
        rich_help_panel="Verification",
    ),
]
ScenarioOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--scenario",
        metavar="FILE:FUNCTION",
        help="A zero-argument function (`path/to/file.py:run` or `pkg.mod:run`) that runs forward and backward; "
        "it is run against the original and the rewrite, and the arguments it passes to each rewritten "
        "function are recorded as inputs. Adds to `[tool.gradsafe.verify] scenarios`.",
        rich_help_panel="Verification",
        show_default=False,
    ),
]
ExampleOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--example",
        metavar="FILE",
        help="A file of `example__<function>()` input builders (docs/verification.md).",
        rich_help_panel="Verification",
        show_default=False,
    ),
]
TimeoutOpt = Annotated[
    Optional[float],
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        help="Time limit per verified function or scenario.",
        rich_help_panel="Verification",
        show_default=False,
    ),
]
WorkersOpt = Annotated[
    Optional[int],
    typer.Option(
        "--workers",
        metavar="N",
        help="Verification worker processes.",
        rich_help_panel="Verification",
        show_default=False,
    ),
]

JobsOpt = Annotated[
    Optional[int],
    typer.Option(
        "--jobs",
        "-j",
        metavar="N",
        min=1,
        help="Analyse files in N processes (default: the number of CPUs). Output is the same for any N.",
        rich_help_panel="Performance",
        show_default=False,
    ),
]
NoCacheOpt = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help="Neither read nor write the result cache (`.gradsafe_cache/` in the project root).",
        rich_help_panel="Performance",
    ),
]

EXIT_CODES = (
    "**Exit status**: 0 clean, 1 {one}, 2 a file could not be processed or the command line or configuration is wrong."
)


def _split(values: Sequence[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"gradsafe: error: {message}", err=True)
    return typer.Exit(EXIT_ERROR)


def _use_color(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


@contextlib.contextmanager
def _report_stream(output: Path | None, default: TextIO) -> Iterator[TextIO]:
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


def _check_output_options(name: str, *, statistics: bool, show_fixes: bool) -> None:
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
    """2 when a file could not be processed; else 1 for findings (``check``, ``fix``) or changes (``diff``)."""
    if report.errors():
        return EXIT_ERROR
    flagged = report.files_changed if report.command is Command.DIFF else report.finding_count
    return EXIT_FINDINGS if flagged and not exit_zero else EXIT_CLEAN


@dataclass(frozen=True)
class Invocation:
    """The options of one check / diff / fix command line, exactly as given (one field per option)."""

    paths: list[str]
    select: list[str] | None
    extend_select: list[str] | None
    ignore: list[str] | None
    policy: Policy | None
    exclude: list[str] | None
    extend_exclude: list[str] | None
    force_exclude: bool
    stdin_filename: str | None
    shard: str | None
    config: Path | None
    isolated: bool
    output_format: str
    output: Path | None
    statistics: bool
    show_fixes: bool
    quiet: bool
    verbose: bool
    exit_zero: bool = False
    no_verify: bool = True  # check never verifies
    unverified: bool = False
    scenario: list[str] | None = None
    example: list[str] | None = None
    timeout: float | None = None
    workers: int | None = None
    jobs: int | None = None
    no_cache: bool = False


class Run:
    """One invocation of check / diff / fix: settings, the files, and their results."""

    def __init__(self, command: Command, options: Invocation) -> None:
        self.command = command
        self.options = options
        paths = options.paths
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
        _check_output_options(options.output_format, statistics=options.statistics, show_fixes=options.show_fixes)
        self.stdin_filename = options.stdin_filename
        self.paths = [Path(p) for p in paths if p != STDIN]
        overrides = Overrides(
            select=_split(options.select),
            extend_select=_split(options.extend_select) or (),
            ignore=_split(options.ignore) or (),
            exclude=_split(options.exclude),
            extend_exclude=_split(options.extend_exclude) or (),
            policy=options.policy.value if options.policy else None,
            force_exclude=options.force_exclude,
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

    def collect(self) -> list[FileResult]:
        """The results of the paths, or of standard input."""
        if self.stdin:
            return [self.stdin_result(sys.stdin.buffer.read())]
        return self.results()

    def results(self) -> list[FileResult]:
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

    def verify(self, results: list[FileResult]) -> None:
        """Prove the rewrites before they are emitted (``diff``/``fix``, unless ``--no-verify``)."""
        given = self.options
        if not self.fixing or given.no_verify or not any(r.edit is not None for r in results):
            return
        from gradsafe.verify.stage import VerifyOptions, VerifyUnavailable, verify_results

        options = VerifyOptions(
            scenarios=tuple(_split(given.scenario) or ()),
            examples=tuple(_split(given.example) or ()),
            timeout=given.timeout,
            workers=given.workers,
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
                verify_results(results, self.settings, options, announce=announce, start_progress=start_progress)
            except VerifyUnavailable as exc:
                raise UsageError(str(exc)) from None

    def stdin_result(self, raw: bytes) -> FileResult:
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
        report = Report(self.command, results)
        given = self.options
        with _report_stream(given.output, default_stream) as stream:
            options = RenderOptions(
                color=_use_color(stream),
                quiet=given.quiet,
                verbose=given.verbose,
                statistics=given.statistics,
                show_fixes=given.show_fixes,
            )
            get_formatter(given.output_format)(report, stream, options)
        return exit_status(report, exit_zero=given.exit_zero)


def _guarded(body: Callable[[], int]) -> int:
    """Run a command body, turning user mistakes and Ctrl-C into messages and exit codes."""
    try:
        return body()
    except (UsageError, ConfigError) as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        typer.echo("gradsafe: interrupted", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _binary_stdout() -> BinaryIO:
    sys.stdout.flush()
    return sys.stdout.buffer


# Each command starts with `Invocation(**locals())`: at that point its locals are exactly its
# parameters, which are exactly Invocation's fields, so no option can be forgotten on the way.


@app.command(
    epilog="**Examples**\n\n"
    "* `gradsafe check src/`: report hazards under src/\n"
    "* `gradsafe check --select GS1 --format json model.py`: only GS1xx, as JSON\n"
    "* `gradsafe check --format sarif -o gradsafe.sarif .`: for code scanning, with the fixes\n"
    "* `gradsafe check --shard 2/4 --format json -o shard2.json .`: one job of a CI matrix\n"
    "* `cat model.py | gradsafe check - --stdin-filename model.py`: check an editor buffer\n\n"
    + EXIT_CODES.format(one="findings"),
)
def check(
    paths: PathsArg,
    select: SelectOpt = None,
    extend_select: ExtendSelectOpt = None,
    ignore: IgnoreOpt = None,
    policy: PolicyOpt = None,
    exclude: ExcludeOpt = None,
    extend_exclude: ExtendExcludeOpt = None,
    force_exclude: ForceExcludeOpt = False,
    stdin_filename: StdinFilenameOpt = None,
    shard: ShardOpt = None,
    config: ConfigOpt = None,
    isolated: IsolatedOpt = False,
    output_format: FormatOpt = "text",
    output: OutputOpt = None,
    statistics: StatisticsOpt = False,
    show_fixes: ShowFixesOpt = False,
    exit_zero: ExitZeroOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    jobs: JobsOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Report in-place mutations that break autograd. Writes nothing."""
    options = Invocation(**locals())

    def body() -> int:
        run = Run(Command.CHECK, options)
        return run.report(run.collect(), sys.stdout)

    raise typer.Exit(_guarded(body))


@app.command(
    epilog="**Examples**\n\n"
    "* `gradsafe diff src/ > fixes.patch`: review the fixes, then `git apply fixes.patch`\n"
    "* `gradsafe diff --format json -o report.json src/ > fixes.patch`: the patch and a JSON report\n"
    "* `gradsafe diff - --stdin-filename model.py < model.py`: diff an editor buffer\n\n"
    + EXIT_CODES.format(one="there are changes"),
)
def diff(
    paths: PathsArg,
    select: SelectOpt = None,
    extend_select: ExtendSelectOpt = None,
    ignore: IgnoreOpt = None,
    policy: PolicyOpt = None,
    exclude: ExcludeOpt = None,
    extend_exclude: ExtendExcludeOpt = None,
    force_exclude: ForceExcludeOpt = False,
    stdin_filename: StdinFilenameOpt = None,
    shard: ShardOpt = None,
    config: ConfigOpt = None,
    isolated: IsolatedOpt = False,
    output_format: FormatOpt = "text",
    output: OutputOpt = None,
    statistics: StatisticsOpt = False,
    show_fixes: ShowFixesOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    no_verify: NoVerifyOpt = False,
    unverified: UnverifiedOpt = False,
    scenario: ScenarioOpt = None,
    example: ExampleOpt = None,
    timeout: TimeoutOpt = None,
    workers: WorkersOpt = None,
    jobs: JobsOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Print the fixes as a unified diff (paths relative to the current directory). Writes nothing.

    The patch goes to standard output and applies with `git apply` or `patch -p1`; the report
    (summary and errors) goes to standard error, or to `--output FILE`.
    """
    options = Invocation(**locals())

    def body() -> int:
        from gradsafe.report.unified_diff import diff_edit

        run = Run(Command.DIFF, options)
        results = run.collect()
        run.verify(results)
        out = _binary_stdout()
        for result in results:
            if result.edit is not None:
                out.write(diff_edit(result.edit))
        out.flush()
        return run.report(results, sys.stderr)

    raise typer.Exit(_guarded(body))


@app.command(
    epilog="**Examples**\n\n"
    "* `gradsafe fix src/`: rewrite the files in place\n"
    "* `gradsafe fix --show-fixes src/`: and list what was fixed\n"
    "* `gradsafe fix - --stdin-filename model.py < model.py`: fixed code on standard output\n\n"
    + EXIT_CODES.format(one="findings remain that have no fix"),
)
def fix(
    paths: PathsArg,
    select: SelectOpt = None,
    extend_select: ExtendSelectOpt = None,
    ignore: IgnoreOpt = None,
    policy: PolicyOpt = None,
    exclude: ExcludeOpt = None,
    extend_exclude: ExtendExcludeOpt = None,
    force_exclude: ForceExcludeOpt = False,
    stdin_filename: StdinFilenameOpt = None,
    shard: ShardOpt = None,
    config: ConfigOpt = None,
    isolated: IsolatedOpt = False,
    output_format: FormatOpt = "text",
    output: OutputOpt = None,
    statistics: StatisticsOpt = False,
    show_fixes: ShowFixesOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    no_verify: NoVerifyOpt = False,
    unverified: UnverifiedOpt = False,
    scenario: ScenarioOpt = None,
    example: ExampleOpt = None,
    timeout: TimeoutOpt = None,
    workers: WorkersOpt = None,
    jobs: JobsOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Apply the fixes to the files, atomically, keeping encoding, BOM, line endings and permissions.

    A file that changed on disk since it was read is not written. Running `fix` twice changes
    nothing the second time. With `-`, the fixed code goes to standard output and the report to
    standard error.
    """
    options = Invocation(**locals())

    def body() -> int:
        run = Run(Command.FIX, options)
        if run.stdin:
            raw = sys.stdin.buffer.read()
            result = run.stdin_result(raw)
            run.verify([result])
            out = _binary_stdout()
            out.write(result.edit.source.encode(result.edit.new_text) if result.edit else raw)
            out.flush()
            return run.report([result], sys.stderr)
        results = run.results()
        run.verify(results)
        for result in results:
            _write(result)
        return run.report(results, sys.stdout)

    raise typer.Exit(_guarded(body))


def _write(result: FileResult) -> None:
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


@app.command(
    epilog="**Examples**\n\n"
    "* `gradsafe verify src/`: prove the fixes `gradsafe fix src/` would write, without writing them\n"
    "* `gradsafe verify --scenario tests/smoke.py:run src/`: with the inputs of a real training step\n\n"
    "**Exit status**: 0 every rewritten function was verified or repaired, 1 some were rejected or "
    "unverified, 2 a file could not be processed or the command line or configuration is wrong.",
)
def verify(
    paths: PathsArg,
    select: SelectOpt = None,
    extend_select: ExtendSelectOpt = None,
    ignore: IgnoreOpt = None,
    policy: PolicyOpt = None,
    exclude: ExcludeOpt = None,
    extend_exclude: ExtendExcludeOpt = None,
    force_exclude: ForceExcludeOpt = False,
    config: ConfigOpt = None,
    isolated: IsolatedOpt = False,
    scenario: ScenarioOpt = None,
    example: ExampleOpt = None,
    timeout: TimeoutOpt = None,
    workers: WorkersOpt = None,
    quiet: QuietOpt = False,
    jobs: JobsOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Compute the fixes, run the original and the rewritten code, and print a verdict per function.

    Writes nothing. A function is `verified` (same outputs and gradients), `repaired` (the original
    fails in backward or is silently wrong, and the rewrite matches finite differences of the
    original), `rejected` (something differs) or `unverified` (no inputs: the line says how to
    provide them). `gradsafe diff` and `fix` emit only verified and repaired rewrites.
    """
    options = Invocation(
        paths=paths, select=select, extend_select=extend_select, ignore=ignore, policy=policy,
        exclude=exclude, extend_exclude=extend_exclude, force_exclude=force_exclude, stdin_filename=None,
        shard=None, config=config, isolated=isolated, output_format="text", output=None, statistics=False,
        show_fixes=False, quiet=quiet, verbose=False, no_verify=False, unverified=False, scenario=scenario,
        example=example, timeout=timeout, workers=workers, jobs=jobs, no_cache=no_cache,
    )

    def body() -> int:
        run = Run(Command.DIFF, options)
        if run.stdin:
            raise UsageError("verify runs code from files; '-' (standard input) is not supported")
        results = run.results()
        run.verify(results)
        status = EXIT_CLEAN
        for result in results:
            for error in result.errors:
                typer.echo(f"{error.path}:{error.line or 1}:{(error.col or 0) + 1}: {error.code} {error.message}")
                status = EXIT_ERROR
            for scope, verdict in sorted(result.verdicts.items()):
                detail = result.verdict_details.get(scope, "")
                typer.echo(f"{result.display}: {scope or '<module>'}: {verdict}" + (f": {detail}" if detail else ""))
                if verdict not in ("verified", "repaired") and status == EXIT_CLEAN:
                    status = EXIT_FINDINGS
        if not quiet:
            counts: dict[str, int] = {}
            for result in results:
                for verdict in result.verdicts.values():
                    counts[verdict] = counts.get(verdict, 0) + 1
            summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "nothing to verify"
            typer.echo(f"Verdicts: {summary}.", err=True)
        return status

    raise typer.Exit(_guarded(body))


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
def trace(
    command: Annotated[
        Optional[list[str]],
        typer.Argument(help="The command to run, after `--` (python train.py ..., pytest ...).", show_default=False,
                       metavar="-- COMMAND..."),
    ] = None,
    scenario: Annotated[
        Optional[str],
        typer.Option("--scenario", metavar="FILE:FUNCTION", help="Run this zero-argument function instead of a command.",
                     show_default=False),
    ] = None,
    root: Annotated[
        Optional[Path],
        typer.Option("--root", metavar="DIR", help="The project root: hazards are reported at lines of files under it "
                     "(default: the configuration file's directory, or the working directory).", show_default=False,
                     file_okay=False),
    ] = None,
    stop_at_first: Annotated[
        bool, typer.Option("--stop-at-first", help="Raise at the first hazardous line instead of running on.")
    ] = False,
    fix: Annotated[
        bool, typer.Option("--fix", help="Fix the lines the run names (verified like `gradsafe fix`), and write them.")
    ] = False,
    no_verify: NoVerifyOpt = False,
    unverified: UnverifiedOpt = False,
    timeout: TimeoutOpt = None,
    workers: WorkersOpt = None,
    config: ConfigOpt = None,
    isolated: IsolatedOpt = False,
    output_format: FormatOpt = "text",
    output: OutputOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
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
        invocation = Invocation(
            paths=[str(root or Path.cwd())], select=None, extend_select=None, ignore=None, policy=None,
            exclude=None, extend_exclude=None, force_exclude=False, stdin_filename=None, shard=None,
            config=config, isolated=isolated, output_format=output_format, output=output, statistics=False,
            show_fixes=fix, quiet=quiet, verbose=verbose, no_verify=no_verify, unverified=unverified,
            scenario=[scenario] if scenario else None, example=None, timeout=timeout, workers=workers,
        )
        run = Run(Command.TRACE, invocation)
        project = (root or run.settings.root).resolve()
        try:
            traced = run_traced(command or None, root=project, scenario=scenario, stop_at_first=stop_at_first)
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

    raise typer.Exit(_guarded(body))


def _fix_traced(run: "Run", traced, project: Path) -> int:
    """`trace --fix`: the analysis plans fixes for exactly the lines the run saw break autograd."""
    sites: dict[str, set[tuple[int, str]]] = {}
    for found in traced.findings:
        path = os.path.abspath(project / found.path)
        sites.setdefault(path, set()).add((found.finding.span.line, found.finding.code))
        for caller in getattr(found.event, "callers", ())[:1]:
            # A write inside a helper: its call site is where the caller's tensor gets written.
            caller_path = os.path.abspath(caller.path)
            sites.setdefault(caller_path, set()).add((caller.line, "GS502"))
    if not sites:
        typer.echo("gradsafe: nothing to fix: no hazard happened in the traced run", err=True)
        return EXIT_CLEAN
    run.settings = dataclasses.replace(
        run.settings, confirmed=tuple((path, tuple(sorted(lines))) for path, lines in sorted(sites.items()))
    )
    run.command = Command.FIX
    run.paths = [Path(path) for path in sorted(sites) if Path(path).is_file()]
    results = run.results()
    run.verify(results)
    for result in results:
        _write(result)
    return run.report(results, sys.stdout)


@app.command(
    "merge-reports",
    epilog="**Examples**\n\n"
    "* `gradsafe merge-reports shard-*.json`: one JSON report for the whole repository\n"
    "* `gradsafe merge-reports --format text shard-*.json`: printed as one text report\n"
    "* `gradsafe merge-reports -o gradsafe.sarif shard-*.sarif`: one SARIF log to upload\n\n"
    "**Exit status**: as the merged command's would be: 0 clean, 1 findings (changes for `diff` "
    "reports), 2 a report lists files that could not be processed, or the reports cannot be merged.",
)
def merge_reports(
    reports: Annotated[
        list[Path],
        typer.Argument(help="JSON reports or SARIF logs of `--shard` runs.", show_default=False, metavar="REPORT"),
    ],
    output_format: Annotated[
        Optional[str],
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="`json`, `text` or `github` for JSON reports; `sarif` for SARIF logs. Default: the reports' format.",
            rich_help_panel="Output",
            show_default=False,
        ),
    ] = None,
    output: OutputOpt = None,
    statistics: StatisticsOpt = False,
    exit_zero: ExitZeroOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Merge the reports of `--shard K/N` runs into the report one run over all the files would print."""

    def body() -> int:
        from gradsafe.report.merge import SARIF, MergeError, input_kind, load, merge_json, merge_sarif

        try:
            loaded = [load(path) for path in reports]
            kind = input_kind(loaded)
            name = output_format or kind
            _check_output_options(name, statistics=statistics, show_fixes=False)
            if (kind == SARIF) != (name == "sarif"):
                raise UsageError(
                    "SARIF logs merge into SARIF only, and JSON reports into json, text or github "
                    "(JSON reports do not carry the rewrites that SARIF fixes hold)"
                )
            if kind == SARIF:
                merged = merge_sarif(loaded)
                with _report_stream(output, sys.stdout) as stream:
                    write_json(merged, stream)
                run = merged["runs"][0]
                if run["invocations"][0]["toolExecutionNotifications"]:
                    return EXIT_ERROR
                return EXIT_FINDINGS if run["results"] and not exit_zero else EXIT_CLEAN
            report = merge_json(loaded)
        except MergeError as exc:
            raise UsageError(str(exc)) from None
        with _report_stream(output, sys.stdout) as stream:
            options = RenderOptions(color=_use_color(stream), quiet=quiet, statistics=statistics)
            get_formatter(name)(report, stream, options)
        return exit_status(report, exit_zero=exit_zero)

    raise typer.Exit(_guarded(body))


@app.command()
def rules() -> None:
    """List every rule: code, name, fix kind, and whether it is on by default (docs/rules.md has them all)."""
    from gradsafe.rules.docs import default_label

    catalogue = all_rules()
    rows = [("CODE", "NAME", "FIX", "DEFAULT")]
    rows += [(rule.code, rule.name, rule.fix_label, default_label(rule)) for rule in catalogue]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[3])


@app.command(epilog="**Example**\n\n* `gradsafe explain GS101`")
def explain(
    code: Annotated[str, typer.Argument(help="A rule code, e.g. GS101.", show_default=False, metavar="CODE")],
) -> None:
    """Show a rule's documentation: what it reports, why, an example and its fix."""
    rule = get_rule(code)
    if rule is None:
        raise _fail(f"unknown rule code {code!r} (see `gradsafe rules`)")
    typer.echo(rule.explain(), nl=False)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gradsafe {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", help="Show the version and exit.", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """Find in-place tensor mutations that break PyTorch autograd, and rewrite them safely."""


def main() -> None:
    """Console-script entry point."""
    app(prog_name="gradsafe")
