"""The result cache: each file's check results, stored under a hash of everything they depend on.

A warm re-run over an unchanged tree analyses nothing: for each file it reads the bytes, hashes
them and loads the stored findings.  ``diff`` and ``fix`` use the same entries, so only the
files that have findings are parsed at all (and then only they go to LibCST).

**Key.**  A file's findings are a function of four things, and the key is a hash of all four:

* gradsafe itself: its version and a digest of its own code and data, the op table among them
  (``tool_fingerprint``), so a release, a regenerated op table or an edited development checkout
  never sees results of another;
* the settings that decide the file's findings: the policy, the rule codes active for its path
  (selection and per-file ignores) and the sites ``gradsafe trace --fix`` confirmed in it
  (``Settings.findings_key``);
* the file's content hash.

The path is not part of the key (a copied file hits), so stored errors get the path they are
read for.  Internal errors (E001) are never stored: they may not happen next time.

**Layout.**  ``<project root>/.gradsafe_cache/`` (``$GRADSAFE_CACHE_DIR`` to put it elsewhere,
a CI cache directory for instance) holds a ``.gitignore`` that ignores the directory itself, a
``CACHEDIR.TAG`` (backup tools skip it), and one small JSON file per entry under a 256-way
fan-out: ``v1/ab/cdef....json``.  Deleting the directory is always safe.

**Concurrency.**  An entry is never modified: it is written to a temporary file in its directory
and renamed into place (atomic on POSIX and Windows), and two processes storing one key store the
same bytes.  So the pool's workers and concurrent CI jobs can share a cache, and a reader sees a
whole entry or none.

**Unchanged files are not even read.**  Hashing every file costs a warm run more than anything
else, so the cache also keeps a *file index* (``v1/files.json``, git's index idea): for each file
its size, modification and change times and inode number when it was hashed, and the digest.  A
file whose ``stat`` still shows exactly those is known to have that digest without reading it.  An
edit changes the modification time (and always the change time, which no tool can set back), so
it is read and hashed again.  A file hashed less than ``RACY_SECONDS`` after its last
modification is not indexed: a second edit within the same timestamp tick could otherwise leave
its ``stat`` unchanged.

**Never an error.**  An entry that cannot be read or decoded is a miss; a cache that cannot be
written (read-only checkout, full disk) stores nothing.  The cache only ever makes a run faster.

**Why JSON.**  Unpickling runs code, and a cache directory can arrive with a checkout or a CI
cache restore: a static checker must not execute what it reads.  The JSON codec below round-trips
exactly the types findings hold (fix parameters included), and a result holding anything else is
simply not stored.  One file per entry was measured against one SQLite file: loading the 2,285
entries of the torch corpus takes 17 ms against 11 ms, without SQLite's locking between writers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from gradsafe import __version__
from gradsafe.settings.config import Settings
from gradsafe.errors import FileError
import gradsafe.transforms.params  # noqa: F401  (registers the fix parameter classes it rebuilds)
from gradsafe.findings import Applicability, Confidence, Finding, Fix, FixKind, FixSafety, Related, Span
from gradsafe.results import FileResult
from gradsafe.files.loading import read_bytes
from gradsafe.rules import INTERNAL_ERROR

DIRECTORY_NAME = ".gradsafe_cache"
DIRECTORY_ENV = "GRADSAFE_CACHE_DIR"
FORMAT = "v1"  # bumped when the entry format changes; older entries are then never read

def _code_folders() -> tuple[Path, ...]:
    """The folders of gradsafe's code and data: the engine (``gradsafe``) and the passes.

    In a wheel the passes sit inside the engine's folder; in a source checkout (editable install)
    they are the separate ``transforms/`` folder.  A folder inside another is not listed twice.
    """
    import importlib.util

    engine = Path(__file__).resolve().parent.parent
    spec = importlib.util.find_spec("gradsafe.transforms")
    passes = [Path(p).resolve() for p in (spec.submodule_search_locations or [])] if spec else []
    return (engine, *(p for p in passes if engine not in p.parents))


_PACKAGES = _code_folders()
_GITIGNORE = "# Created by gradsafe: this directory is a cache, safe to delete.\n*\n"
# https://bford.info/cachedir/
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by gradsafe.\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n"
)


def tool_fingerprint(package: Path | tuple[Path, ...] = _PACKAGES, version: str = __version__) -> str:
    """A digest of gradsafe's version and of every code and data file of its folders (``package``)."""
    digest = hashlib.blake2b(version.encode(), digest_size=16)
    for index, folder in enumerate((package,) if isinstance(package, Path) else package):
        files = sorted(p for p in folder.rglob("*") if p.suffix in (".py", ".json") and "__pycache__" not in p.parts)
        for path in files:
            data = path.read_bytes()
            digest.update(f"\0{index}\0{path.relative_to(folder).as_posix()}\0{len(data)}\0".encode())
            digest.update(data)
    return digest.hexdigest()


def default_directory(root: Path) -> Path:
    """``$GRADSAFE_CACHE_DIR`` (``~`` expanded: CI files set it without a shell), else ``.gradsafe_cache`` in ``root``."""
    configured = os.environ.get(DIRECTORY_ENV)
    return Path(configured).expanduser() if configured else root / DIRECTORY_NAME


class ResultCache:
    """Check results by content, settings and gradsafe version, in ``directory``.  Picklable (workers get a copy)."""

    def __init__(self, directory: Path, tool: str | None = None) -> None:
        self.directory = directory
        self.tool = tool if tool is not None else tool_fingerprint()
        self._entries = os.path.join(directory, FORMAT)

    @classmethod
    def for_settings(cls, settings: Settings) -> ResultCache:
        """The cache of the project ``settings`` belong to."""
        return cls(default_directory(settings.root))

    def key(self, digest: str, path: Path, settings: Settings) -> str:
        """The key of the results for content ``digest`` at ``path`` under ``settings``."""
        text = f"{self.tool}\0{settings.findings_key(path)}\0{digest}"
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    def entry(self, key: str) -> str:
        """The file of ``key``'s entry (a string, not a ``Path``: this is on the path of every lookup)."""
        return os.path.join(self._entries, key[:2], f"{key[2:]}.json")

    def load(self, digest: str, path: Path, display: str, settings: Settings) -> FileResult | None:
        """The stored check results for this content, named ``display``; None when there are none."""
        try:
            data = read_bytes(self.entry(self.key(digest, path, settings)))  # a planted FIFO cannot block it
            return _decode(json.loads(data), display)
        except Exception:  # missing, unreadable, truncated, not JSON, not an entry: all mean "not cached"
            return None

    def store(self, digest: str, path: Path, settings: Settings, result: FileResult) -> None:
        """Store ``check_source``'s result for this content, unless it holds an internal error or an unknown type."""
        if any(error.code == INTERNAL_ERROR for error in result.errors):
            return
        try:
            data = json.dumps(_encode(result), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        except TypeError:
            return
        entry = Path(self.entry(self.key(digest, path, settings)))
        with contextlib.suppress(OSError):
            if not entry.parent.is_dir():
                self._create(entry.parent)
            _write_atomically(entry, data)

    def _create(self, directory: Path) -> None:
        """Make the entries' ``directory``, and the markers of the cache's own directory if they are missing."""
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in ((".gitignore", _GITIGNORE), ("CACHEDIR.TAG", _CACHEDIR_TAG)):
            marker = self.directory / name
            if not marker.exists():
                _write_atomically(marker, text.encode("utf-8"))


# A file modified this recently when it was hashed is not indexed (coarse file-system clocks tick
# every 2 s; ext4 and APFS in nanoseconds).
RACY_SECONDS = 2.0


class FileIndex:
    """Content digests of files by their ``stat``, so an unchanged file is not read again (see above)."""

    NAME = "files.json"

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory, FORMAT, self.NAME)
        try:
            loaded = json.loads(read_bytes(self.path))
            self.entries: dict[str, list[Any]] = loaded if isinstance(loaded, dict) else {}
        except Exception:  # missing or damaged: start afresh
            self.entries = {}
        self.changed = False

    @staticmethod
    def signature(status: os.stat_result) -> list[int]:
        return [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino]

    def digest(self, path: str, status: os.stat_result) -> str | None:
        """The digest of the file at ``path`` (absolute) if its ``status`` is the one indexed with it."""
        entry = self.entries.get(path)
        if isinstance(entry, list) and len(entry) == 5 and entry[:4] == self.signature(status):
            return entry[4]
        return None

    def record(self, path: str, status: os.stat_result, digest: str, now_ns: int) -> None:
        """Index ``digest`` for ``path``, whose ``status`` was taken before it was read."""
        if now_ns - status.st_mtime_ns < RACY_SECONDS * 1e9:
            return
        self.entries[path] = [*self.signature(status), digest]
        self.changed = True

    def save(self) -> None:
        """Write the index back if it changed (atomically; a failure only costs the next run some reads)."""
        if not self.changed:
            return
        data = json.dumps(self.entries, separators=(",", ":")).encode("utf-8")
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(self.path, data)
        self.changed = False


def _write_atomically(path: Path, data: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


# ---------------------------------------------------------------------- the entry format
# {"findings": [finding, ...], "errors": [[code, message, line, col], ...]}
# finding: [code, message, span, confidence, [[span, note], ...], fix | null, unfixable_reason, scope]
# fix: [kind, target span, description, safety, params, applicability]; a span is [line, col, end_line, end_col].
# Fix parameters are tagged where JSON alone would lose the type: {"span": [...]}, {"tuple": [...]},
# {"dict": {...}}; lists, strings, numbers, booleans and null are themselves.


def _encode(result: FileResult) -> dict[str, Any]:
    return {
        "findings": [_encode_finding(f) for f in result.findings],
        "errors": [[e.code, e.message, e.line, e.col] for e in result.errors],
    }


def _decode(data: dict[str, Any], display: str) -> FileResult:
    return FileResult(
        display,
        findings=[_decode_finding(item) for item in data["findings"]],
        errors=[FileError(display, code, message, line, col) for code, message, line, col in data["errors"]],
    )


def _span(span: Span) -> list[int]:
    return [span.line, span.col, span.end_line, span.end_col]


def _encode_finding(finding: Finding) -> list[Any]:
    fix = finding.fix
    return [
        finding.code,
        finding.message,
        _span(finding.span),
        finding.confidence.value,
        [[_span(r.span), r.note] for r in finding.related],
        None
        if fix is None
        else [
            fix.kind.value,
            _span(fix.target),
            fix.description,
            fix.safety.value,
            _encode_value(dict(fix.params)),
            fix.applicability.value,
        ],
        finding.unfixable_reason,
        finding.scope,
    ]


def _decode_finding(item: list[Any]) -> Finding:
    code, message, span, confidence, related, fix, unfixable_reason, scope = item
    return Finding(
        code=code,
        message=message,
        span=Span(*span),
        confidence=Confidence(confidence),
        related=tuple(Related(Span(*r_span), note) for r_span, note in related),
        fix=None
        if fix is None
        else Fix(
            FixKind(fix[0]), Span(*fix[1]), fix[2], FixSafety(fix[3]), _decode_value(fix[4]), Applicability(fix[5])
        ),
        unfixable_reason=unfixable_reason,
        scope=scope,
    )


def _encode_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Span):
        return {"span": _span(value)}
    if isinstance(value, tuple):
        return {"tuple": [_encode_value(v) for v in value]}
    if isinstance(value, list):
        return [_encode_value(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: _encode_value(v) for k, v in value.items()}}
    raise TypeError(f"cannot store a {type(value).__name__} in the cache")


def _decode_value(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode_value(v) for v in value]
    if not isinstance(value, dict):
        return value
    ((tag, inner),) = value.items()
    if tag == "span":
        return Span(*inner)
    if tag == "tuple":
        return tuple(_decode_value(v) for v in inner)
    if tag == "dict":
        return {k: _decode_value(v) for k, v in inner.items()}
    raise ValueError(f"unknown tag {tag!r}")
