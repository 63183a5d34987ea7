"""The command line's shared option groups and the one builder of a command's run configuration."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest
import typer

from gradsafe.cli import app
from gradsafe.cli.command_run import Invocation, start_run
from gradsafe.cli.options import PATHS, QUIET, RULE_SELECTION, takes
from gradsafe.report import Command


def _click_command(name: str) -> Any:
    return typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]


def _options(name: str) -> list[str]:
    return [param.name for param in _click_command(name).params if param.name not in ("help",)]


def test_check_diff_and_fix_take_the_same_options_in_the_same_order() -> None:
    check, diff, fix = _options("check"), _options("diff"), _options("fix")
    assert diff == fix
    verification = ["unsafe_fixes", "no_verify", "unverified", "scenario", "example", "timeout", "workers", "python", "no_tests"]
    assert [name for name in diff if name not in verification] == check
    assert "exit_zero" in check and "exit_zero" in diff
    assert set(verification) <= set(diff)


def test_every_option_of_a_file_command_is_an_invocation_field() -> None:
    fields = {field.name for field in dataclasses.fields(Invocation)}
    for name in ("check", "diff", "fix", "verify"):
        assert set(_options(name)) <= fields, name
    own = {"command", "scenario", "root", "stop_at_first", "checksum_saved", "fix"}
    assert set(_options("trace")) - own <= fields


def test_takes_puts_the_commands_own_parameters_first_then_the_groups_in_order() -> None:
    @takes(PATHS, RULE_SELECTION, QUIET)
    def command(first: int = 1, **options: Any) -> None:
        """A command."""

    names = list(inspect.signature(command).parameters)
    assert names == ["first", "paths", "select", "extend_select", "ignore", "policy", "quiet"]
    assert set(command.__annotations__) == {*names, "return"}


def test_takes_refuses_an_option_given_twice() -> None:
    with pytest.raises(TypeError, match="given twice"):

        @takes(QUIET, QUIET)
        def command(**options: Any) -> None:
            """A command."""


def test_start_run_fills_in_the_options_a_command_does_not_take(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = start_run(Command.DIFF, paths=["."], isolated=True, no_verify=False, quiet=True)
    assert run.options == Invocation(paths=["."], isolated=True, no_verify=False, quiet=True)
    assert run.options.output_format == "text" and run.options.scenario is None and not run.options.exit_zero
    with pytest.raises(TypeError):
        start_run(Command.CHECK, paths=["."], not_an_option=True)
