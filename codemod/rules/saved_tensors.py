"""GS1xx: an in-place op overwrites a tensor that autograd saved for backward."""

from gradsafe.findings import FixKind
from gradsafe.rules import Rule, register

SAVED_RESULT = register(
    Rule(
        code="GS101",
        name="saved-result-overwritten",
        summary="In-place op overwrites the result of an op that saves its output for backward",
        what_it_does="""
            Reports an in-place operation (`y.mul_(2)`, `y += 1`, `y[0] = 0`, `F.relu(y, inplace=True)`,
            `nn.ReLU(inplace=True)`) on a tensor produced by an op that keeps its *result* for the
            backward pass: `exp`, `expm1`, `sqrt`, `rsqrt`, `reciprocal`, `tan`, `tanh`, `sigmoid`,
            `relu`, `softmax`, `log_softmax`, `prod`, `max()`, `amax`, `norm`, `std`, `logsumexp`,
            `cumprod`, and the in-place activations `relu_`, `sigmoid_`, `tanh_`, `exp_`, `leaky_relu_`,
            `elu_`.  The message names the op and the line that saved the tensor.
        """,
        why_bad="""
            Autograd checks a saved tensor's version counter when backward runs.  The in-place op bumps
            it, and `backward()` fails with `one of the variables needed for gradient computation has
            been modified by an inplace operation ... which is output 0 of Sigmoid`.  The error points
            at the op that *needed* the tensor, not at the line that overwrote it.
        """,
        example="""
            import torch
            from torch import nn

            class Gate(nn.Module):
                def forward(self, x):
                    y = torch.sigmoid(x)
                    y.mul_(2)
                    return y
        """,
        use_instead="""
            import torch
            from torch import nn

            class Gate(nn.Module):
                def forward(self, x):
                    y = torch.sigmoid(x)
                    y = y.mul(2)
                    return y
        """,
        fix_kinds=(FixKind.OUT_OF_PLACE, FixKind.CLONE, FixKind.INPLACE_FLAG),
        fix_safety="""
            Out-of-place when the tensor has no other live name; `clone()` before the mutation when it
            does or when the write is an indexed assignment; `inplace=False` for in-place activations
            whose input is not read again.  The rewrite keeps the values the original computes in
            forward and makes backward succeed.
        """,
    )
)

SAVED_INPUT = register(
    Rule(
        code="GS102",
        name="saved-input-overwritten",
        summary="In-place op overwrites a tensor that a later op saved as an input for backward",
        what_it_does="""
            Reports an in-place operation on a tensor that an earlier op saved as an *input*: `mul`
            and `div` (when the other operand requires grad), `matmul`/`mm`/`bmm`/`linear`, `conv*`,
            `log`, `sin`, `cos`, `pow`, `abs`, `clamp`, `gelu`/`silu`/`elu`/`leaky_relu`, the norms,
            pooling, `mse_loss`, and `nn.Linear`/`nn.Conv*`/`nn.*Norm` modules.  Ops that save nothing
            (`add`, `sub`, `sum`, `mean`, views, `cat`, `x * 3.0`) are not hazards.
        """,
        why_bad="""
            The op needs the tensor's original value to compute its gradient.  Overwriting it bumps the
            version counter and `backward()` fails with `one of the variables needed for gradient
            computation has been modified by an inplace operation`.
        """,
        example="""
            import torch
            from torch import nn

            class Block(nn.Module):
                def forward(self, x, w):
                    h = x + 1
                    y = h * w
                    h.add_(1)
                    return y + h
        """,
        use_instead="""
            import torch
            from torch import nn

            class Block(nn.Module):
                def forward(self, x, w):
                    h = x + 1
                    y = h * w
                    h = h.add(1)
                    return y + h
        """,
        fix_kinds=(FixKind.OUT_OF_PLACE, FixKind.CLONE, FixKind.INPLACE_FLAG),
        fix_safety="As for GS101.",
    )
)
