"""How verification runs: where inputs come from, limits, tolerances.

Read from ``[tool.gradsafe.verify]`` (``VerifySettings.from_config``) and then overridden by
command-line options (``dataclasses.replace``).  ``CONFIG_KEYS`` is the schema of that table; the
configuration loader and ``docs/verification.md`` both describe keys from it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class SettingsError(ValueError):
    """A ``[tool.gradsafe.verify]`` value is missing its expected type or range."""


@dataclass(frozen=True)
class VerifySettings:
    """Verification settings.

    ``scenarios``: zero-argument callables to run, ``"pkg.mod:fn"`` or ``"path/to/file.py:fn"``
    (paths relative to the project root).  ``examples``: files (relative to the root) defining
    ``example__<qualname>()`` functions (see ``docs/verification.md``).

    ``timeout`` is in seconds per target (and per scenario); ``memory_mb`` caps the worker's address
    space.  ``rtol``/``atol`` compare the original with the rewrite; they apply to float64, which is
    how targets are run, and lower-precision values (a scenario's own float32 tensors) are compared
    with ``torch.testing``'s defaults for their dtype when those are looser.  ``fd_rtol``/``fd_atol``
    compare the rewrite's gradients with finite differences of the original, which carry
    truncation and rounding error of about 1e-9 in float64.  ``workers`` is the number of worker
    processes.  ``python`` is the interpreter that runs the worker (a path, or a virtualenv's
    directory); ``None`` picks one (``gradsafe.verify.interpreter``).
    """

    scenarios: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    timeout: float = 60.0
    memory_mb: int = 4096
    rtol: float = 1e-7
    atol: float = 1e-7
    fd_rtol: float = 1e-5
    fd_atol: float = 1e-6
    workers: int = 1
    python: str | None = None

    def __post_init__(self) -> None:
        for key in CONFIG_KEYS.values():
            key.check(getattr(self, key.attribute))

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> VerifySettings:
        """Settings from a ``[tool.gradsafe.verify]`` table (kebab-case keys, as in TOML)."""
        values: dict[str, Any] = {}
        for name, value in table.items():
            key = CONFIG_KEYS.get(name)
            if key is None:
                hint = difflib.get_close_matches(name, list(CONFIG_KEYS), n=1)
                suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
                raise SettingsError(f"[tool.gradsafe.verify] unknown key '{name}'{suggestion}")
            values[key.attribute] = key.parse(value)
        return cls(**values)


@dataclass(frozen=True)
class ConfigKey:
    """One key of ``[tool.gradsafe.verify]``: its TOML name, type and the check on its value."""

    name: str
    description: str  # what the value must be, for error messages and docs
    accepts: Callable[[Any], bool]

    @property
    def attribute(self) -> str:
        return self.name.replace("-", "_")

    def check(self, value: Any) -> None:
        if not self.accepts(value):
            raise SettingsError(f"[tool.gradsafe.verify] '{self.name}' must be {self.description}, got {value!r}")

    def parse(self, value: Any) -> Any:
        """The TOML value as the attribute holds it (lists become tuples)."""
        if isinstance(value, list):
            value = tuple(value)
        self.check(value)
        return value


def _strings(value: Any) -> bool:
    return isinstance(value, tuple) and all(isinstance(item, str) and item for item in value)


def _positive_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _non_negative_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def _optional_path(value: Any) -> bool:
    return value is None or (isinstance(value, str) and bool(value))


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


CONFIG_KEYS: dict[str, ConfigKey] = {
    key.name: key
    for key in (
        ConfigKey("scenarios", 'a list of "module:function" or "path.py:function" strings', _strings),
        ConfigKey("examples", "a list of paths to example files", _strings),
        ConfigKey("timeout", "a positive number (seconds)", _positive_number),
        ConfigKey("memory-mb", "a positive integer (MiB)", _positive_int),
        ConfigKey("rtol", "a non-negative number", _non_negative_number),
        ConfigKey("atol", "a non-negative number", _non_negative_number),
        ConfigKey("fd-rtol", "a non-negative number", _non_negative_number),
        ConfigKey("fd-atol", "a non-negative number", _non_negative_number),
        ConfigKey("workers", "a positive integer", _positive_int),
        ConfigKey("python", "a path to a Python interpreter or a virtualenv", _optional_path),
    )
}
