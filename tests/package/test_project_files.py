"""README, CI script and changelog agree with each other."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    """The shell commands of the README's "Set up" section, in order."""
    section = ROOT.joinpath("README.md").read_text().split("## Set up", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.S)]


def test_readme_has_exactly_two_setup_commands_with_torch_pinned() -> None:
    install_and_run, test = readme_commands()
    assert "gradsafe diff examples/" in install_and_run
    assert "pytest" in test
    assert "torch==2.13.0" in test
    # Every pip command that installs torch pins it (an unpinned `torch` pulls a multi-GB CUDA build).
    readme = ROOT.joinpath("README.md").read_text()
    assert re.findall(r"pip install[^\n]*\btorch\b(?!==2\.13\.0)", readme) == []


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = ROOT / ".ci" / "run"
    text = ci.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert readme_commands()[1] in text.splitlines()
    assert os.access(ci, os.X_OK)


def test_changelog_has_an_unreleased_section() -> None:
    changelog = ROOT.joinpath("CHANGELOG.md").read_text()
    assert changelog.startswith("# Changelog")
    assert "## [Unreleased]" in changelog
    assert "keepachangelog.com" in changelog
