"""The ``gradsafe`` command line: check, diff, fix, rules, explain.

Conventions are ruff's and black's: exit 0 when clean, 1 when there are findings (``check``),
changes (``diff``) or findings left (``fix``), 2 when a file could not be processed or the command
line or configuration is wrong.  A user mistake is one ``gradsafe: error: ...`` line, never a
traceback.  ``-`` as the path reads standard input and writes the result to standard output.

Only what a command needs is imported: ``check`` never loads LibCST or torch.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, BinaryIO, Callable, Optional, Sequence, TextIO

import typer

from codemod import __version__
from codemod.config import ConfigError, Overrides, Settings, load_settings
from codemod.discovery import Filters, discover, force_excluded
from codemod.errors import FileError
from codemod.paths import STDIN, display_path
from codemod.patterns import PathPatterns
from codemod.pipeline import FileResult, process_paths, process_source
from codemod.reading import decode
from codemod.report import Command, RenderOptions, Report, get_formatter, sort_results
from codemod.rules import IO_ERROR, Policy, all_rules, get_rule

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
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print findings and errors only, no summary.", rich_help_panel="Output")
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

EXIT_CODES = (
    "Exit status: 0 clean, 1 {one}, 2 a file could not be processed or the command line or configuration is wrong."
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


class Run:
    """One invocation of check / diff / fix: settings, the files, and their results."""

    def __init__(
        self,
        command: Command,
        paths: list[str],
        *,
        select: list[str] | None,
        extend_select: list[str] | None,
        ignore: list[str] | None,
        policy: Policy | None,
        exclude: list[str] | None,
        extend_exclude: list[str] | None,
        force_exclude: bool,
        stdin_filename: str | None,
        config: Path | None,
        isolated: bool,
        verbose: bool,
    ) -> None:
        self.command = command
        self.verbose = verbose
        self.stdin = STDIN in paths
        if self.stdin and len(paths) > 1:
            raise UsageError("'-' (standard input) cannot be combined with other paths")
        if stdin_filename is not None and not self.stdin:
            raise UsageError("--stdin-filename is only used when the path is '-'")
        self.stdin_filename = stdin_filename
        self.paths = [Path(p) for p in paths if p != STDIN]
        overrides = Overrides(
            select=_split(select),
            extend_select=_split(extend_select) or (),
            ignore=_split(ignore) or (),
            exclude=_split(exclude),
            extend_exclude=_split(extend_exclude) or (),
            policy=policy.value if policy else None,
            force_exclude=force_exclude,
        )
        config_paths = [Path(stdin_filename)] if stdin_filename else self.paths
        self.settings: Settings = load_settings(config_paths, overrides, config_file=config, isolated=isolated)
        if verbose:
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

    def results(self) -> list[FileResult]:
        """Every file's result (and every path that failed discovery), sorted by path."""
        found = discover(self.paths, self.filters)
        results = list(process_paths(found.files, self.settings, fix=self.fixing))
        results += [FileResult(error.path, errors=[error]) for error in found.errors]
        return sort_results(results)

    def stdin_result(self, raw: bytes) -> FileResult:
        name = self.stdin_filename or STDIN
        display = display_path(Path(name)) if self.stdin_filename else STDIN
        if self.stdin_filename and self.settings.force_exclude and force_excluded(Path(name), self.filters):
            return FileResult(display)
        source = decode(raw, Path(name), display)
        if isinstance(source, FileError):
            return FileResult(display, errors=[source])
        return process_source(source, self.settings, fix=self.fixing)

    def report(self, results: list[FileResult], stream: TextIO, *, quiet: bool, output_format: str = "text") -> None:
        options = RenderOptions(color=_use_color(stream), quiet=quiet, verbose=self.verbose)
        get_formatter(output_format)(Report(self.command, results), stream, options)


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


@app.command(
    epilog="**Examples**\n\n"
    "* `gradsafe check src/`: report hazards under src/\n"
    "* `gradsafe check --select GS1 --format json model.py`: only GS1xx, as JSON\n"
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
    config: ConfigOpt = None,
    isolated: IsolatedOpt = False,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="text|json",
            help="Output format: `text` or `json` (schema: docs/json-output.md).",
            rich_help_panel="Output",
        ),
    ] = "text",
    output: Annotated[
        Optional[Path],
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the report to this file instead of standard output.",
            rich_help_panel="Output",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    exit_zero: Annotated[
        bool,
        typer.Option(
            "--exit-zero", help="Exit 0 even when there are findings (errors still exit 2).", rich_help_panel="Output"
        ),
    ] = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Report in-place mutations that break autograd. Writes nothing."""

    def body() -> int:
        try:
            get_formatter(output_format)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        run = Run(
            Command.CHECK,
            paths,
            select=select,
            extend_select=extend_select,
            ignore=ignore,
            policy=policy,
            exclude=exclude,
            extend_exclude=extend_exclude,
            force_exclude=force_exclude,
            stdin_filename=stdin_filename,
            config=config,
            isolated=isolated,
            verbose=verbose,
        )
        results = [run.stdin_result(sys.stdin.buffer.read())] if run.stdin else run.results()
        if output is None:
            run.report(results, sys.stdout, quiet=quiet, output_format=output_format)
        else:
            try:
                with output.open("w", encoding="utf-8") as stream:
                    run.report(results, stream, quiet=quiet, output_format=output_format)
            except OSError as exc:
                raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
        if any(r.errors for r in results):
            return EXIT_ERROR
        return EXIT_FINDINGS if any(r.findings for r in results) and not exit_zero else EXIT_CLEAN

    raise typer.Exit(_guarded(body))


@app.command(
    epilog="**Examples**\n\n"
    "* `gradsafe diff src/ > fixes.patch`: review the fixes, then `git apply fixes.patch`\n"
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
    config: ConfigOpt = None,
    isolated: IsolatedOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Print the fixes as a unified diff (paths relative to the current directory). Writes nothing.

    The patch goes to standard output and applies with `git apply` or `patch -p1`; the summary and
    errors go to standard error.
    """

    def body() -> int:
        from codemod.diffing import diff_edit

        run = Run(
            Command.DIFF,
            paths,
            select=select,
            extend_select=extend_select,
            ignore=ignore,
            policy=policy,
            exclude=exclude,
            extend_exclude=extend_exclude,
            force_exclude=force_exclude,
            stdin_filename=stdin_filename,
            config=config,
            isolated=isolated,
            verbose=verbose,
        )
        results = [run.stdin_result(sys.stdin.buffer.read())] if run.stdin else run.results()
        out = _binary_stdout()
        for result in results:
            if result.edit is not None:
                out.write(diff_edit(result.edit))
        out.flush()
        run.report(results, sys.stderr, quiet=quiet)
        if any(r.errors for r in results):
            return EXIT_ERROR
        return EXIT_FINDINGS if any(r.edit for r in results) else EXIT_CLEAN

    raise typer.Exit(_guarded(body))


@app.command(
    epilog="**Examples**\n\n"
    "* `gradsafe fix src/`: rewrite the files in place\n"
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
    config: ConfigOpt = None,
    isolated: IsolatedOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Apply the fixes to the files, atomically, keeping encoding, BOM, line endings and permissions.

    A file that changed on disk since it was read is not written. Running `fix` twice changes
    nothing the second time.
    """

    def body() -> int:
        run = Run(
            Command.FIX,
            paths,
            select=select,
            extend_select=extend_select,
            ignore=ignore,
            policy=policy,
            exclude=exclude,
            extend_exclude=extend_exclude,
            force_exclude=force_exclude,
            stdin_filename=stdin_filename,
            config=config,
            isolated=isolated,
            verbose=verbose,
        )
        if run.stdin:
            raw = sys.stdin.buffer.read()
            result = run.stdin_result(raw)
            out = _binary_stdout()
            out.write(result.edit.source.encode(result.edit.new_text) if result.edit else raw)
            out.flush()
            results = [result]
            run.report(results, sys.stderr, quiet=quiet)
        else:
            results = run.results()
            for result in results:
                _write(result)
            run.report(results, sys.stdout, quiet=quiet)
        if any(r.errors for r in results):
            return EXIT_ERROR
        return EXIT_FINDINGS if any(r.findings for r in results) else EXIT_CLEAN

    raise typer.Exit(_guarded(body))


def _write(result: FileResult) -> None:
    """Write one file's fixes; on failure the file is untouched and the result says why."""
    from codemod.writing import WriteError, write_source

    if result.edit is None:
        return
    try:
        write_source(result.edit.source, result.edit.new_text)
    except WriteError as exc:
        result.errors.append(FileError(result.display, IO_ERROR, str(exc)))
        result.applied = []
        result.edit = None


@app.command()
def rules() -> None:
    """List every rule: code, name, fix kind, and whether it is on by default."""
    catalogue = all_rules()
    rows = [("CODE", "NAME", "FIX", "DEFAULT")]
    for rule in catalogue:
        if rule.policy is not Policy.DEFAULT:
            default = f"{rule.policy.value} policy"
        else:
            default = "on" if rule.default_enabled else "off"
        rows.append((rule.code, rule.name, rule.fix_label, default))
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
