"""``[tool.gradsafe]`` in ``pyproject.toml``: finding it, validating it, and merging the command line.

The configuration is the nearest ``pyproject.toml`` above the paths being processed that has a
``[tool.gradsafe]`` table (``--config FILE`` names one instead, ``--isolated`` ignores them all).
Its directory is the *project root*: ``exclude`` and ``per-file-ignores`` patterns are relative to it.

Validation is driven by ``SCHEMA``, a table of known keys and their types per section, so that a
typo is an error naming the key and the file rather than a silently ignored setting.  A later stage
adds its own section by adding an entry (``[tool.gradsafe.verify]`` is accepted as an opaque table
until the verification stage defines its keys).
"""

from __future__ import annotations

import difflib
import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the `tomli` backport, a dependency on Python 3.10 only
    import tomli as tomllib


from gradsafe.files.paths import display_path
from gradsafe.settings.patterns import PathPatterns
from gradsafe.rules import Policy, all_rules
from gradsafe.settings.selection import SelectionLayer, Selector, SelectorError, active_codes, is_matched, parse_selectors

PYPROJECT = "pyproject.toml"
SECTION = "tool.gradsafe"

# Directories nobody wants analysed.  Setting `exclude` replaces this list (as in ruff);
# `extend-exclude` adds to it.  Virtual environments are also recognised by their `pyvenv.cfg`.
DEFAULT_EXCLUDE: tuple[str, ...] = (
    ".git/",
    ".hg/",
    ".svn/",
    ".venv/",
    "venv/",
    "__pycache__/",
    "build/",
    "dist/",
    "node_modules/",
    ".tox/",
    ".nox/",
    ".mypy_cache/",
    ".gradsafe_cache/",
)


class ConfigError(Exception):
    """A configuration problem, reported as one line naming the file and key; exit status 2."""


@dataclass(frozen=True)
class ValueType:
    """What a key accepts: a description for messages and a check."""

    description: str
    accepts: Callable[[Any], bool]


def _is_string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


STRING_LIST = ValueType("a list of strings", _is_string_list)
BOOLEAN = ValueType("true or false", lambda value: isinstance(value, bool))
GLOB_TO_CODES = ValueType(
    'a table of "glob" = ["CODE", ...]',
    lambda value: isinstance(value, dict) and all(_is_string_list(v) for v in value.values()),
)


def one_of(*choices: str) -> ValueType:
    return ValueType("one of " + ", ".join(repr(c) for c in choices), lambda value: value in choices)


# Section name -> known keys -> type.  A key whose value is a sub-table is listed here as its own
# section ("tool.gradsafe.verify"); a section mapped to None is accepted as any table, for a stage
# that has not declared its keys yet.
SCHEMA: dict[str, dict[str, ValueType] | None] = {
    SECTION: {
        "select": STRING_LIST,
        "extend-select": STRING_LIST,
        "ignore": STRING_LIST,
        "exclude": STRING_LIST,
        "extend-exclude": STRING_LIST,
        "per-file-ignores": GLOB_TO_CODES,
        "respect-gitignore": BOOLEAN,
        "policy": one_of(*(p.value for p in Policy)),
        "unsafe-fixes": BOOLEAN,
    },
    f"{SECTION}.verify": None,
}


def _type_name(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def validate_section(table: Mapping[str, Any], section: str, where: str) -> None:
    """Raise ``ConfigError`` for the first unknown key or wrongly typed value in ``table``."""
    keys = SCHEMA.get(section)
    if keys is None:
        return
    subsections = {name.rsplit(".", 1)[1] for name in SCHEMA if name.startswith(section + ".")}
    known = sorted({*keys, *subsections})
    for key, value in table.items():
        if key in subsections:
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: [{section}] '{key}' must be a table, got {_type_name(value)}")
            validate_section(value, f"{section}.{key}", where)
        elif key in keys:
            expected = keys[key]
            if not expected.accepts(value):
                raise ConfigError(
                    f"{where}: [{section}] '{key}' must be {expected.description}, got {_type_name(value)}"
                )
        else:
            hint = difflib.get_close_matches(key, known, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ConfigError(f"{where}: [{section}] unknown key '{key}'{suggestion}")


@dataclass(frozen=True)
class FileConfig:
    """The validated ``[tool.gradsafe]`` table of one file (empty when there is no file)."""

    path: Path | None
    values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> Path | None:
        return self.path.parent if self.path is not None else None


def _read_toml(path: Path) -> dict[str, Any]:
    where = display_path(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror or exc}") from None


def _gradsafe_table(document: Mapping[str, Any]) -> Any:
    return document.get("tool", {}).get("gradsafe") if isinstance(document.get("tool"), dict) else None


def load_file(path: Path) -> FileConfig:
    """Read and validate ``path``; it must contain a ``[tool.gradsafe]`` table."""
    path = Path(os.path.abspath(path))
    where = display_path(path)
    table = _gradsafe_table(_read_toml(path))
    if table is None:
        raise ConfigError(f"{where}: no [{SECTION}] table")
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: '{SECTION}' must be a table, got {_type_name(table)}")
    validate_section(table, SECTION, where)
    return FileConfig(path, table)


def find_config(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` that has a ``[tool.gradsafe]`` table."""
    directory = Path(os.path.abspath(start))
    for candidate_dir in (directory, *directory.parents):
        candidate = candidate_dir / PYPROJECT
        if candidate.is_file() and _gradsafe_table(_read_toml(candidate)) is not None:
            return candidate
    return None


def common_start(paths: Sequence[Path]) -> Path:
    """The directory the configuration search starts from: the common parent of ``paths``."""
    if not paths:
        return Path.cwd()
    directories = [os.path.abspath(p if p.is_dir() else p.parent) for p in paths]
    return Path(os.path.commonpath(directories))


@dataclass(frozen=True)
class Overrides:
    """Settings given on the command line; None means "not given, keep the configuration's"."""

    select: Sequence[str] | None = None
    extend_select: Sequence[str] = ()
    ignore: Sequence[str] = ()
    exclude: Sequence[str] | None = None
    extend_exclude: Sequence[str] = ()
    policy: str | None = None
    force_exclude: bool = False
    unsafe_fixes: bool | None = None  # `--unsafe-fixes` True, `--no-unsafe-fixes` False


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know about the configuration; plain values, so it pickles."""

    root: Path  # the project root: the configuration file's directory, or the working directory
    config_path: Path | None
    active: frozenset[str]  # rule codes enabled everywhere
    per_file_ignores: tuple[tuple[str, tuple[Selector, ...]], ...]
    exclude: tuple[str, ...]
    force_exclude: bool
    respect_gitignore: bool
    policy: Policy
    verify: Mapping[str, Any]
    # `diff`/`fix` also apply unsafe fixes (those that change what the code computes: silent bugs).
    # Not in `findings_key`: the cache stores findings, and a finding's fix is the same either way.
    unsafe_fixes: bool = False
    # Hazards a traced run saw happen, by resolved file path: ((line, code), ...).  Set only by
    # `gradsafe trace --fix`, so that the analysis plans fixes for exactly those sites.
    confirmed: tuple[tuple[str, tuple[tuple[int, str], ...]], ...] = ()

    def confirmed_for(self, path: Path) -> dict[int, str]:
        if not self.confirmed:
            return {}
        key = os.path.abspath(path)
        found: dict[int, str] = {}
        # A write site's own code wins over a helper call site (GS502) on the same line.
        for name, sites in self.confirmed:
            if name == key:
                for line, code in sorted(sites, key=lambda site: site[1] == "GS502"):
                    found.setdefault(line, code)
        return found

    def codes_for(self, path: Path) -> frozenset[str]:
        """The codes active for ``path``: the global selection minus its per-file ignores."""
        ignored = [
            selectors for pattern, selectors in self.per_file_ignores if _pattern(pattern, self.root).matches(path)
        ]
        if not ignored:
            return self.active
        return frozenset(code for code in self.active if not any(is_matched(code, s) for s in ignored))

    def findings_key(self, path: Path) -> str:
        """Everything in the settings that decides ``path``'s findings, as text (for the result cache's key).

        The resolved values, not the options that produced them: ``--select GS1`` and a
        configuration selecting the same codes share cache entries.
        """
        codes = _joined(self.codes_for(path))
        confirmed = ",".join(f"{line}:{code}" for line, code in sorted(self.confirmed_for(path).items()))
        return f"policy={self.policy.value};codes={codes};confirmed={confirmed}"


@lru_cache(maxsize=64)
def _joined(codes: frozenset[str]) -> str:
    """``codes`` sorted and comma-separated, once per distinct set (this is on the path of every cache lookup)."""
    return ",".join(sorted(codes))


@lru_cache(maxsize=256)
def _pattern(pattern: str, root: Path) -> PathPatterns:
    return PathPatterns((pattern,), root)


def _selectors(values: Sequence[str], label: str, codes: Sequence[str]) -> tuple[Selector, ...]:
    try:
        return parse_selectors(values, codes)
    except SelectorError as exc:
        raise ConfigError(f"{label}: {exc}") from None


def resolve(config: FileConfig, overrides: Overrides, *, cwd: Path | None = None) -> Settings:
    """Merge the configuration file and the command line (which wins) into ``Settings``."""
    codes = [rule.code for rule in all_rules()]
    values = config.values
    where = f"{display_path(config.path)}: [{SECTION}]" if config.path else f"[{SECTION}]"

    def from_file(key: str) -> tuple[Selector, ...]:
        return _selectors(values.get(key, ()), f"{where} '{key}'", codes)

    def from_cli(option: str, given: Sequence[str]) -> tuple[Selector, ...]:
        return _selectors(given, option, codes)

    layers = [
        SelectionLayer(
            select=from_file("select") if "select" in values else None,
            extend_select=from_file("extend-select"),
            ignore=from_file("ignore"),
        ),
        SelectionLayer(
            select=from_cli("--select", overrides.select) if overrides.select is not None else None,
            extend_select=from_cli("--extend-select", overrides.extend_select),
            ignore=from_cli("--ignore", overrides.ignore),
        ),
    ]
    policy = Policy(overrides.policy or values.get("policy", Policy.DEFAULT.value))
    per_file = tuple(
        (pattern, _selectors(selectors, f"{where} 'per-file-ignores' {pattern!r}", codes))
        for pattern, selectors in values.get("per-file-ignores", {}).items()
    )
    exclude = (
        tuple(overrides.exclude) if overrides.exclude is not None else tuple(values.get("exclude", DEFAULT_EXCLUDE))
    )
    exclude += tuple(values.get("extend-exclude", ())) + tuple(overrides.extend_exclude)
    return Settings(
        root=config.root or Path(os.path.abspath(cwd or Path.cwd())),
        config_path=config.path,
        active=active_codes(layers, all_rules(), policy),
        per_file_ignores=per_file,
        exclude=exclude,
        force_exclude=overrides.force_exclude,
        respect_gitignore=values.get("respect-gitignore", True),
        policy=policy,
        verify=_verify_table(values.get("verify", {}), where),
        unsafe_fixes=overrides.unsafe_fixes if overrides.unsafe_fixes is not None else values.get("unsafe-fixes", False),
    )


def _verify_table(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``[tool.gradsafe.verify]``, checked against the verification settings' schema."""
    if table:
        from gradsafe.verify.settings import SettingsError, VerifySettings

        try:
            VerifySettings.from_config(table)
        except SettingsError as exc:
            raise ConfigError(f"{where.split(': ')[0]}: {exc}" if ": " in where else str(exc)) from None
    return dict(table)


def load_settings(
    paths: Sequence[Path],
    overrides: Overrides,
    *,
    config_file: Path | None = None,
    isolated: bool = False,
) -> Settings:
    """Find (or take) the configuration for ``paths`` and resolve it with ``overrides``."""
    if isolated:
        config = FileConfig(None)
    elif config_file is not None:
        config = load_file(config_file)
    else:
        found = find_config(common_start(paths))
        config = load_file(found) if found else FileConfig(None)
    return resolve(config, overrides)
