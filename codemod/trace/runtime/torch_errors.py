"""The errors torch raises about in-place ops, read and written exactly as torch 2.13 words them.

Two directions:

* reading: torch raises leaf, view and ``out=`` errors in its autograd kernels, before any op
  reaches a dispatch mode, so the detector learns about them from the exception.  ``classify``
  maps the message to a rule code by its stable prefix.
* writing: installing ``saved_tensors_hooks`` switches off autograd's own check of saved
  tensors' versions (torch skips it whenever hooks are set, since hooks may replace the tensor).
  The detector's unpack hook redoes the check and raises the message torch would have raised,
  so a traced program fails exactly where and how the untraced one does.
"""

from __future__ import annotations

import re

from . import events

_PREFIXES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), code)
    for pattern, code in (
        (r"a leaf Variable that requires grad (is being|has been) used in an in-place operation", events.LEAF),
        (r"a view of a leaf Variable that requires grad is being used in an in-place operation", events.LEAF_VIEW),
        (
            r"Output \d+ of \S+ is a view and .* output of a function that returns multiple views",
            events.MULTI_OUTPUT_VIEW,
        ),
        (r"\S+\(\): functions with out=\.\.\. arguments don't support automatic differentiation", events.OUT_WITH_GRAD),
        (
            r"A view was created in no_grad mode and is being modified inplace with grad mode enabled",
            events.NO_GRAD_VIEW,
        ),
        (
            r"unsupported operation: more than one element of the written-to tensor refers to a single memory location",
            events.EXPANDED_VIEW,
        ),
        (
            r"During a grad \(vjp, jvp, grad, etc\) transform, the function provided attempted to call in-place "
            r"operation \(\S+\) that would mutate a captured Tensor",
            events.TRANSFORM_CAPTURED,
        ),
    )
)


def classify(message: str) -> str | None:
    """The rule code for an error torch raised at an in-place call, or None for any other error."""
    for pattern, code in _PREFIXES:
        if pattern.match(message):
            return code
    return None


_BACKWARD_SUFFIX = re.compile(r"Backward\d*$")

_HINT = (
    "Hint: enable anomaly detection to find the operation that failed to compute its gradient, "
    "with torch.autograd.set_detect_anomaly(True, check_nan=False)."
)
_ANOMALY_HINT = (
    "Hint: the backtrace further above shows the operation that failed to compute its gradient. "
    "The variable in question was changed in there or anywhere later. Good luck!"
)


def node_label(name: str) -> str:
    """How torch names a graph node in this message: ``SigmoidBackward0`` -> ``Sigmoid``."""
    return _BACKWARD_SUFFIX.sub("", name)


def version_mismatch(
    *,
    type_name: str,
    sizes: tuple[int, ...],
    node: str | None,
    output_nr: int,
    version: int,
    expected: int,
    anomaly: bool,
) -> str:
    """The message of autograd's saved-tensor version check.

    ``node`` is the graph node torch names: for a saved result, the node that saved it; for a
    saved input, the tensor's *current* ``grad_fn`` (so after ``x.add_(1)`` it is ``Add``), and
    none for a leaf.  ``output_nr`` is only known for results; torch prints 0 for inputs.
    """
    shape = ", ".join(str(n) for n in sizes)
    which = f", which is output {output_nr} of {node_label(node)}," if node else ""
    return (
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{type_name} [{shape}]]{which} is at version {version}; expected version "
        f"{expected} instead. {_ANOMALY_HINT if anomaly else _HINT}"
    )
