"""Loading, running, comparing and recording the real-world cases (see README.md beside this file).

    python tests/realworld/kit.py record CASE_ID...   # write expected/CASE_ID.json
    python tests/realworld/kit.py check [CASE_ID...]  # is each case honest under torch?
    python tests/realworld/kit.py list                # every case: id, group, kind, expect

Imports torch only when a case is run: listing and reading metadata are static (``ast``).  The
product's side (``scratch_copy``, ``gradsafe``, ``judge_rewrite``) is shared by
``tests/realworld/test_product.py`` and ``bench/realworld.py``: copy a case somewhere private, run a
gradsafe command on the copy, and say what the command did to it.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Callable, Iterator, Mapping

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
REFERENCE = HERE / "reference"
EXPECTED = HERE / "expected"
KINDS = {"hazard": {"raises", "silent"}, "safe": {"runs"}}
REQUIRED = ("kind", "group", "mechanism", "expect", "report")


@dataclass(frozen=True)
class Case:
    id: str
    path: Path  # the case file, or the folder of a case that spans files
    meta: Mapping[str, str]

    @property
    def entry(self) -> Path:
        """The file that defines ``CASE`` and ``run()``."""
        return self.path / "main.py" if self.path.is_dir() else self.path

    @property
    def root(self) -> Path:
        """The project root the case runs in: its folder, or the group folder of a single file."""
        return self.path if self.path.is_dir() else self.path.parent

    @property
    def group(self) -> str:
        return self.path.parent.name

    @property
    def kind(self) -> str:
        return self.meta["kind"]

    @property
    def expect(self) -> str:
        return self.meta["expect"]

    @property
    def reference(self) -> Path:
        """The correct program: ``reference/<id>.py``, or ``reference/<id>/main.py`` for a folder."""
        folder = REFERENCE / self.id
        return folder / "main.py" if folder.is_dir() else REFERENCE / f"{self.id}.py"

    @property
    def reference_root(self) -> Path:
        """Where the reference's sibling modules are imported from (the case's own, unless it has a folder)."""
        return self.reference.parent if (REFERENCE / self.id).is_dir() else self.root

    @property
    def expected(self) -> Path:
        return EXPECTED / f"{self.id}.json"


def read_meta(entry: Path) -> dict[str, str]:
    """The ``CASE = {...}`` literal of a case file, read without running it."""
    tree = ast.parse(entry.read_text(encoding="utf-8"), str(entry))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "CASE" for t in node.targets):
            meta = ast.literal_eval(node.value)
            break
    else:
        raise ValueError(f"{entry}: no CASE = {{...}} at module level")
    missing = [key for key in REQUIRED if key not in meta]
    if missing:
        raise ValueError(f"{entry}: CASE lacks {', '.join(missing)}")
    if meta["expect"] not in KINDS.get(meta["kind"], ()):
        raise ValueError(f"{entry}: kind {meta['kind']!r} cannot expect {meta['expect']!r}")
    if meta["expect"] == "raises" and not meta.get("error"):
        raise ValueError(f"{entry}: a case that raises names the error")
    return meta


def all_cases() -> list[Case]:
    cases = []
    for group in sorted(p for p in CASES.iterdir() if p.is_dir()):
        for path in sorted(group.iterdir()):
            if path.name.startswith((".", "_")):
                continue
            if path.suffix == ".py" or (path.is_dir() and (path / "main.py").is_file()):
                case = Case(path.stem if path.suffix == ".py" else path.name, path, {})
                cases.append(Case(case.id, path, read_meta(case.entry)))
    ids = [c.id for c in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"case ids used twice: {sorted(duplicates)}")
    return cases


def get_case(case_id: str) -> Case:
    for case in all_cases():
        if case.id == case_id:
            return case
    raise KeyError(case_id)


@contextlib.contextmanager
def _on_path(root: Path) -> Iterator[None]:
    """Import a case's sibling modules from its root, and forget them afterwards."""
    before = set(sys.modules)
    sys.path.insert(0, str(root))
    try:
        yield
    finally:
        sys.path.remove(str(root))
        for name in set(sys.modules) - before:
            module = sys.modules[name]
            if str(getattr(module, "__file__", "") or "").startswith(str(root)):
                del sys.modules[name]


_loaded = 0


def load(entry: Path, root: Path | None = None) -> Any:
    """Import a case or reference file under a fresh private name."""
    global _loaded
    _loaded += 1
    spec = importlib.util.spec_from_file_location(f"_realworld_{entry.stem}_{_loaded}", entry)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with _on_path(root or entry.parent):
        spec.loader.exec_module(module)
    module.__dict__["_gradsafe_root"] = root or entry.parent
    return module


def call(module: Any, name: str = "run") -> dict[str, Any]:
    """Call ``module.name()`` with its folder importable; check it returns named tensors."""
    import torch

    with _on_path(module._gradsafe_root):
        values = getattr(module, name)()
    if not isinstance(values, dict) or not values or not all(isinstance(v, torch.Tensor) for v in values.values()):
        raise TypeError(f"{name}() must return a non-empty dict of tensors, got {type(values).__name__}")
    return {key: value.detach().to(torch.float64).clone() for key, value in values.items()}


def run_case(case: Case, entry: Path | None = None) -> dict[str, Any]:
    """Run a case's program, or a rewritten copy of it at ``entry`` (its folder is the root)."""
    return call(load(entry, entry.parent) if entry else load(case.entry, case.root))


def to_json(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: {"shape": list(v.shape), "values": v.reshape(-1).tolist()} for key, v in sorted(values.items())}


def from_json(data: Mapping[str, Any]) -> dict[str, Any]:
    import torch

    return {
        key: torch.tensor(item["values"], dtype=torch.float64).reshape(item["shape"]) for key, item in data.items()
    }


def read_expected(case: Case) -> dict[str, Any]:
    return from_json(json.loads(case.expected.read_text(encoding="utf-8")))


def differences(
    got: Mapping[str, Any], want: Mapping[str, Any], *, rtol: float = 1e-7, atol: float = 1e-9, names: Any = None
) -> list[str]:
    """What differs between two sets of named tensors, one line each (empty when they agree)."""
    import torch

    problems = []
    for key in sorted(names if names is not None else set(got) | set(want)):
        if key not in got or key not in want:
            problems.append(f"{key}: only in {'the result' if key in got else 'the reference'}")
            continue
        a, b = got[key], want[key]
        if a.shape != b.shape:
            problems.append(f"{key}: shape {tuple(a.shape)} != {tuple(b.shape)}")
        elif not torch.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True):
            problems.append(f"{key}: max |difference| {float((a - b).abs().max()):.3g}")
    return problems


def finite_difference(f: Callable[[], Any], tensor: Any, eps: float = 1e-6) -> Any:
    """d f() / d tensor by central differences, ``tensor`` perturbed in place under ``no_grad``.

    ``f`` recomputes the scalar loss from scratch, reading ``tensor`` (a leaf or a parameter).
    """
    import torch

    grad = torch.zeros_like(tensor, dtype=torch.float64)
    with torch.no_grad():
        flat = tensor.view(-1)
        for i in range(flat.numel()):
            old = flat[i].item()
            flat[i] = old + eps
            up = float(f())
            flat[i] = old - eps
            down = float(f())
            flat[i] = old
            grad.view(-1)[i] = (up - down) / (2 * eps)
    return grad


def record(case: Case) -> Path:
    module = load(case.entry, case.root) if case.kind == "safe" else load(case.reference, case.reference_root)
    values = call(module)
    EXPECTED.mkdir(exist_ok=True)
    case.expected.write_text(json.dumps(to_json(values), indent=1) + "\n", encoding="utf-8")
    return case.expected


ORACLE_RTOL, ORACLE_ATOL = 1e-5, 1e-7  # finite differences in float64 agree to about 1e-9


def check(case: Case) -> list[str]:
    """Why the case is not honest (empty when it is): it must do under torch what it claims."""
    problems: list[str] = []
    if not case.expected.is_file():
        return [f"no recorded values ({case.expected.name}): python tests/realworld/kit.py record {case.id}"]
    expected = read_expected(case)
    original = load(case.entry, case.root)
    try:
        got = call(original)
    except Exception as error:  # the original is user code: any exception is its behaviour
        if case.expect != "raises":
            return [f"the original raises {type(error).__name__}: {error}"]
        if case.meta["error"] not in str(error):
            problems.append(f"the original raises {type(error).__name__}: {error!s:.300}, not {case.meta['error']!r}")
    else:
        if case.expect == "raises":
            problems.append(f"the original runs; it should raise {case.meta['error']!r}")
        elif case.expect == "silent" and not differences(got, expected):
            problems.append("the original computes the recorded (correct) values: it is not silently wrong")
        elif case.expect == "runs":
            problems += [f"the original differs from its record: {p}" for p in differences(got, expected)]
    if case.kind == "hazard":
        if not case.reference.is_file():
            return problems + [f"no reference program ({case.reference.relative_to(HERE)})"]
        reference = load(case.reference, case.reference_root)
        problems += [f"the reference differs from its record: {p}" for p in differences(call(reference), expected)]
        if not hasattr(reference, "oracle"):
            problems.append("the reference has no oracle()")
        else:
            oracle = call(reference, "oracle")
            problems += [
                f"the oracle disagrees with the record: {p}"
                for p in differences(oracle, expected, rtol=ORACLE_RTOL, atol=ORACLE_ATOL, names=set(oracle))
            ]
    return problems


def scratch_copy(case: Case, dest: Path) -> Path:
    """Copy a case under ``dest`` and return the copy's entry file (its folder is the project root).

    A single-file case becomes ``dest/<id>.py``; a case that spans files, ``dest/<id>/`` whole.
    """
    dest.mkdir(parents=True, exist_ok=True)
    if case.path.is_dir():
        shutil.copytree(case.path, dest / case.id, ignore=shutil.ignore_patterns("__pycache__", ".gradsafe_cache"))
        return dest / case.id / "main.py"
    shutil.copy2(case.path, dest / case.path.name)
    return dest / case.path.name


def _sources(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*.py"))
        if "__pycache__" not in path.parts and ".gradsafe_cache" not in path.parts
    }


def changed_files(case: Case, entry: Path) -> list[str]:
    """The files of the copy at ``entry`` that differ from the case's own (relative paths)."""
    if case.path.is_dir():
        before, after = _sources(case.path), _sources(entry.parent)
        return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
    return [] if entry.read_bytes() == case.path.read_bytes() else [entry.name]


def gradsafe(
    args: list[str], cwd: Path, *, timeout: float = 600, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m gradsafe ARGS`` in ``cwd`` with this interpreter; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "gradsafe", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


FIXED, UNCHANGED, STILL_RAISES, STILL_WRONG, WRONG = "fixed", "unchanged", "still raises", "still wrong", "wrong"


@dataclass(frozen=True)
class Verdict:
    """What a rewrite did to a case: ``status`` is FIXED, UNCHANGED, STILL_RAISES, STILL_WRONG or WRONG."""

    status: str
    detail: str = ""


def judge_rewrite(case: Case, entry: Path) -> Verdict:
    """Run the (possibly rewritten) copy at ``entry`` and compare it with the recorded values.

    Unchanged copies are not run.  A changed copy is FIXED when it computes the recorded values,
    STILL_RAISES when a case that raises still raises its own error, STILL_WRONG when a silently
    wrong case still computes exactly what the original computes (neither is fixed, neither made
    worse), and WRONG otherwise: it computes other values, or raises anything else.
    """
    changed = changed_files(case, entry)
    if not changed:
        return Verdict(UNCHANGED)
    try:
        got = run_case(case, entry=entry)
    except Exception as error:  # the rewritten user code: any exception is its behaviour
        message = f"{type(error).__name__}: {error!s:.300}"
        if case.expect == "raises" and case.meta["error"] in str(error):
            return Verdict(STILL_RAISES, message)
        return Verdict(WRONG, f"the rewrite raises {message}")
    problems = differences(got, read_expected(case))
    if problems and case.expect == "silent" and not differences(got, run_case(case)):
        return Verdict(STILL_WRONG, "the rewrite computes what the original computes: " + "; ".join(problems))
    if problems:
        return Verdict(WRONG, "the rewrite computes other values: " + "; ".join(problems))
    return Verdict(FIXED, ", ".join(changed))


def main(argv: list[str]) -> int:
    if argv[:1] == ["check"]:
        cases = [get_case(i) for i in argv[1:]] if argv[1:] else all_cases()
        failed = 0
        for case in cases:
            problems = check(case)
            failed += bool(problems)
            print(f"{'ok  ' if not problems else 'FAIL'} {case.id}")
            for problem in problems:
                print(f"       {problem}")
        return 1 if failed else 0
    if argv[:1] == ["list"]:
        for case in all_cases():
            print(f"{case.id:60} {case.group:22} {case.kind:7} {case.expect}")
        return 0
    if argv[:1] == ["record"] and argv[1:]:
        for case_id in argv[1:]:
            print(record(get_case(case_id)))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
