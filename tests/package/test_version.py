"""One version, written once, that the changelog and the SARIF driver agree with."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from gradsafe import __version__
from gradsafe.report.sarif import semantic_version

REPO = Path(__file__).resolve().parents[2]
# Semantic Versioning 2.0's own grammar, shortened to what a version of ours can be.
SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?")


def test_the_package_metadata_reads_the_version_from_the_package() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gradsafe.__version__"}


def test_the_changelog_agrees_with_the_version() -> None:
    sections = re.findall(r"^## \[([^\]]+)\]", (REPO / "CHANGELOG.md").read_text(encoding="utf-8"), re.MULTILINE)
    assert sections and sections[0] == "Unreleased"
    releases = sections[1:]
    development = re.fullmatch(r"(.+)\.dev\d+", __version__)
    if development:  # work towards a release: it has no section yet, and it is newer than any that has
        assert development.group(1) not in releases
    else:  # a release: its notes are the newest release section
        assert releases and releases[0] == __version__


@pytest.mark.parametrize(
    ("version", "expected"),
    [("0.1.0", "0.1.0"), ("0.1.0.dev0", "0.1.0-dev.0"), ("1.2.0rc1", "1.2.0-rc.1"), ("2.0", "2.0.0"),
     ("1.0.0b2.dev3", "1.0.0-b.2.dev.3")],
)
def test_semantic_version(version: str, expected: str) -> None:
    assert semantic_version(version) == expected
    assert SEMVER.fullmatch(expected)


def test_the_sarif_driver_version_is_semantic() -> None:
    assert SEMVER.fullmatch(semantic_version(__version__))
