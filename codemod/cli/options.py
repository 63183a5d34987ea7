"""Every option of the commands, defined once, and the groups of them the commands take.

An option is a Typer annotation (``SelectOpt``); a group (``RULE_SELECTION``) is the parameters of
a few options that go together, with their defaults.  A command declares ``**options`` and the
groups it takes (``@takes(...)``): the decorator gives it those parameters as its signature, in
order, so ``check``, ``diff`` and ``fix`` share their options instead of repeating them, and
Typer builds the same command line (and ``--help``) as from a written-out signature.  The
parameter names are the fields of ``gradsafe.cli.command_run.Invocation``.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any, TypeVar
from collections.abc import Callable

import typer

from gradsafe.report import FORMATTERS
from gradsafe.rules import Policy

# A flag takes no value: an empty metavar keeps `--help` from showing a `<bool>` value for it
# (which reads as if `--exit-zero true` were the spelling).
FLAG = ""

# Every option, defined once.  Lists accept repeated options and commas: --select GS1,GS2.
PathsArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Files or directories to process (default: the current directory, `.`); `-` reads standard input.",
        show_default=False,
        metavar="PATH",
    ),
]
SelectOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--select",
        metavar="CODES",
        help="Rule codes or prefixes to enable, replacing the configured selection (`GS1`, `GS101`, `ALL`).",
        rich_help_panel="Rule selection",
        show_default=False,
    ),
]
ExtendSelectOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--extend-select",
        metavar="CODES",
        help="Rule codes or prefixes to enable in addition to the selection.",
        rich_help_panel="Rule selection",
        show_default=False,
    ),
]
IgnoreOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--ignore",
        metavar="CODES",
        help="Rule codes or prefixes to disable.",
        rich_help_panel="Rule selection",
        show_default=False,
    ),
]
PolicyOpt = Annotated[
    Policy | None,
    typer.Option(
        "--policy",
        help="`default` reports hazards; `strict` also reports every other in-place op in differentiable code.",
        rich_help_panel="Rule selection",
        show_default=False,
    ),
]
ExcludeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude",
        metavar="PATTERNS",
        help="Patterns (.gitignore syntax) to exclude, replacing the configured and default ones.",
        rich_help_panel="File selection",
        show_default=False,
    ),
]
ExtendExcludeOpt = Annotated[
    list[str] | None,
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
        metavar=FLAG,
        help="Apply exclusions to paths named on the command line too (for editors and pre-commit).",
        rich_help_panel="File selection",
    ),
]
StdinFilenameOpt = Annotated[
    str | None,
    typer.Option(
        "--stdin-filename",
        metavar="NAME",
        help="The file name to use for standard input in messages and configuration matching.",
        rich_help_panel="File selection",
        show_default=False,
    ),
]
ShardOpt = Annotated[
    str | None,
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
    Path | None,
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
    bool,
    typer.Option("--isolated", metavar=FLAG, help="Ignore all configuration files.", rich_help_panel="Configuration"),
]
FormatOpt = Annotated[
    str,
    typer.Option(
        "--output-format",
        "--format",
        metavar="FORMAT",
        help="Report format: " + "; ".join(f"`{name}`: {spec.description}" for name, spec in FORMATTERS.items()) + ".",
        rich_help_panel="Output",
    ),
]
OutputOpt = Annotated[
    Path | None,
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
        metavar=FLAG,
        help="Show the number of findings per rule instead of each finding (text format).",
        rich_help_panel="Output",
    ),
]
ShowFixesOpt = Annotated[
    bool,
    typer.Option(
        "--show-fixes",
        metavar=FLAG,
        help="Under each finding, show the fix it gets or why it gets none; list the findings fixed (text format).",
        rich_help_panel="Output",
    ),
]
ExitZeroOpt = Annotated[
    bool,
    typer.Option(
        "--exit-zero",
        metavar=FLAG,
        help="Exit 0 even when there are findings (errors still exit 2).", rich_help_panel="Output"
    ),
]
QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q",
        metavar=FLAG,
        help="Print findings and errors only: no summary, no progress bar.", rich_help_panel="Output"
    ),
]
VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v", metavar=FLAG, help="Also print the configuration used, declined fixes and tracebacks of internal errors.",
        rich_help_panel="Output",
    ),
]

UnsafeFixesOpt = Annotated[
    bool | None,
    typer.Option(
        "--unsafe-fixes/--no-unsafe-fixes",
        help="Also apply unsafe fixes: those that change what the code computes on purpose, the repairs of "
        "silent bugs (GS6xx). Without it they are only reported as available. Overrides `unsafe-fixes` in "
        "`[tool.gradsafe]`.",
        rich_help_panel="Fixes",
        show_default=False,
    ),
]
NoVerifyOpt = Annotated[
    bool,
    typer.Option(
        "--no-verify",
        metavar=FLAG,
        help="Emit every fix without running any code (fast, static; what the pre-commit hook does).",
        rich_help_panel="Verification",
    ),
]
UnverifiedOpt = Annotated[
    bool,
    typer.Option(
        "--unverified",
        metavar=FLAG,
        help="Also emit fixes that could not be verified for lack of inputs (marked in the report).",
        rich_help_panel="Verification",
    ),
]
ScenarioOpt = Annotated[
    list[str] | None,
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
    list[str] | None,
    typer.Option(
        "--example",
        metavar="FILE",
        help="A file of `example__<function>()` input builders (docs/verification.md).",
        rich_help_panel="Verification",
        show_default=False,
    ),
]
NoTestsOpt = Annotated[
    bool,
    typer.Option(
        "--no-tests",
        help="Do not run the project's own pytest tests (those that may reach a rewritten function) as scenarios.",
        rich_help_panel="Verification",
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        help="Time limit per verified function or scenario.",
        rich_help_panel="Verification",
        show_default=False,
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        metavar="N",
        help="Verification worker processes.",
        rich_help_panel="Verification",
        show_default=False,
    ),
]
PythonOpt = Annotated[
    str | None,
    typer.Option(
        "--python",
        metavar="PATH",
        help="The interpreter (or virtualenv) that runs your code for verification; it needs torch, not gradsafe. "
        "Default: the active virtualenv, else `.venv`/`venv` in the project root, else gradsafe's own.",
        rich_help_panel="Verification",
        show_default=False,
    ),
]

JobsOpt = Annotated[
    int | None,
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
        metavar=FLAG,
        help="Neither read nor write the result cache (`.gradsafe_cache/` in the project root).",
        rich_help_panel="Performance",
    ),
]


Group = tuple[inspect.Parameter, ...]


def _option(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


PATHS: Group = (_option("paths", PathsArg, None),)
RULE_SELECTION: Group = (
    _option("select", SelectOpt, None),
    _option("extend_select", ExtendSelectOpt, None),
    _option("ignore", IgnoreOpt, None),
    _option("policy", PolicyOpt, None),
)
FILE_SELECTION: Group = (
    _option("exclude", ExcludeOpt, None),
    _option("extend_exclude", ExtendExcludeOpt, None),
    _option("force_exclude", ForceExcludeOpt, False),
)
STDIN_AND_SHARD: Group = (_option("stdin_filename", StdinFilenameOpt, None), _option("shard", ShardOpt, None))
CONFIGURATION: Group = (_option("config", ConfigOpt, None), _option("isolated", IsolatedOpt, False))
REPORT_DESTINATION: Group = (_option("output_format", FormatOpt, "text"), _option("output", OutputOpt, None))
REPORT_LAYOUT: Group = (_option("statistics", StatisticsOpt, False), _option("show_fixes", ShowFixesOpt, False))
EXIT_ZERO: Group = (_option("exit_zero", ExitZeroOpt, False),)
QUIET: Group = (_option("quiet", QuietOpt, False),)
MESSAGES: Group = QUIET + (_option("verbose", VerboseOpt, False),)
UNSAFE_FIXES: Group = (_option("unsafe_fixes", UnsafeFixesOpt, None),)
EMITTED_FIXES: Group = (_option("no_verify", NoVerifyOpt, False), _option("unverified", UnverifiedOpt, False))
VERIFY_INPUTS: Group = (
    _option("scenario", ScenarioOpt, None),
    _option("example", ExampleOpt, None),
    _option("no_tests", NoTestsOpt, False),
)
VERIFY_LIMITS: Group = (
    _option("timeout", TimeoutOpt, None),
    _option("workers", WorkersOpt, None),
    _option("python", PythonOpt, None),
)
PERFORMANCE: Group = (_option("jobs", JobsOpt, None), _option("no_cache", NoCacheOpt, False))

# What check, diff and fix all take, in the order --help lists it.
SOURCE_OPTIONS: Group = (
    PATHS + RULE_SELECTION + FILE_SELECTION + STDIN_AND_SHARD + CONFIGURATION + REPORT_DESTINATION + REPORT_LAYOUT
)
VERIFICATION: Group = UNSAFE_FIXES + EMITTED_FIXES + VERIFY_INPUTS + VERIFY_LIMITS

CommandFunction = TypeVar("CommandFunction", bound=Callable[..., Any])


def takes(*groups: Group) -> Callable[[CommandFunction], CommandFunction]:
    """Give a command declared as ``def command(own, ..., **options)`` the parameters of ``groups``.

    Its own parameters come first, then the groups' in order (``**options`` receives those).  The
    signature and annotations are what Typer reads, so the command line is the one a written-out
    signature would give.
    """

    def decorate(command: CommandFunction) -> CommandFunction:
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        parameters = [*own, *(p for group in groups for p in group)]
        names = [p.name for p in parameters]
        if len(set(names)) != len(names):
            raise TypeError(f"{command.__name__}: an option is given twice: {names}")
        command.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
        return command

    return decorate
