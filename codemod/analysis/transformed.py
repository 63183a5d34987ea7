"""Functions of a file that are handed to a function transform: ``torch.func.grad``, ``vjp``, ``vmap``...

A transform runs the function it is given under its own rules for in-place writes, which differ
from eager autograd's (see ``gradsafe.rules.extension_points``):

* the differentiating transforms of ``torch.func`` (``grad``, ``vjp``, ``jacrev``...) wrap the
  differentiated arguments as leaves that require grad, and refuse writes to tensors the function
  captures from outside;
* ``torch.autograd.functional`` (``vjp``, ``jacobian``...) also makes its inputs leaves, and with
  ``create_graph=True`` hands the function differentiable aliases, which a write overwrites silently;
* ``vmap`` refuses to write a batch of values into a tensor that is not batched (a captured tensor,
  a fresh ``torch.zeros(n)``).

The transform is matched at its call by the qualified name of the callee (through the file's
imports), the function by the plain name passed first (``grad(loss_fn)``, ``vmap(features)``).  A
function whose name is also passed to other calls or stored keeps those uses as well: the checks
judge only what every call through the transform does.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from gradsafe.analysis.names import ImportMap

# How each transform treats the function's arguments: which it differentiates ("first": the
# first one, argnums=0 by default; "all": every primal/input; "none": vmap differentiates nothing).
DIFFERENTIATE_FIRST = frozenset({
    "torch.func.grad", "torch.func.grad_and_value", "torch.func.jacrev", "torch.func.jacfwd", "torch.func.hessian",
})
DIFFERENTIATE_ALL = frozenset({"torch.func.vjp", "torch.func.jvp", "torch.func.linearize"})
FUNCTIONAL = frozenset({
    "torch.autograd.functional.vjp", "torch.autograd.functional.jvp", "torch.autograd.functional.jacobian",
    "torch.autograd.functional.hessian", "torch.autograd.functional.vhp", "torch.autograd.functional.hvp",
})
VMAP = frozenset({"torch.func.vmap", "torch.vmap"})
ALIASES = {"functorch.grad": "torch.func.grad", "functorch.vjp": "torch.func.vjp", "functorch.vmap": "torch.func.vmap",
           "functorch.jacrev": "torch.func.jacrev", "functorch.jacfwd": "torch.func.jacfwd"}

# A cheap clue that a file may call a transform at all.
# A transform is reached only through one of these modules (or ``torch.vmap``): a file that names
# none of them hands no function to a transform, and is not walked.
_MENTION = re.compile(r"torch\.func\b|\bfunctorch\b|autograd\.functional|autograd import functional|\bvmap\b|import func\b")


@dataclass(frozen=True)
class TransformUse:
    """One call of a transform on an in-file function."""

    transform: str  # canonical qualname: "torch.func.grad"
    line: int  # where the transform is called
    # Which of the function's parameters the transform differentiates: their positions, or None
    # when the call says otherwise (`argnums=`) and we do not follow it.
    differentiated: tuple[int, ...] | None
    create_graph: bool = False  # torch.autograd.functional with create_graph=True

    @property
    def differentiates(self) -> bool:
        return self.transform not in VMAP

    @property
    def is_vmap(self) -> bool:
        return self.transform in VMAP

    @property
    def is_func(self) -> bool:
        """A ``torch.func`` differentiating transform (not ``torch.autograd.functional``)."""
        return self.transform in DIFFERENTIATE_FIRST or self.transform in DIFFERENTIATE_ALL

    @property
    def short(self) -> str:
        return self.transform.removeprefix("torch.")


def transformed_functions(tree: ast.Module, imports: ImportMap, text: str) -> dict[str, tuple[TransformUse, ...]]:
    """In-file function name -> the transforms it is passed to (first positional argument)."""
    if not _MENTION.search(text):
        return {}
    found: dict[str, list[TransformUse]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args or not isinstance(node.args[0], ast.Name):
            continue
        qualname = imports.resolve(node.func)
        if qualname is None:
            continue
        qualname = ALIASES.get(qualname, qualname)
        use = _use(qualname, node)
        if use is not None:
            found.setdefault(node.args[0].id, []).append(use)
    return {name: tuple(uses) for name, uses in found.items()}


def _use(qualname: str, node: ast.Call) -> TransformUse | None:
    keywords = {k.arg: k.value for k in node.keywords if k.arg is not None}
    if qualname in DIFFERENTIATE_FIRST:
        argnums = keywords.get("argnums")
        if argnums is None:
            return TransformUse(qualname, node.lineno, (0,))
        if isinstance(argnums, ast.Constant) and isinstance(argnums.value, int):
            return TransformUse(qualname, node.lineno, (argnums.value,))
        return TransformUse(qualname, node.lineno, None)
    if qualname in DIFFERENTIATE_ALL or qualname in FUNCTIONAL:
        graph = keywords.get("create_graph")
        create_graph = isinstance(graph, ast.Constant) and graph.value is True
        return TransformUse(qualname, node.lineno, _ALL, create_graph=create_graph)
    if qualname in VMAP:
        return TransformUse(qualname, node.lineno, ())
    return None


# Every parameter (the transform differentiates each primal it is given).
_ALL = tuple(range(64))
