"""The Typer application every command registers on, its exit statuses and its error handling.

A user mistake (``UsageError``, ``ConfigError``) becomes one ``gradsafe: error: ...`` line and
exit status 2, Ctrl-C a message and 130; ``guarded`` applies that to each command's body.
"""

from __future__ import annotations

import sys
from typing import Annotated, BinaryIO
from collections.abc import Callable

import typer
from typer import _click as click
from typer.core import TyperGroup, TyperOption

from gradsafe import __version__
from gradsafe.settings.config import ConfigError

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

class _Group(TyperGroup):
    """The app's group: its and its commands' ``--help`` shown as the flag it is, without ``<bool>``."""

    def get_help_option(self, ctx: click.Context) -> TyperOption | None:
        return _flag(super().get_help_option(ctx))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _flag(command.get_help_option(ctx))  # cached on the command, so its --help shows it so
        return command


def _flag(option: TyperOption | None) -> TyperOption | None:
    if option is not None:
        option.metavar = ""
    return option


app = typer.Typer(
    name="gradsafe",
    cls=_Group,
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
        bool,
        typer.Option("--version", "-V", metavar="", help="Show the version and exit.", callback=_version, is_eager=True),
    ] = False,
) -> None:
    """Find in-place tensor mutations that break PyTorch autograd, and rewrite them safely."""


def main() -> None:
    """Console-script entry point."""
    app(prog_name="gradsafe")
