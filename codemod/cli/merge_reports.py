"""``gradsafe merge-reports``: the reports of ``--shard K/N`` runs merged into the report of one run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gradsafe.cli.app import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, UsageError, app, guarded
from gradsafe.cli.command_run import check_output_options, exit_status, report_stream, use_color
from gradsafe.cli.options import ExitZeroOpt, OutputOpt, QuietOpt, StatisticsOpt
from gradsafe.report import RenderOptions, get_formatter, write_json


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
        str | None,
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
            check_output_options(name, statistics=statistics, show_fixes=False)
            if (kind == SARIF) != (name == "sarif"):
                raise UsageError(
                    "SARIF logs merge into SARIF only, and JSON reports into json, text or github "
                    "(JSON reports do not carry the rewrites that SARIF fixes hold)"
                )
            if kind == SARIF:
                merged = merge_sarif(loaded)
                with report_stream(output, sys.stdout) as stream:
                    write_json(merged, stream)
                run = merged["runs"][0]
                if run["invocations"][0]["toolExecutionNotifications"]:
                    return EXIT_ERROR
                return EXIT_FINDINGS if run["results"] and not exit_zero else EXIT_CLEAN
            report = merge_json(loaded)
        except MergeError as exc:
            raise UsageError(str(exc)) from None
        with report_stream(output, sys.stdout) as stream:
            options = RenderOptions(color=use_color(stream), quiet=quiet, statistics=statistics)
            get_formatter(name)(report, stream, options)
        return exit_status(report, exit_zero=exit_zero)

    raise typer.Exit(guarded(body))
