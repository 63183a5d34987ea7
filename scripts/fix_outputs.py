"""Does a ``fix --no-verify`` edit change what a model computes?  Forward + backward before and after.

    python scripts/fix_outputs.py BEFORE_ROOT AFTER_ROOT PATH [PATH ...]

For each edited file (PATH, relative to both roots) and each ``nn.Module`` class of that file whose
source lines hold an edit, a fresh interpreter (one per root, so the two copies never mix) imports
the module, builds the class with its defaults under one seed, in float64, feeds it a random input
of a shape read off its first layer (``Conv2d(C, ...)`` -> ``(2, C, 16, 16)``, ``Linear(F, ...)``
-> ``(2, F)``, ...), runs forward and backward in training mode, and saves the outputs, the input's
gradient and every parameter's gradient.  The two runs must agree (``torch.allclose``, rtol 1e-9).

Whatever cannot be checked is said with its reason: a file that runs code at import (a training
script), a module that does not import, a class that needs constructor arguments, no input shape
to infer, a forward that takes more than one input, an edit outside any module class.
``scripts/ecosystem.py`` runs this on every file its ``fix --no-verify`` changed.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence

PROBE_TIMEOUT = 300  # seconds for one import-build-run of one file under one root

# The probe, run as `python -c PROBE ROOT RELPATH CLASSES_JSON OUT`: it imports the file from ROOT,
# and writes to OUT (torch.save) {class: {"skip": reason} | {"tensors": {name: tensor}}}.
PROBE = r'''
import json, os, sys
root, relpath, classes, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
import importlib, inspect
import torch
from torch import nn
path = os.path.join(root, relpath)
folder = os.path.dirname(path)
parts = [os.path.splitext(os.path.basename(path))[0]]
while os.path.exists(os.path.join(folder, "__init__.py")):
    parts.insert(0, os.path.basename(folder))
    folder = os.path.dirname(folder)
sys.path.insert(0, folder)
sys.argv = ["probe"]
results = {}
try:
    module = importlib.import_module(".".join(parts))
except BaseException as exc:
    torch.save({"__file__": {"skip": f"does not import: {type(exc).__name__}: {str(exc)[:120]}"}}, out)
    raise SystemExit(0)

def input_shape(model):
    for layer in model.modules():
        if isinstance(layer, nn.Conv2d): return (2, layer.in_channels, 16, 16)
        if isinstance(layer, nn.Conv1d): return (2, layer.in_channels, 32)
        if isinstance(layer, nn.Conv3d): return (2, layer.in_channels, 6, 6, 6)
        if isinstance(layer, nn.BatchNorm2d): return (2, layer.num_features, 16, 16)
        if isinstance(layer, nn.BatchNorm1d): return (2, layer.num_features)
        if isinstance(layer, nn.Linear): return (2, layer.in_features)
        if isinstance(layer, nn.LayerNorm): return (2, 5, *layer.normalized_shape)
    return None

def tensors_of(value, prefix, found):
    if isinstance(value, torch.Tensor):
        found[prefix] = value
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value): tensors_of(v, f"{prefix}[{i}]", found)
    elif isinstance(value, dict):
        for k, v in value.items(): tensors_of(v, f"{prefix}[{k!r}]", found)
    return found

torch.set_default_dtype(torch.float64)
for name in classes:
    cls = getattr(module, name, None)
    if not (inspect.isclass(cls) and issubclass(cls, nn.Module)):
        results[name] = {"skip": "not an nn.Module class at module level"}
        continue
    try:
        torch.manual_seed(0)
        model = cls().double().train()
    except BaseException as exc:
        results[name] = {"skip": f"does not build with its defaults: {type(exc).__name__}: {str(exc)[:100]}"}
        continue
    required = [p for p in inspect.signature(model.forward).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(required) != 1:
        results[name] = {"skip": f"forward takes {len(required)} required inputs"}
        continue
    shape = input_shape(model)
    if shape is None:
        results[name] = {"skip": "no input shape to infer from its layers"}
        continue
    try:
        torch.manual_seed(1)
        x = torch.randn(shape, requires_grad=True)
        outputs = tensors_of(model(x), "out", {})
        loss = sum((t * torch.linspace(0.5, 1.5, t.numel()).view_as(t)).sum()
                   for t in outputs.values() if t.is_floating_point() and t.requires_grad)
        if isinstance(loss, torch.Tensor):
            loss.backward()
        saved = {k: v.detach().clone() for k, v in outputs.items()}
        if x.grad is not None: saved["input.grad"] = x.grad
        for pname, p in model.named_parameters():
            if p.grad is not None: saved[f"{pname}.grad"] = p.grad
        results[name] = {"tensors": saved, "shape": list(shape)}
    except BaseException as exc:
        results[name] = {"error": f"{type(exc).__name__}: {str(exc)[:160]}"}
torch.save(results, out)
'''


@dataclass(frozen=True)
class OutputCheck:
    """One class (or file) of an edited file: ``status`` is same / fixed (the original fails, the rewrite
    runs) / different / skipped / error."""

    path: str
    target: str  # a class name, or "<file>"
    status: str
    detail: str = ""


def edited_lines(before: str, after: str) -> set[int]:
    """Lines of ``after`` that differ from ``before`` (and the line where a deletion happened)."""
    import difflib

    lines: set[int] = set()
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    for tag, _, _, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            lines.update(range(j1 + 1, max(j2, j1 + 1) + 1))
    return lines


def runs_code_at_import(tree: ast.Module) -> bool:
    """Anything at module level besides imports, definitions, assignments and a ``__main__`` guard."""
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                             ast.Assign, ast.AnnAssign, ast.Pass)):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        if isinstance(stmt, ast.If) and "__name__" in ast.unparse(stmt.test):
            continue
        if isinstance(stmt, ast.Try):  # `try: import x except ImportError: ...`
            continue
        return True
    return False


def touched_classes(tree: ast.Module, lines: set[int]) -> tuple[list[str], bool]:
    """Module-level classes holding an edited line; and whether some edit is outside every class."""
    names: list[str] = []
    covered: set[int] = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.ClassDef):
            span = set(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
            if span & lines:
                names.append(stmt.name)
                covered |= span & lines
    return names, bool(lines - covered)


def _probe(root: Path, path: str, classes: list[str], out: Path) -> dict[str, object] | str:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", CUDA_VISIBLE_DEVICES="")
    try:
        completed = subprocess.run([sys.executable, "-c", PROBE, str(root.resolve()), path, json.dumps(classes), str(out)],
                                   capture_output=True, text=True, timeout=PROBE_TIMEOUT, env=env, cwd=str(root))
    except subprocess.TimeoutExpired:
        return f"timed out after {PROBE_TIMEOUT} s"
    if completed.returncode != 0 or not out.exists():
        return f"probe exit {completed.returncode}: {completed.stderr.strip()[-200:]}"
    import torch

    loaded: dict[str, object] = torch.load(out, weights_only=False)
    return loaded


def _compare(a: dict[str, object], b: dict[str, object]) -> tuple[str, str]:
    import torch

    if "error" in a and "tensors" in b:
        return "fixed", f"before: {a['error']}; the rewrite runs"
    if "tensors" not in a or "tensors" not in b:
        for side, r in (("before", a), ("after", b)):
            if "error" in r:
                return "error", f"{side}: {r['error']}"
        return "skipped", str(a.get("skip") or b.get("skip"))
    ta, tb = a["tensors"], b["tensors"]
    assert isinstance(ta, dict) and isinstance(tb, dict)
    if ta.keys() != tb.keys():
        return "different", f"outputs/gradients differ in kind: {sorted(set(ta) ^ set(tb))[:4]}"
    for key in ta:
        x, y = ta[key], tb[key]
        if x.shape != y.shape or x.dtype != y.dtype or not torch.allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True):
            return "different", f"{key} differs"
    return "same", f"input {a.get('shape')}: {len(ta)} outputs and gradients agree"


def check_files(before_root: Path, after_root: Path, paths: Sequence[str]) -> list[OutputCheck]:
    checks: list[OutputCheck] = []
    for path in paths:
        before_text = (before_root / path).read_text(encoding="utf-8", errors="replace")
        after_text = (after_root / path).read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(after_text)
        except SyntaxError as exc:
            checks.append(OutputCheck(path, "<file>", "error", f"does not parse: {exc}"))
            continue
        classes, outside = touched_classes(tree, edited_lines(before_text, after_text))
        if outside:
            checks.append(OutputCheck(path, "<file>", "skipped", "an edit outside any module-level class"))
        if not classes:
            continue
        if runs_code_at_import(tree):
            checks.extend(OutputCheck(path, c, "skipped", "the file runs code at import (a script)") for c in classes)
            continue
        with tempfile.TemporaryDirectory(prefix="gradsafe-outputs-") as temporary:
            a = _probe(before_root, path, classes, Path(temporary) / "before.pt")
            b = _probe(after_root, path, classes, Path(temporary) / "after.pt")
        if isinstance(a, str) or isinstance(b, str):
            checks.extend(OutputCheck(path, c, "error", a if isinstance(a, str) else str(b)) for c in classes)
            continue
        if "__file__" in a or "__file__" in b:
            reason = (a.get("__file__") or b.get("__file__") or {})
            detail = reason.get("skip", "") if isinstance(reason, dict) else ""
            checks.extend(OutputCheck(path, c, "skipped", str(detail)) for c in classes)
            continue
        for c in classes:
            ra, rb = a.get(c), b.get(c)
            if not isinstance(ra, dict) or not isinstance(rb, dict):
                checks.append(OutputCheck(path, c, "error", "no result"))
                continue
            status, detail = _compare(ra, rb)
            checks.append(OutputCheck(path, c, status, detail))
    return checks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    checks = check_files(args.before, args.after, args.paths)
    for c in checks:
        print(f"{c.status:9} {c.path}::{c.target}  {c.detail}")
    return 1 if any(c.status == "different" for c in checks) else 0


if __name__ == "__main__":
    raise SystemExit(main())
