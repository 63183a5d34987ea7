"""Shell completion: ``gradsafe generate-shell-completion bash|zsh|fish`` prints the script to source.

As ruff's command of the same name.  The script calls ``gradsafe`` back with
``_GRADSAFE_COMPLETE=complete_<shell>``; Typer answers those calls from the completion classes it
registers here (without them every shell was "not supported", since the app is built without
Typer's ``--install-completion`` options).  Typer's completion internals are used, which is why
``pyproject.toml`` pins Typer to the tested range.
"""

from __future__ import annotations

import enum
from typing import Annotated

import typer
from typer._completion_classes import completion_init
from typer._completion_shared import get_completion_script

from gradsafe.cli.app import app

COMPLETE_VAR = "_GRADSAFE_COMPLETE"


class Shell(str, enum.Enum):
    BASH = "bash"
    ZSH = "zsh"
    FISH = "fish"


completion_init()  # registers the bash / zsh / fish completers the script's callbacks reach


@app.command(
    "generate-shell-completion",
    epilog="**Example**\n\n* `eval \"$(gradsafe generate-shell-completion bash)\"` in `~/.bashrc`\n"
    "* `gradsafe generate-shell-completion fish > ~/.config/fish/completions/gradsafe.fish`",
)
def generate_shell_completion(
    shell: Annotated[Shell, typer.Argument(help="The shell to complete in.", show_default=False, metavar="SHELL")],
) -> None:
    """Print the shell completion script for bash, zsh or fish."""
    typer.echo(get_completion_script(prog_name="gradsafe", complete_var=COMPLETE_VAR, shell=shell.value))
