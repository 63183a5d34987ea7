"""What an aten op's schema and an autograd node's type say about writes and saves.

Everything here is derived from torch itself (schemas, node attributes) and cached per op or node
type, so the dispatch mode's fast path is one dictionary lookup.
"""

from __future__ import annotations

import re
from typing import Any

import torch

Written = tuple[tuple[int, str], ...]  # (position, name) of each argument an op writes

WRITTEN: dict[Any, Written] = {}  # cache of ``written``, read directly on the dispatch fast path
_LIST_WRITERS: set[Any] = set()
_GENERATED_NODE = re.compile(r"\w+Backward\d+")
_RESULT_SAVERS: dict[tuple[type, Any], bool] = {}


def op_name(op: Any) -> str:
    """``aten.mul_.Tensor`` -> ``mul_``; ``aten._softmax`` -> ``softmax`` (what users call)."""
    name: str = op.overloadpacket.__name__
    return name[1:] if name.startswith("_") and name[1:2].isalpha() else name


def written(op: Any) -> Written:
    """The arguments ``op``'s schema writes (``Tensor(a!)``): ``self`` of ``mul_``, ``out`` of
    ``add.out``, every list of ``_foreach_add_``; empty for the ops that write nothing."""
    known = WRITTEN.get(op)
    if known is None:
        arguments = [
            (position, argument)
            for position, argument in enumerate(op._schema.arguments)
            if argument.alias_info is not None and argument.alias_info.is_write
        ]
        if any(isinstance(argument.type, torch.ListType) for _, argument in arguments):
            _LIST_WRITERS.add(op)
        known = WRITTEN[op] = tuple((position, argument.name) for position, argument in arguments)
    return known


def writes_lists(op: Any) -> bool:
    """Whether ``op`` writes lists of tensors (the in-place foreach ops); ``written`` must have
    seen ``op`` first."""
    return op in _LIST_WRITERS


def writes_first_argument(op: Any) -> bool:
    """``relu_``, ``mul_``: in-place ops proper, as opposed to ``out=`` variants and functional ops
    that update a buffer."""
    arguments = written(op)
    return op_name(op).endswith("_") and bool(arguments) and arguments[0][0] == 0


def saves_result(node_type: type, op: Any) -> bool:
    """Whether a graph node of this type keeps a result of ``op`` (``SigmoidBackward0`` keeps
    ``result``; ``LinalgEighBackward0`` keeps ``eigenvectors``, a named return of its op)."""
    known = _RESULT_SAVERS.get((node_type, op))
    if known is None:
        returns = op._schema.returns
        names = {"result", *(f"result{i}" for i in range(len(returns))), *(r.name for r in returns if r.name)}
        saved = {name.removeprefix("_raw_saved_") for name in dir(node_type) if name.startswith("_raw_saved_")}
        known = _RESULT_SAVERS[(node_type, op)] = bool(names & saved)
    return known


def is_generated_node(node_type: type) -> bool:
    """A node of torch's own derivative formulas (``MulBackward0``), as opposed to a C++ custom
    Function or another kind whose saves the detector cannot reason about."""
    return node_type.__module__ == "builtins" and _GENERATED_NODE.fullmatch(node_type.__name__) is not None


def inplace_node_label(op: Any) -> str:
    """The node label torch prints for an in-place op's own node: ``leaky_relu_`` -> ``LeakyRelu``."""
    return "".join(part.capitalize() for part in op_name(op).rstrip("_").split("_"))
