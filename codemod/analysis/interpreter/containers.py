"""Parameters that hold containers (a list or dict of tensors), not tensors.

``x[i] = ...`` on a list or a dict rebinds a slot and writes no tensor, and ``x = x.clone()`` on
one raises ``AttributeError``.  So before a function's frame assumes a parameter is a tensor (a
module's ``forward`` assumes it of every parameter), this module reads what the signature and
the body say it holds:

* an annotation naming a container: ``List[Tensor]``, ``dict[str, Tensor]``, ``Sequence[...]``,
  ``Optional[Dict[...]]``, ``tuple[Tensor, ...]`` (also spelled as a string);
* usage no tensor allows: a string key (``features["sentence_embedding"]``), a dict or list
  method (``.get(``, ``.items(``, ``.append(``, ...);
* feature-map iteration: ``x[i] = ...`` where ``i`` counts a ``for i in range(...)`` or
  ``enumerate(...)`` loop, in a function that never uses ``x`` itself as a tensor.

The element of an annotated container of tensors is the caller's tensor (writing *into* it is
still a write into the caller's tensor); the element of a container known only from usage is
unknown.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from gradsafe.analysis.context import FunctionNode

_CONTAINERS = frozenset({
    "list", "List", "dict", "Dict", "tuple", "Tuple", "Sequence", "MutableSequence", "Mapping",
    "MutableMapping", "Iterable", "OrderedDict", "DefaultDict", "defaultdict", "set", "Set",
})
# Methods of list/dict that torch.Tensor does not have.
_CONTAINER_METHODS = ("get", "items", "keys", "values", "append", "extend", "update", "setdefault", "pop", "insert")


def _parse(ann: ast.expr) -> ast.expr | None:
    if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
        try:
            return ast.parse(ann.value, mode="eval").body
        except SyntaxError:
            return None
    return ann


def _outer(ann: ast.expr) -> str | None:
    if isinstance(ann, ast.Name):
        return ann.id
    if isinstance(ann, ast.Attribute):
        return ann.attr
    return None


def container_annotation(ann: ast.expr | None) -> tuple[bool, bool]:
    """(is the annotation a container type, are its elements (dict: values) annotated `Tensor`)."""
    from gradsafe.analysis.interpreter.scope import is_tensor_annotation

    if ann is None:
        return False, False
    parsed = _parse(ann)
    if parsed is None:
        return False, False
    if isinstance(parsed, ast.BinOp) and isinstance(parsed.op, ast.BitOr):
        sides = [s for s in (parsed.left, parsed.right) if not (isinstance(s, ast.Constant) and s.value is None)]
        return container_annotation(sides[0]) if len(sides) == 1 else (False, False)
    if isinstance(parsed, ast.Subscript):
        outer = _outer(parsed.value)
        if outer == "Optional":
            return container_annotation(parsed.slice)
        if outer not in _CONTAINERS:
            return False, False
        args = list(parsed.slice.elts) if isinstance(parsed.slice, ast.Tuple) else [parsed.slice]
        if outer in ("dict", "Dict", "Mapping", "MutableMapping", "OrderedDict", "DefaultDict", "defaultdict"):
            args = args[1:]
        args = [a for a in args if not (isinstance(a, ast.Constant) and a.value is Ellipsis)]
        return True, bool(args) and all(is_tensor_annotation(a) for a in args)
    return _outer(parsed) in _CONTAINERS, False


def _loop_counters(node: FunctionNode) -> set[str]:
    """Names that count a loop: ``for i in range(...)``, ``for i, _ in enumerate(...)``."""
    out: set[str] = set()
    for loop in ast.walk(node):
        if not isinstance(loop, (ast.For, ast.AsyncFor)) or not isinstance(loop.iter, ast.Call):
            continue
        func = _outer(loop.iter.func)
        if func == "range" and isinstance(loop.target, ast.Name):
            out.add(loop.target.id)
        elif func == "enumerate" and isinstance(loop.target, ast.Tuple) and loop.target.elts \
                and isinstance(loop.target.elts[0], ast.Name):
            out.add(loop.target.elts[0].id)
    return out


def _slot_written_by_counter(node: FunctionNode, name: str, counters: set[str]) -> bool:
    for stmt in ast.walk(node):
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) \
                        and target.value.id == name and isinstance(target.slice, ast.Name) \
                        and target.slice.id in counters:
                    return True
    return False


def container_params(node: FunctionNode, params: list[str], text: str,
                     tensors: Callable[[], set[str]]) -> dict[str, bool]:
    """The parameters that hold containers, each with whether its elements are known tensors.

    ``text`` is the function's source; ``tensors()`` the parameters with tensor evidence (which
    usage alone never overrides: a tensor indexed by a loop counter is still a tensor)."""
    found: dict[str, bool] = {}
    wanted = set(params)
    for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs:
        if a.arg in wanted:
            is_container, of_tensors = container_annotation(a.annotation)
            if is_container:
                found[a.arg] = of_tensors
    counters: set[str] | None = None
    evidence: set[str] | None = None
    for name in sorted(wanted - set(found)):
        if f"{name}[" not in text and f"{name}." not in text:
            continue
        if evidence is None:
            evidence = tensors()
        if name in evidence:
            continue
        escaped = re.escape(name)
        if re.search(rf"(?<![\w.]){escaped}\s*\[\s*[rbuf]?[\"']", text) or re.search(
                rf"(?<![\w.]){escaped}\.(?:{'|'.join(_CONTAINER_METHODS)})\s*\(", text):
            found[name] = False
            continue
        if f"{name}[" not in text:
            continue
        if counters is None:
            counters = _loop_counters(node)
        if counters and _slot_written_by_counter(node, name, counters):
            found[name] = False
    return found
