"""File discovery: recursion, default and configured excludes, .gitignore, symlinks, bad paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gradsafe.settings.config import DEFAULT_EXCLUDE
from gradsafe.files.discovery import Filters, discover
from gradsafe.settings.patterns import PathPatterns


def make(root: Path, *files: str) -> None:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")


def found(root: Path, paths: list[str] | None = None, *, exclude=DEFAULT_EXCLUDE, force=False, gitignore=True):
    filters = Filters(PathPatterns(tuple(exclude), root), force_exclude=force, respect_gitignore=gitignore)
    result = discover([root / p for p in (paths or ["."])], filters, cwd=root)
    return [f.display for f in result.files], [(e.path, e.message) for e in result.errors]


def test_recurses_into_python_files_only_and_sorts_by_path(tmp_path: Path) -> None:
    make(tmp_path, "b.py", "a/z.py", "a-b/c.py", "a/notes.txt", "a/stub.pyi", "a.py")
    files, errors = found(tmp_path)
    assert files == ["a/z.py", "a-b/c.py", "a.py", "b.py"]
    assert errors == []


def test_default_excludes_and_virtualenvs_are_skipped(tmp_path: Path) -> None:
    make(
        tmp_path,
        "src/m.py",
        ".git/hooks/h.py",
        ".venv/lib/v.py",
        "venv/lib/v.py",
        "env/lib/e.py",
        "src/__pycache__/m.py",
        "build/lib/b.py",
        "dist/d.py",
        "node_modules/n.py",
        ".tox/t.py",
        ".nox/n.py",
        ".mypy_cache/m.py",
        ".gradsafe_cache/c.py",
        ".hg/h.py",
        ".svn/s.py",
    )
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    files, _ = found(tmp_path)
    assert files == ["src/m.py"]


def test_gitignore_applies_to_its_subtree_and_deeper_files_win(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    make(tmp_path, "gen_a.py", "pkg/gen_b.py", "pkg/keep_gen.py", "pkg/sub/gen_c.py", "other/gen_d.py", "pkg/ok.py")
    (tmp_path / ".gitignore").write_text("gen_*.py\n")
    (tmp_path / "pkg" / ".gitignore").write_text("!gen_b.py\n")
    (tmp_path / "other" / ".gitignore").write_text("*\n")
    files, _ = found(tmp_path)
    assert files == ["pkg/gen_b.py", "pkg/keep_gen.py", "pkg/ok.py"]


def test_gitignore_above_the_walked_directory_counts_up_to_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    make(tmp_path, "src/generated/g.py", "src/m.py")
    (tmp_path / ".gitignore").write_text("src/generated/\n")
    files, _ = found(tmp_path, ["src"])
    assert files == ["src/m.py"]


def test_respect_gitignore_false(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    make(tmp_path, "gen.py")
    (tmp_path / ".gitignore").write_text("gen.py\n")
    assert found(tmp_path)[0] == []
    assert found(tmp_path, gitignore=False)[0] == ["gen.py"]


def test_exclude_patterns_use_gitignore_syntax_relative_to_the_root(tmp_path: Path) -> None:
    make(tmp_path, "legacy/a.py", "src/legacy/b.py", "src/c.py", "top.py")
    files, _ = found(tmp_path, exclude=("/legacy/", "top.py"))
    assert files == ["src/c.py", "src/legacy/b.py"]


def test_exclude_replaces_the_defaults(tmp_path: Path) -> None:
    make(tmp_path, "build/b.py", "skip/s.py")
    assert found(tmp_path, exclude=("skip/",))[0] == ["build/b.py"]


def test_explicit_paths_are_processed_even_when_excluded_unless_forced(tmp_path: Path) -> None:
    make(tmp_path, "build/b.py", "build/inner/c.py")
    assert found(tmp_path, ["build/b.py"])[0] == ["build/b.py"]
    assert found(tmp_path, ["build"])[0] == ["build/b.py", "build/inner/c.py"]
    assert found(tmp_path, ["build/b.py"], force=True)[0] == []
    assert found(tmp_path, ["build"], force=True)[0] == []


def test_explicit_file_with_another_suffix_is_read(tmp_path: Path) -> None:
    make(tmp_path, "script")
    assert found(tmp_path, ["script"])[0] == ["script"]


def test_directory_named_like_a_python_file_is_walked_not_read(tmp_path: Path) -> None:
    make(tmp_path, "weird.py/inner.py")
    assert found(tmp_path)[0] == ["weird.py/inner.py"]
    assert found(tmp_path, ["weird.py"]) == (["weird.py/inner.py"], [])


def test_missing_path_is_an_error_and_the_others_are_still_found(tmp_path: Path) -> None:
    make(tmp_path, "a.py")
    files, errors = found(tmp_path, ["missing.py", "a.py"])
    assert files == ["a.py"]
    assert errors == [("missing.py", "no such file or directory")]


def test_a_file_named_twice_is_processed_once(tmp_path: Path) -> None:
    make(tmp_path, "a.py")
    assert found(tmp_path, ["a.py", ".", "./a.py"])[0] == ["a.py"]


needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks on this platform")


@needs_symlinks
def test_symlink_loop_terminates(tmp_path: Path) -> None:
    make(tmp_path, "pkg/m.py")
    (tmp_path / "pkg" / "again").symlink_to(tmp_path / "pkg")
    (tmp_path / "pkg" / "up").symlink_to(tmp_path)
    files, errors = found(tmp_path)
    assert files == ["pkg/m.py"]
    assert errors == []


@needs_symlinks
def test_symlinks_out_of_the_tree_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    make(outside, "secret.py", "dir/x.py")
    tree = tmp_path / "tree"
    make(tree, "m.py")
    (tree / "link.py").symlink_to(outside / "secret.py")
    (tree / "linkdir").symlink_to(outside / "dir")
    files, _ = found(tree)
    assert files == ["m.py"]


@needs_symlinks
def test_symlink_inside_the_tree_reports_the_real_name_once(tmp_path: Path) -> None:
    make(tmp_path, "real/m.py")
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    (tmp_path / "a_link.py").symlink_to(tmp_path / "real" / "m.py")
    assert found(tmp_path)[0] == ["real/m.py"]


@needs_symlinks
def test_dangling_symlink_is_an_error_for_that_path(tmp_path: Path) -> None:
    make(tmp_path, "ok.py")
    (tmp_path / "gone.py").symlink_to(tmp_path / "nowhere.py")
    files, errors = found(tmp_path)
    assert files == ["ok.py"]
    assert errors == [("gone.py", "dangling symbolic link")]
    assert found(tmp_path, ["gone.py"])[1] == [("gone.py", "dangling symbolic link")]


def test_unreadable_directory_is_an_error_and_the_walk_continues(tmp_path: Path) -> None:
    make(tmp_path, "locked/a.py", "open/b.py")
    locked = tmp_path / "locked"
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running with privileges that ignore permission bits (root)")
        files, errors = found(tmp_path)
    finally:
        locked.chmod(0o755)
    assert files == ["open/b.py"]
    assert [path for path, _ in errors] == ["locked"]


def test_files_outside_the_project_root_are_not_excluded_by_their_ancestors_names(tmp_path: Path) -> None:
    # A tree below a directory called `venv` (like site-packages) must still be walked when named.
    tree = tmp_path / "venv" / "lib" / "pkg"
    make(tree, "m.py", "build/b.py")
    project = tmp_path / "project"
    project.mkdir()
    filters = Filters(PathPatterns(DEFAULT_EXCLUDE, project))
    result = discover([tree], filters, cwd=project)
    assert [f.path.name for f in result.files] == ["m.py"]
