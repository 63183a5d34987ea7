"""The Typer application every command registers on, its exit statuses and its error handling.

A user mistake (``UsageError``, ``ConfigError``) becomes one ``gradsafe: error: ...`` line and
exit status 2, Ctrl-C a message and 130; ``guarded`` applies that to each command's body.
"""

from __future__ import annotations

import sys
from typing import Annotated, BinaryIO, Callable

import typer

from gradsafe import __version__
from gradsafe.settings.config import ConfigError

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


def fail(message: str) -> typer.Exit:
    """Print ``gradsafe: error: message`` and return the exit (status 2) for the caller to raise."""
    typer.echo(f"gradsafe: error: {message}", err=True)
    return typer.Exit(EXIT_ERROR)


def guarded(body: Callable[[], int]) -> int:
    """Run a command body, turning user mistakes and Ctrl-C into messages and exit codes."""
    try:
        return body()
    except (UsageError, ConfigError) as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        typer.echo("gradsafe: interrupted", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def binary_stdout() -> BinaryIO:
    """Standard output for bytes (patches, fixed code), after whatever text was already written to it."""
    sys.stdout.flush()
    return sys.stdout.buffer


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
