"""Silent bugs through shared memory (GS602, GS603): part of the GS6xx family of silent bugs.

GS602: a value read after an in-place op overwrote it, where the reader wanted the old value.
GS603: a write through memory shared with a saved tensor that autograd's version counter cannot see.
"""

from gradsafe.findings import Applicability, FixKind
from gradsafe.rules.rule import Rule, register

CLOBBERED_READ = register(
    Rule(
        code="GS602",
        name="clobbered-value-read",
        summary="A tensor is read after an in-place op overwrote it, as the old value of a residual sum",
        what_it_does="""
            Reports an in-place write whose old value the code reads afterwards, in the one shape
            where the reader unambiguously wanted the old value: a *residual sum* `a + b` (or
            `a += b`, `torch.add(a, b)`) where

            * `b` is computed from the result of the in-place op (`h = self.fc(F.relu(x,
              inplace=True))`, `out = self.conv(input)` with a `nn.Sequential` that starts with
              `nn.ReLU(inplace=True)`, `out = self.relu(x)` then more layers on `out`), and
            * `a` names the tensor as it was *before* the write: an alias taken before it
              (`identity = x`), or the written name itself when the in-place op was spelled as a
              function producing a new value (`inplace=True`, an in-place module, a helper that
              writes its argument) whose result went to another name.

            Silent, by design: `x.relu_()` or `x = F.relu(x, inplace=True)` followed by `x + f(x)`
            (the statement says `x` is meant to change, so later reads want the new value);
            `out = self.relu(self.bn1(out))` with nothing read again (torchvision's ResNet); an
            in-place op whose result is not combined with the written tensor's earlier name.
        """,
        why_bad="""
            The in-place op changed the tensor every name of it sees: the "skip" path carries
            `relu(x)` instead of `x`, and the block computes `relu(x) + f(relu(x))`.  Autograd raises
            nothing (nothing saved is stale); the outputs and gradients are silently different from
            the design.
        """,
        example="""
            import torch
            from torch import nn
            import torch.nn.functional as F

            class ResidualMLP(nn.Module):
                def __init__(self, dim):
                    super().__init__()
                    self.fc = nn.Linear(dim, dim)

                def forward(self, x):
                    x = x * 2
                    h = self.fc(F.relu(x, inplace=True))
                    return x + h
        """,
        use_instead="""
            import torch
            from torch import nn
            import torch.nn.functional as F

            class ResidualMLP(nn.Module):
                def __init__(self, dim):
                    super().__init__()
                    self.fc = nn.Linear(dim, dim)

                def forward(self, x):
                    x = x * 2
                    h = self.fc(F.relu(x))
                    return x + h
        """,
        fix_kinds=(FixKind.INPLACE_FLAG,),
        fix_applicability=Applicability.UNSAFE,
        fix_safety="""
            It changes the outputs by design (to what the sum evidently meant).  Where the write is spelled with a flag, the flag is
            turned off (`F.relu(x)`, or the module built with `inplace=False`), and verification
            shows the returned value changes and backward still runs.  Other forms (`x.relu_()`
            after an alias, a helper writing its argument) are reported without a fix: clone before
            the write where the old value is meant.
        """,
    )
)

VERSION_COUNTER_BYPASS = register(
    Rule(
        code="GS603",
        name="version-counter-bypass",
        summary="Write through a NumPy view or raw storage of a tensor saved for backward: wrong gradients",
        what_it_does="""
            Reports writes through memory a tensor shares with something autograd does not track,
            while the tensor is saved for backward and backward has not run: the array of
            `t.numpy()` / `t.detach().numpy()` / `t.numpy(force=True)` / `np.asarray(t)` written
            in place (`a[...] = v`, `a *= s`, `np.clip(a, lo, hi, out=a)`, `a.fill(v)`), and
            `t.untyped_storage()` written.  `.data` writes are GS401.

            Silent: a NumPy conversion of a clone or of a tensor nothing saved, arrays that are only
            read, and writes after backward.
        """,
        why_bad="""
            NumPy arrays share the tensor's memory but not its version counter, so autograd cannot
            notice the write: backward runs with the overwritten values and the gradients are
            silently wrong.  `gradsafe trace --checksum-saved` sees the same at run time, also when
            the array is written in another function or file.
        """,
        example="""
            import numpy as np
            import torch

            def step(w, x):
                probs = torch.sigmoid(x @ w)
                p = probs.detach().numpy()
                np.clip(p, 0.1, 0.9, out=p)
                probs.sum().backward()
                return p
        """,
        use_instead="""
            import numpy as np
            import torch

            def step(w, x):
                probs = torch.sigmoid(x @ w)
                p = probs.detach().numpy().copy()
                np.clip(p, 0.1, 0.9, out=p)
                probs.sum().backward()
                return p
        """,
        fix_safety="""
            Report only: copying the array (`.numpy().copy()`) changes what the forward computes
            when anything reads the tensor again, so no local rewrite is provably the intent.
        """,
    )
)
