"""Property tests: random functions that mix tensor ops and in-place ops, run through `fix`, then run under torch.

A small grammar (below) writes the ``forward`` of a module, taking two tensors ``x`` and ``w``
(both leaves that require grad in the runs), out of value-producing statements, views and aliases, and in-place statements, in random
order.  Each goes through the fix pipeline exactly as ``gradsafe fix --no-verify`` runs it, under
the default policy (only hazards) and under ``--policy strict`` (every in-place op), and then:

* the output compiles, and fixing it again changes nothing (idempotence);
* run under torch in float64, either the original runs (forward and backward) and the rewrite
  computes the same output and the same gradients of ``x`` and ``w``; or the original raises an
  autograd in-place error, gradsafe reported it, and the rewrite either runs with the gradients of
  an independent reference or still carries a finding (a hazard it could not fix is reported,
  never hidden).  The reference is autograd on the original with every saved tensor copied at
  save time (the gradient of what the code means); where even that raises (a leaf written in
  place), central finite differences of the original under ``torch.no_grad()`` on copies of the
  inputs.

This is the guarantee that matters to a user: the rewrite never changes what working code
computes, and what it repairs, it repairs correctly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from collections.abc import Callable

import pytest

from gradsafe.settings.config import Overrides, load_settings
from gradsafe.run.pipeline import process_source
from gradsafe.files.source import SourceFile

pytestmark = [pytest.mark.torch, pytest.mark.slow]

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

SIZE = 4
# What autograd says when an in-place op breaks it, at forward (leaf, view) or backward (saved value).
INPLACE_ERRORS = (
    "modified by an inplace operation",
    "a leaf Variable that requires grad",
    "a view of a leaf Variable that requires grad",
    "is a view and its base or another view of its base has been modified inplace",
    "This view is the output of a function that returns multiple views",
    "output of a function that returns multiple views",
)

# ------------------------------------------------------------------------------------------ grammar
# Every value is a float64 tensor of shape (SIZE,), so any statement may use any name.
PRODUCERS: list[Callable[[str, str], str]] = [
    lambda a, b: f"torch.sigmoid({a})",
    lambda a, b: f"{a}.exp()",
    lambda a, b: f"torch.tanh({a})",
    lambda a, b: f"{a} * {b}",
    lambda a, b: f"{a} + {b}",
    lambda a, b: f"{a}.relu()",
    lambda a, b: f"{a}.pow(2)",
    lambda a, b: f"{a} / (1 + {b}.abs())",
]
VIEWS: list[Callable[[str], str]] = [
    lambda a: f"{a}.view({SIZE})",
    lambda a: f"{a}[:]",
    lambda a: f"{a}.detach()",
    lambda a: f"{a}",  # a plain alias: a second name for the same tensor
]
MUTATIONS: list[Callable[[str, str], str]] = [
    lambda a, b: f"{a}.mul_(2)",
    lambda a, b: f"{a}.add_({b})",
    lambda a, b: f"{a}.sigmoid_()",
    lambda a, b: f"{a}.exp_()",
    lambda a, b: f"{a}.relu_()",
    lambda a, b: f"{a}.clamp_(min=-0.5)",
    lambda a, b: f"{a}.tanh_()",
    lambda a, b: f"{a} += {b}",
    lambda a, b: f"{a} *= 3",
    lambda a, b: f"{a} -= 0.25 * {b}",
    lambda a, b: f"{a}[0] = 1.5",
    lambda a, b: f"{a}[1:3] *= 2",
    lambda a, b: f"torch.relu_({a})",
]


@st.composite
def functions(draw: Any) -> str:
    """The source of a module's ``forward(x, w)``: 2 to 7 random statements, returning a sum over every name."""
    names = ["x", "w"]
    body: list[str] = []
    for _ in range(draw(st.integers(2, 7))):
        kind = draw(st.sampled_from(["produce", "produce", "view", "mutate", "mutate"]))
        if kind == "mutate" and len(names) > 2:
            target = draw(st.sampled_from(names[2:] + names[2:] + names[:2]))  # mostly locals
            body.append(draw(st.sampled_from(MUTATIONS))(target, draw(st.sampled_from(names))))
            continue
        new = f"h{len(names) - 2}"
        if kind == "view" and len(names) > 2:
            body.append(f"{new} = {draw(st.sampled_from(VIEWS))(draw(st.sampled_from(names)))}")
        else:
            a, b = draw(st.sampled_from(names)), draw(st.sampled_from(names))
            body.append(f"{new} = {draw(st.sampled_from(PRODUCERS))(a, b)}")
        names.append(new)
    weights = " + ".join(f"({name} * {k + 1}).sum()" for k, name in enumerate(names[2:])) or "x.sum()"
    return module_text("\n".join([*body, f"return {weights}"]))


def module_text(body: str) -> str:
    """A module whose ``forward(x, w)`` runs ``body`` (one statement per line)."""
    statements = "".join(f"        {line}\n" for line in body.splitlines())
    return f"import torch\n\n\nclass M(torch.nn.Module):\n    def forward(self, x, w):\n{statements}"


# ------------------------------------------------------------------------------------------ running
def fix(text: str, policy: str) -> tuple[str, int, int]:
    """``gradsafe fix --no-verify`` on ``text``: the new text, the findings of the original, and those left."""
    settings = load_settings([Path.cwd()], Overrides(policy=policy), isolated=True)
    found = process_source(SourceFile.from_text(text, Path("generated.py")), settings, fix=False)
    fixed = process_source(SourceFile.from_text(text, Path("generated.py")), settings, fix=True)
    assert not fixed.errors, [e.message for e in fixed.errors]
    new_text = fixed.edit.new_text if fixed.edit is not None else text
    return new_text, len(found.findings), len(fixed.findings)


def load(text: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    exec(compile(text, "generated.py", "exec"), namespace)
    return namespace["M"]()


def inputs() -> tuple[Any, Any]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(SIZE, dtype=torch.float64, generator=generator) * 0.7
    w = torch.randn(SIZE, dtype=torch.float64, generator=generator) * 0.7
    return x, w


def run_with_grad(f: Callable[..., Any]) -> tuple[Any, Any, Any] | str:
    """(output, grad of x, grad of w), or the message of the autograd error it raised."""
    x, w = (t.clone().requires_grad_() for t in inputs())
    try:
        out = f(x, w)
        out.backward()
    except RuntimeError as exc:
        return str(exc)
    zero = torch.zeros(SIZE, dtype=torch.float64)
    return out.detach(), (x.grad if x.grad is not None else zero), (w.grad if w.grad is not None else zero)


def finite_differences(f: Callable[..., Any], eps: float = 1e-6) -> tuple[Any, Any, Any]:
    """The original's output and central-difference gradients, under no_grad, on fresh copies every time."""

    def value(x: Any, w: Any) -> float:
        with torch.no_grad():
            return float(f(x.clone(), w.clone()))

    x, w = inputs()
    grads = []
    for which in (0, 1):
        grad = torch.zeros(SIZE, dtype=torch.float64)
        for i in range(SIZE):
            step = torch.zeros(SIZE, dtype=torch.float64)
            step[i] = eps
            plus = (x + step, w) if which == 0 else (x, w + step)
            minus = (x - step, w) if which == 0 else (x, w - step)
            grad[i] = (value(*plus) - value(*minus)) / (2 * eps)
        grads.append(grad)
    return torch.tensor(value(x, w), dtype=torch.float64), grads[0], grads[1]


def saved_copies_reference(f: Callable[..., Any]) -> tuple[Any, Any, Any] | str:
    """The gradients the original means: autograd with every saved tensor copied when it is saved.

    Later in-place writes then cannot reach what backward reads, so this is the gradient of the
    function as written, values taken when each op ran, ``detach()`` stopping gradients where it
    does (finite differences cannot see a ``detach()``).  A leaf written in place still raises.
    """
    with torch.autograd.graph.saved_tensors_hooks(lambda t: t.clone(), lambda t: t):
        return run_with_grad(f)


def is_inplace_error(message: str) -> bool:
    return any(text in message for text in INPLACE_ERRORS)


def smooth_enough(reference: tuple[Any, Any, Any]) -> bool:
    """Finite differences are meaningless across a kink (relu, clamp); skip inputs too close to one."""
    return all(torch.isfinite(t).all() for t in reference)


# ------------------------------------------------------------------------------------------ the property
def _event(outcome: str) -> None:
    """Label the example's outcome (``pytest --hypothesis-show-statistics`` shows the mix)."""
    try:
        hypothesis.event(outcome)
    except hypothesis.errors.InvalidArgument:  # not inside @given
        pass


def check_function(text: str, policy: str) -> None:
    new_text, found, left = fix(text, policy)
    compile(new_text, "generated.py", "exec")
    again, _, _ = fix(new_text, policy)
    assert again == new_text, f"not idempotent:\n{new_text}\n---\n{again}"

    original = run_with_grad(load(text))
    rewritten = run_with_grad(load(new_text))
    context = f"\n--- original ({policy}):\n{text}\n--- rewrite:\n{new_text}"
    if isinstance(original, str):
        assert is_inplace_error(original), original + context
        assert found > 0, "an in-place error autograd raises was not reported" + context
        if isinstance(rewritten, str):
            assert left > 0, "the rewrite still raises, and no finding says so" + context
            _event("original raises; the rewrite still raises and is still reported")
            return
        _event("original raises; the rewrite repairs it")
        reference = saved_copies_reference(load(text))
        if isinstance(reference, str):  # a leaf written in place: its value before the write is the input
            if ".detach()" in text:
                return  # finite differences see through a detach(): no independent reference
            reference = finite_differences(load(text))
            if not smooth_enough(reference):
                return
        for name, got, expected in zip(("output", "grad x", "grad w"), rewritten, reference):
            torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5, msg=lambda m, n=name: f"{n}: {m}{context}")
        return
    assert not isinstance(rewritten, str), f"the rewrite broke working code: {rewritten}" + context
    _event("original runs; " + ("rewritten" if new_text != text else "left alone"))
    for name, got, expected in zip(("output", "grad x", "grad w"), rewritten, original):
        torch.testing.assert_close(got, expected, msg=lambda m, n=name: f"{n}: {m}{context}")


@pytest.mark.parametrize("policy", ["default", "strict"])
@hypothesis.settings(max_examples=80, deadline=None, derandomize=True,
                     suppress_health_check=[hypothesis.HealthCheck.too_slow])
@hypothesis.given(text=functions())
def test_fix_keeps_what_working_code_computes_and_repairs_what_autograd_rejects(policy: str, text: str) -> None:
    check_function(text, policy)


@pytest.mark.parametrize(
    "body",
    [
        # A saved output overwritten (sigmoid saves its result), a leaf mutated, a detached alias written.
        "h0 = torch.sigmoid(x)\nh0.mul_(2)\nreturn (h0 * w).sum()",
        "x.add_(w)\nreturn (x * w).sum()",
        "h0 = x.exp()\nloss = (h0 * w).sum()\nh1 = h0.detach()\nh1.mul_(3)\nreturn loss + h1.sum()",
    ],
)
def test_the_grammar_reaches_the_hazards_it_is_meant_to(body: str) -> None:
    """The property is only as strong as its grammar: these hand-written members must raise and be repaired."""
    text = module_text(body)
    assert isinstance(run_with_grad(load(text)), str)
    check_function(text, "default")
    new_text, found, left = fix(text, "default")
    assert found > 0 and left == 0 and new_text != text
