"""Run ``mypy --strict`` over the ``gradsafe`` package as it is laid out in this repository.

The folders keep the project's layout (``codemod/`` is ``gradsafe``, ``transforms/`` is
``gradsafe.transforms``: ``[tool.setuptools] package-dir`` in pyproject.toml), which mypy cannot
follow, neither from the folders nor through the editable install's import hook. This script lays
the sources out under their import names in a temporary directory, with symlinks (nothing is
copied, nothing is installed), runs mypy there with the ``[tool.mypy]`` settings of pyproject.toml,
and prints the messages with the repository's own paths, so an editor or a terminal can jump to
them.

    python scripts/typecheck.py            # the whole package
    python scripts/typecheck.py -- --no-incremental   # anything after -- goes to mypy

The exit status is mypy's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the 3.10 fallback, as in gradsafe.settings.config
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def package_dirs(pyproject: Path) -> dict[str, str]:
    """The import name -> folder mapping of ``[tool.setuptools] package-dir``."""
    settings = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    mapping = settings["tool"]["setuptools"]["package-dir"]
    return {str(name): str(folder) for name, folder in mapping.items()}


def lay_out(mapping: dict[str, str], root: Path, target: Path) -> dict[Path, Path]:
    """Symlink every package folder's entries under its import path in ``target``.

    A package mapped inside another one (``gradsafe.transforms`` inside ``gradsafe``) becomes a
    subfolder of it. Returns the laid-out folder -> source folder mapping, deepest first, for
    translating paths back.
    """
    laid: dict[Path, Path] = {}
    for name in sorted(mapping, key=lambda dotted: dotted.count(".")):
        source = root / mapping[name]
        dest = target.joinpath(*name.split("."))
        dest.mkdir(parents=True, exist_ok=True)
        nested = {other.rpartition(".")[2] for other in mapping if other.rpartition(".")[0] == name}
        for entry in sorted(source.iterdir()):
            if entry.name in nested or entry.name == "__pycache__":
                continue
            (dest / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
        laid[dest.relative_to(target)] = source.relative_to(root)
    return dict(sorted(laid.items(), key=lambda item: -len(item[0].parts)))


def translate(line: str, laid: dict[Path, Path]) -> str:
    """Rewrite a mypy message's leading path from the laid-out tree to the repository's."""
    match = re.match(r"([^:\s]+\.pyi?)(:.*)?$", line, flags=re.DOTALL)
    if match is None:
        return line
    path = Path(match.group(1))
    for dest, source in laid.items():
        if path.parts[: len(dest.parts)] == dest.parts:
            rest = path.parts[len(dest.parts) :]
            return str(source.joinpath(*rest)) + (match.group(2) or "")
    return line


def main(argv: list[str]) -> int:
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    pyproject = ROOT / "pyproject.toml"
    mapping = package_dirs(pyproject)
    top = sorted(mapping, key=lambda dotted: dotted.count("."))[0]
    with tempfile.TemporaryDirectory(prefix="gradsafe-mypy-") as scratch:
        target = Path(scratch)
        laid = lay_out(mapping, ROOT, target)
        command = [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(pyproject),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            *extra,
            "-p",
            top,
        ]
        # MYPYPATH and an installed gradsafe must not shadow the laid-out tree.
        env = {key: value for key, value in os.environ.items() if key != "MYPYPATH"}
        proc = subprocess.run(
            command, cwd=target, env=env, capture_output=True, text=True, check=False
        )
    for line in proc.stdout.splitlines(keepends=True):
        sys.stdout.write(translate(line, laid))
    sys.stderr.write(proc.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
