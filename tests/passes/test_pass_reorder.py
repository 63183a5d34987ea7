"""The reorder pass and GS103: an optimizer step between a forward and the backward of that forward.

The fixture pairs in ``tests/fixtures/reorder`` are checked byte for byte by
``test_fixture_pairs.py``; here both halves are *run*: the original raises torch's in-place error,
and the reordered update trains exactly like an independent reference (gradients of each loss at
the parameters its forward used, by ``torch.autograd.grad``, and SGD written out).  The GAN whose
two losses share one forward must get no reorder: the swapped program raises too (the generator's
step now overwrites what the discriminator's loss saved), which is checked under torch as well.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import libcst as cst
import pytest
from gradsafe.analysis import analyse
from gradsafe.files.source import SourceFile
from gradsafe.findings import Fix, FixKind, FixSafety, Span
from gradsafe.rules.saved_tensors import STEP_BEFORE_BACKWARD
from gradsafe.transforms.params import ReorderParams
from gradsafe.transforms.reorder import PASS

FIXTURES = Path(__file__).parent.parent / "fixtures" / "reorder"


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"reorder_fixture_{path.name.replace('.', '_')}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def findings(path: Path) -> list[Any]:
    return [f for f in analyse(SourceFile.from_bytes(path.read_bytes(), path)) if f.code == STEP_BEFORE_BACKWARD.code]


def test_the_actor_critic_update_gets_a_reorder_naming_three_lines() -> None:
    (finding,) = findings(FIXTURES / "actor_critic.py")
    assert finding.span.line == 18  # actor_loss.backward()
    assert [r.span.line for r in finding.related] == [9, 15]  # the forward through critic, critic_opt.step()
    assert finding.fix is not None and finding.fix.kind is FixKind.REORDER
    assert finding.fix.safety is FixSafety.NEEDS_VERIFICATION
    assert (finding.fix.target.line, finding.fix.target.end_line) == (13, 19)


def test_the_shared_forward_gan_is_reported_without_a_fix() -> None:
    (finding,) = findings(FIXTURES / "gan_shared_forward.py")
    assert finding.fix is None
    assert finding.unfixable_reason is not None and "detach()" in finding.unfixable_reason


def test_the_fixed_actor_critic_no_longer_reports() -> None:
    assert findings(FIXTURES / "actor_critic.fixed.py") == []


def test_the_pass_declines_a_target_that_is_not_whole_statements() -> None:
    module = cst.parse_module("a()\nb()\nc()\n")
    fix = Fix(FixKind.REORDER, Span(1, 0, 2, 1), "swap", params=ReorderParams(split=1))
    result = PASS.apply(module, [fix])
    assert result.applied == [] and result.declined and result.module.code == "a()\nb()\nc()\n"
    whole = Fix(FixKind.REORDER, Span(1, 0, 3, 3), "swap", params=ReorderParams(split=1))
    assert PASS.apply(module, [whole]).module.code == "b()\nc()\na()\n"


@pytest.mark.torch
def test_the_original_raises_and_the_reordered_update_trains_like_the_reference() -> None:
    torch = pytest.importorskip("torch")
    original, fixed = load(FIXTURES / "actor_critic.py"), load(FIXTURES / "actor_critic.fixed.py")
    with pytest.raises(RuntimeError, match=original.EXPECTED_ERROR):
        original.run()
    result = fixed.run()

    actor, critic, batches = original.build()
    lr = 0.05
    for states, actions, targets in batches:
        actor_params, critic_params = list(actor.parameters()), list(critic.parameters())
        actor_loss = -critic(torch.cat([states, actor(states)], 1)).mean()
        critic_loss = (critic(torch.cat([states, actions], 1)) - targets).pow(2).mean()
        actor_grads = torch.autograd.grad(actor_loss, actor_params)
        critic_grads = torch.autograd.grad(critic_loss, critic_params)
        with torch.no_grad():
            for p, g in zip(actor_params + critic_params, actor_grads + critic_grads):
                p.add_(g, alpha=-lr)  # as torch.optim.SGD does
    for name, module in (("actor", actor), ("critic", critic)):
        for got, want in zip(result[name], module.parameters()):
            assert torch.equal(got, want.detach()), name


@pytest.mark.torch
def test_swapping_the_shared_forward_gan_would_raise_too() -> None:
    torch = pytest.importorskip("torch")
    from torch import nn

    text = (FIXTURES / "gan_shared_forward.py").read_text()
    d_update = "    opt_d.zero_grad()\n    d_loss.backward(retain_graph=True)\n    opt_d.step()\n"
    g_update = "    opt_g.zero_grad()\n    g_loss.backward()\n    opt_g.step()\n"
    swapped = text.replace(d_update + g_update, g_update.replace("()\n    opt_g.step", "(retain_graph=True)\n    opt_g.step") + d_update.replace("(retain_graph=True)", "()"))
    assert swapped != text
    for source in (text, swapped):
        namespace: dict[str, Any] = {}
        exec(compile(source, "gan_shared_forward.py", "exec"), namespace)
        torch.manual_seed(0)
        G = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)).double()
        D = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()
        z, real = torch.randn(4, 2, dtype=torch.float64), torch.randn(4, 2, dtype=torch.float64)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            namespace["train"](G, D, z, real)
