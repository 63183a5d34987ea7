"""Recognising autograd's in-place errors by the stable beginning of their messages.

The messages name nodes ("output 0 of Sigmoid", "Output 0 of Split"), and the names change between
torch versions (2.13 dropped the ``Backward0`` suffix), so matching is on the fixed text around
them.  The kinds differ in *when* they fire, which matters to the verdict: a check that fires at
the in-place call means the original never completed that call with grad enabled, so no caller can
have seen what it would have written.
"""

from __future__ import annotations

import enum
import re


class InplaceError(str, enum.Enum):
    SAVED_TENSOR = "saved-tensor"  # a tensor saved for backward was modified (raised at backward)
    LEAF = "leaf"  # in-place on a leaf that requires grad (at the call)
    LEAF_VIEW = "leaf-view"  # in-place on a view of such a leaf (at the call)
    MULTI_OUTPUT_VIEW = "multi-output-view"  # in-place on an output of unbind/split/chunk
    OUT_ARGUMENT = "out-argument"  # out= with an argument that requires grad (at the call)
    NO_GRAD_VIEW = "no-grad-view"  # a view made under no_grad modified with grad on (at the call)
    INTERNAL_OVERLAP = "internal-overlap"  # in-place on a tensor whose elements share memory (expand; at the call)
    TRANSFORM = "transform"  # torch.func / vmap refuse an in-place write in the transformed function (at the call)

    @property
    def raised_at_call(self) -> bool:
        return self is not InplaceError.SAVED_TENSOR


_PATTERNS: tuple[tuple[InplaceError, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        (
            InplaceError.SAVED_TENSOR,
            r"^one of the variables needed for gradient computation has been modified by an inplace operation",
        ),
        (InplaceError.LEAF, r"^a leaf Variable that requires grad (is being|has been) used in an in-place operation"),
        (
            InplaceError.LEAF_VIEW,
            r"^a view of a leaf Variable that requires grad is being used in an in-place operation",
        ),
        (
            InplaceError.MULTI_OUTPUT_VIEW,
            r"^Output \d+ of \S+ is a view and "
            r"(is being modified inplace|its base or another view of its base has been modified inplace)",
        ),
        (InplaceError.OUT_ARGUMENT, r"functions with out=\.\.\. arguments don't support automatic differentiation"),
        (InplaceError.NO_GRAD_VIEW, r"^A view was created in no_grad mode and is being modified inplace"),
        (
            InplaceError.INTERNAL_OVERLAP,
            r"^unsupported operation: more than one element of the written-to tensor refers to a single memory location",
        ),
        (
            InplaceError.TRANSFORM,
            r"^During a grad \(vjp, jvp, grad, etc\) transform, the function provided attempted to call in-place"
            r"|^vmap: \S+\(self, \*extra_args\) is not possible because"
            r"|^vmap: inplace arithmetic\(self, \*extra_args\) is not possible",
        ),
    )
)


def classify(exception_type: str, message: str) -> InplaceError | None:
    """The in-place error an exception is, or None.  Only ``RuntimeError``s are autograd's."""
    if exception_type != "RuntimeError":
        return None
    for kind, pattern in _PATTERNS:
        if pattern.search(message):
            return kind
    return None
