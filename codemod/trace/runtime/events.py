"""What the detector observes, how it is counted, and how it travels from the traced process.

An ``Event`` is one hazard as it happened: the rule code, the op that wrote (or the torch function
that raised), the user-code line where it happened and, for an overwritten saved tensor, the op and
line that saved it.  Sites keep absolute paths and the byte columns Python reports; turning them
into findings (paths relative to the project root, character columns, scopes) is the parent's job
(``gradsafe.trace.report``).

The same hazard in every iteration of a training loop is one hazard: ``Event.key`` ignores
everything that varies between iterations (shapes, versions), and ``EventLog`` counts repeats.

Wire format: one JSON object per line in ``events-<pid>.jsonl`` inside the session directory.
``{"process": {...}}`` says a process loaded the detector, ``{"event": {...}, "id": n}`` is the
first occurrence of an event, ``{"counts": {"n": c}}`` carries final counts at exit, and
``{"error": "..."}`` says the detector failed to start (the program still runs, untraced).  Events
are written as they happen, so a process that dies abruptly still reports what it saw; only
counts above one need the clean exit.

This module is loaded inside traced processes under a private name; it uses the stdlib only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# The codes of the rules the detector reports, by each rule's stable name.  The runtime cannot import
# the catalogue (``gradsafe.rules``), so this is the one copy: ``tests/rules/test_rule_checks.py`` checks
# every entry against the catalogue, so a code or name changed there fails the suite here.
RULE_CODES = {
    "saved-result-overwritten": "GS101",
    "saved-input-overwritten": "GS102",
    "leaf-mutated": "GS201",
    "leaf-view-mutated": "GS202",
    "multi-output-view-mutated": "GS301",
    "out-argument-with-grad": "GS302",
    "no-grad-view-mutated-with-grad": "GS303",
    "expanded-view-mutated": "GS304",
    "transformed-function-mutates-captured-tensor": "GS731",
    "data-write-to-saved": "GS401",
    "detach-alias-write-to-saved": "GS402",
    "version-counter-bypass": "GS603",
}
SAVED_RESULT = RULE_CODES["saved-result-overwritten"]
SAVED_INPUT = RULE_CODES["saved-input-overwritten"]
LEAF = RULE_CODES["leaf-mutated"]
LEAF_VIEW = RULE_CODES["leaf-view-mutated"]
MULTI_OUTPUT_VIEW = RULE_CODES["multi-output-view-mutated"]
OUT_WITH_GRAD = RULE_CODES["out-argument-with-grad"]
NO_GRAD_VIEW = RULE_CODES["no-grad-view-mutated-with-grad"]
EXPANDED_VIEW = RULE_CODES["expanded-view-mutated"]
TRANSFORM_CAPTURED = RULE_CODES["transformed-function-mutates-captured-tensor"]
DATA_WRITE = RULE_CODES["data-write-to-saved"]
DETACH_WRITE = RULE_CODES["detach-alias-write-to-saved"]
UNSEEN_WRITE = RULE_CODES["version-counter-bypass"]  # bytes changed with no torch op (``--checksum-saved``)

# Codes whose events name the op and line that saved the overwritten tensor.
OVERWRITES = frozenset({SAVED_RESULT, SAVED_INPUT, DATA_WRITE, DETACH_WRITE, UNSEEN_WRITE})


@dataclass(frozen=True)
class Site:
    """A place in the source: the absolute path Python reported and the position being executed.

    Columns are UTF-8 byte offsets (``code.co_positions()``, like ``ast``), ``None`` where the
    interpreter does not know them.
    """

    path: str
    line: int
    col: int | None = None
    end_line: int | None = None
    end_col: int | None = None

    def relative_to(self, root: str | Path) -> str:
        """The path as reports show it: relative to ``root`` with forward slashes when inside it."""
        try:
            return Path(self.path).resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            return Path(self.path).as_posix()

    def label(self, root: str | Path) -> str:
        return f"{self.relative_to(root)}:{self.line}"


@dataclass(frozen=True)
class Event:
    code: str
    op: str  # the aten op that wrote ("mul_"), or the torch function that raised ("add_")
    site: Site | None  # innermost user-code frame at the write; None if no frame is user code
    tensor: str  # "float32[64, 256]": what was written
    name: str | None = None  # what the source calls it ("s" in "s.mul_(2)"), when it says plainly
    saved_by: str | None = None  # the op that saved the overwritten tensor (GS1xx, GS4xx)
    saved_at: Site | None = None
    via: str | None = None  # the torch module the write ran in, when that is not user code ("ReLU")
    detail: str | None = None  # torch's own message, for hazards torch raises at the call
    # The user-code frames that led to ``site``, innermost first: for a write inside a helper,
    # the call sites a fix may have to change (``h = scale_(h)``).
    callers: tuple[Site, ...] = ()

    @property
    def key(self) -> tuple[Any, ...]:
        """Identity across iterations: the rule, where the tensor was saved, where it was written."""
        saved = (self.saved_at.path, self.saved_at.line) if self.saved_at else None
        site = (self.site.path, self.site.line, self.site.col) if self.site else None
        return (self.code, saved, site)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        fields = dict(data)
        for name in ("site", "saved_at"):
            if fields.get(name) is not None:
                fields[name] = Site(**fields[name])
        fields["callers"] = tuple(Site(**caller) for caller in fields.get("callers", ()))
        return cls(**fields)


def message(event: Event, root: str | Path) -> str:
    """The human sentence for ``event``, with paths relative to ``root``.

    Both lines are always given for overwrites ("`s` saved by `sigmoid` at model.py:41,
    overwritten by `mul_` at model.py:57"), since the write and the save are often in different
    functions or files.
    """
    what = f"`{event.name}`" if event.name else f"a {event.tensor} tensor"
    where = event.site.label(root) if event.site else "an unknown line"
    by = f"`{event.op}`" + (f" (in `{event.via}`)" if event.via else "")
    if event.code == UNSEEN_WRITE:
        saved = event.saved_at.label(root) if event.saved_at else "an unknown line"
        return (f"{what} saved by `{event.saved_by}` at {saved} changed before backward used it, written by "
                "no torch op (a NumPy view, `torch.from_numpy`, raw storage): autograd's version counter "
                "did not see it, so backward silently used the new values")
    if event.code in OVERWRITES:
        saved = f"saved by `{event.saved_by}` at {event.saved_at.label(root) if event.saved_at else 'an unknown line'}"
        if event.code == SAVED_INPUT:
            saved += " as an input"
        through = {DATA_WRITE: " through `.data`", DETACH_WRITE: " through a `.detach()` alias"}.get(event.code, "")
        consequence = {
            DATA_WRITE: ": backward will silently use the new values",
            DETACH_WRITE: ": backward will fail",
        }.get(event.code, "")
        return f"{what} {saved}, overwritten{through} by {by} at {where}{consequence}"
    if event.code == OUT_WITH_GRAD:
        return f"{by} writes its result into {what} (`out=`) while an argument requires grad, at {where}"
    subject = {
        LEAF: f"{what} is a leaf that requires grad",
        LEAF_VIEW: f"{what} is a view of a leaf that requires grad",
        MULTI_OUTPUT_VIEW: f"{what} is an output of unbind/split/chunk",
        NO_GRAD_VIEW: f"{what} is a view made under no_grad, written with grad mode on",
    }.get(event.code, what)
    return f"{subject}, modified in place by {by} at {where}"


@dataclass
class EventLog:
    """Distinct events in the order first seen, with how often each happened."""

    counts: dict[tuple[Any, ...], int] = field(default_factory=dict)
    events: dict[tuple[Any, ...], Event] = field(default_factory=dict)

    def record(self, event: Event) -> int:
        """Count one occurrence; returns the count so far (1 means first seen)."""
        key = event.key
        count = self.counts.get(key, 0) + 1
        self.counts[key] = count
        self.events.setdefault(key, event)
        return count

    def items(self) -> list[tuple[Event, int]]:
        return [(event, self.counts[key]) for key, event in self.events.items()]

    def clear(self) -> None:
        self.counts.clear()
        self.events.clear()


class EventWriter:
    """Appends this process's records to ``<session>/events-<pid>.jsonl``, flushing every line."""

    def __init__(self, session: str | Path) -> None:
        self._session = Path(session)
        self._file: Any = None
        self._ids: dict[tuple[Any, ...], int] = {}

    def _write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            path = self._session / f"events-{os.getpid()}.jsonl"
            self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the process
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def process(self, info: dict[str, Any]) -> None:
        self._write({"process": info})

    def error(self, text: str) -> None:
        self._write({"error": text})

    def event(self, event: Event) -> None:
        ident = self._ids.setdefault(event.key, len(self._ids))
        self._write({"event": event.to_json(), "id": ident})

    def counts(self, log: EventLog) -> None:
        repeated = {str(self._ids[key]): n for key, n in log.counts.items() if n > 1 and key in self._ids}
        if repeated:
            self._write({"counts": repeated})

    def forget(self) -> None:
        """After ``fork``: the child writes its own file and reports only what it sees itself."""
        self._file = None
        self._ids.clear()


@dataclass
class SessionRecords:
    """Everything the processes of one traced run wrote."""

    events: list[tuple[Event, int]]
    processes: list[dict[str, Any]]
    errors: list[str]


def merge(observed: Iterable[tuple[Event, int]]) -> list[tuple[Event, int]]:
    """One entry per distinct event (``Event.key``), counts added up, in the order first seen."""
    totals: dict[tuple[Any, ...], int] = {}
    first: dict[tuple[Any, ...], Event] = {}
    for event, count in observed:
        first.setdefault(event.key, event)
        totals[event.key] = totals.get(event.key, 0) + count
    return [(event, totals[key]) for key, event in first.items()]


def read_session(session: str | Path) -> SessionRecords:
    """Merge the records of every process; an event seen by several processes adds up its counts."""
    observed: list[tuple[Event, int]] = []
    processes: list[dict[str, Any]] = []
    errors: list[str] = []
    for path in sorted(Path(session).glob("events-*.jsonl")):
        by_id: dict[int, Event] = {}
        counts: dict[int, int] = {}
        for record in _records(path):
            if "process" in record:
                processes.append(record["process"])
            elif "error" in record:
                errors.append(record["error"])
            elif "event" in record:
                by_id[record["id"]] = Event.from_json(record["event"])
            elif "counts" in record:
                counts.update({int(k): v for k, v in record["counts"].items()})
        observed += [(event, counts.get(ident, 1)) for ident, event in by_id.items()]
    return SessionRecords(merge(observed), processes, errors)


def _records(path: Path) -> Iterator[dict[str, Any]]:
    """The complete lines of one file (a process killed mid-write leaves a partial last line)."""
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


def describe_tensor(dtype: str, shape: Iterable[int]) -> str:
    """``float32[3, 4]`` from ``torch.float32`` and ``(3, 4)``."""
    return f"{dtype.removeprefix('torch.')}[{', '.join(str(n) for n in shape)}]"
