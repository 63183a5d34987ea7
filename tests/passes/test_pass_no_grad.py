"""The no_grad pass: its rewrites train like torch.optim, the wrong rewrites it must never make
really are wrong, and its edits of the syntax tree.

The fixture pairs in ``tests/fixtures/no_grad`` are checked byte for byte by
``test_fixture_pairs.py``; here both halves are *run*.  A rewritten update must give exactly
(bit for bit) the parameters ``torch.optim.SGD`` gives, for ``p.add_(p.grad, alpha=-lr)``, or the
explicit out-of-place formula computed with ``torch.func.functional_call`` and
``torch.autograd.grad`` (no in-place op, no ``no_grad``), for ``p -= lr * p.grad`` whose rounding
differs from SGD's.  Each original raises its ``EXPECTED_ERROR``.

The wrong rewrites of issue 5 are run too: ``p = p - lr * p.grad`` in a loop updates nothing, on a
leaf it leaves ``.grad`` None; ``self.weight = self.weight - ...`` raises; ``no_grad`` in place of
a silent ``.data`` write turns it into an error; ``no_grad`` around a MAML inner step drops the
second-order terms.  For the last two the judge must not plan a ``no_grad`` fix at all.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import re
import textwrap
from pathlib import Path
from types import ModuleType

import libcst as cst
import pytest

from gradsafe.analysis import analyse
from gradsafe.findings import Fix, FixKind, Span
from gradsafe.files.source import SourceFile
from gradsafe.transforms.no_grad import PASS

FIXTURES = Path(__file__).parent.parent / "fixtures" / "no_grad"
LR = 0.1
STEPS = 4


def load(path: Path, text: str | None = None) -> ModuleType:
    """The fixture at ``path`` as a module, or ``text`` compiled under that fixture's name."""
    name = f"no_grad_fixture_{path.name.removesuffix('.py').replace('.', '_')}"
    if text is not None:
        module = ModuleType(name)
        exec(compile(text, str(path), "exec"), module.__dict__)
        return module
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def pair(case: str) -> tuple[ModuleType, ModuleType]:
    return load(FIXTURES / f"{case}.py"), load(FIXTURES / f"{case}.fixed.py")


def raises_expected(module: ModuleType):
    return pytest.raises(RuntimeError, match=re.escape(module.EXPECTED_ERROR))


# ---------------------------------------------------------------------- training references
def make_model(frozen: bool = False):
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    if frozen:
        model[0].bias.requires_grad_(False)
    return model


def make_batches():
    import torch

    generator = torch.Generator().manual_seed(1)
    return [(torch.randn(6, 3, generator=generator), torch.randn(6, 1, generator=generator)) for _ in range(STEPS)]


def trained_with_sgd(model, batches):
    import torch
    from torch import nn

    model = copy.deepcopy(model)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=LR)
    for x, y in batches:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
    return dict(model.named_parameters())


def trained_with_formula(model, batches):
    """``p - LR * grad`` for every trainable parameter, computed without any in-place op."""
    import torch
    from torch import nn
    from torch.func import functional_call

    params = {name: p.detach().clone() for name, p in model.named_parameters()}
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    for x, y in batches:
        leaves = {name: v.requires_grad_(name in trainable) for name, v in params.items()}
        loss = nn.functional.mse_loss(functional_call(model, leaves, (x,)), y)
        grads = dict(zip(trainable, torch.autograd.grad(loss, [leaves[n] for n in trainable])))
        params = {name: (v - LR * grads[name] if name in grads else v).detach() for name, v in leaves.items()}
    return params


def assert_same_parameters(actual: dict, expected: dict) -> None:
    import torch

    assert actual.keys() == expected.keys()
    for name in actual:
        torch.testing.assert_close(actual[name].detach(), expected[name].detach(), rtol=0, atol=0, msg=name)


TRAINING_CASES = {
    # case: (reference, model with a frozen parameter)
    "parameters_loop": (trained_with_formula, False),
    "missing_import": (trained_with_formula, False),
    "aliased_import": (trained_with_formula, False),
    "named_parameters": (trained_with_sgd, True),
    "one_line_guard": (trained_with_formula, True),
    "params_argument": (trained_with_sgd, True),
}


@pytest.mark.torch
@pytest.mark.parametrize("case", TRAINING_CASES)
def test_training_with_the_rewrite_equals_the_reference(case: str) -> None:
    pytest.importorskip("torch")
    original, fixed = pair(case)
    reference, frozen = TRAINING_CASES[case]
    model, batches = make_model(frozen), make_batches()
    with raises_expected(original):
        original.train(copy.deepcopy(model), batches, lr=LR)
    trained = fixed.train(copy.deepcopy(model), batches, lr=LR)
    assert all(p.is_leaf for p in trained.parameters())
    assert_same_parameters(dict(trained.named_parameters()), reference(model, batches))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("for p in params:\n    p.add_(p.grad, alpha=-lr)", ["GS203"]),
        ("for p in params:\n    p -= lr * p.grad", ["GS203"]),
        # Without a `.grad` read nothing says these are leaves that require grad.
        ("for p in params:\n    p.mul_(0.5)", []),
        ("for p in params:\n    p.add_(q.grad, alpha=-lr)", []),
        # Updates already out of autograd's sight.
        ("with torch.no_grad():\n    for p in params:\n        p.add_(p.grad, alpha=-lr)", []),
        ("for p in params:\n    p.data.add_(p.grad, alpha=-lr)", []),
    ],
)
def test_reading_its_own_grad_makes_a_tensor_of_unknown_origin_a_parameter(body: str, expected: list[str]) -> None:
    source = "import torch\n\n\ndef step(params, q, lr):\n" + textwrap.indent(body, "    ") + "\n"
    assert [f.code for f in analyse(SourceFile.from_text(source))] == expected


@pytest.mark.torch
def test_leaf_tensor_updates_equal_the_formula_and_stay_leaves() -> None:
    torch = pytest.importorskip("torch")
    original, fixed = pair("leaf_tensors")
    generator = torch.Generator().manual_seed(2)
    x, target = torch.randn(5, 3, generator=generator), torch.randn(5, generator=generator)
    with raises_expected(original):
        original.fit_line(x, target, steps=STEPS, lr=LR)
    w, b = fixed.fit_line(x, target, steps=STEPS, lr=LR)
    assert w.is_leaf and b.is_leaf and w.requires_grad

    torch.manual_seed(0)  # what fit_line starts from
    expected = [torch.randn(3), torch.zeros(1)]
    for _ in range(STEPS):
        leaves = [v.requires_grad_() for v in expected]
        loss = ((x @ leaves[0] + leaves[1] - target) ** 2).mean()
        expected = [(v - LR * g).detach() for v, g in zip(leaves, torch.autograd.grad(loss, leaves))]
    assert_same_parameters({"w": w, "b": b}, {"w": expected[0], "b": expected[1]})


@pytest.mark.torch
def test_ema_update_equals_the_formula() -> None:
    torch = pytest.importorskip("torch")
    original, fixed = pair("ema_teacher")
    student = make_model()
    teacher = fixed.make_teacher(student)
    with raises_expected(original):
        original.ema_update(copy.deepcopy(teacher), student)
    expected = {name: p.detach().clone() for name, p in teacher.named_parameters()}
    students = dict(student.named_parameters())
    for step in range(STEPS):
        with torch.no_grad():
            for p in student.parameters():
                p.add_(0.1 * (step + 1))  # the student moves between updates
        fixed.ema_update(teacher, student, decay=0.9)
        # `add(alpha=)` rounds as the update does; `v * d + s * (1 - d)` may differ in the last bit
        expected = {name: (v * 0.9).add(students[name].detach(), alpha=1 - 0.9) for name, v in expected.items()}
    assert_same_parameters(dict(teacher.named_parameters()), expected)


@pytest.mark.torch
def test_weight_clipping_equals_clamp() -> None:
    torch = pytest.importorskip("torch")
    original, fixed = pair("weight_clipping")
    critic = make_model()
    with torch.no_grad():
        for p in critic.parameters():
            p.mul_(0.05)  # some weights inside the range, some outside
    expected = {name: p.detach().clamp(-0.01, 0.01) for name, p in critic.named_parameters()}
    with raises_expected(original):
        original.clip_critic(copy.deepcopy(critic))
    fixed.clip_critic(critic)
    assert_same_parameters(dict(critic.named_parameters()), expected)


@pytest.mark.torch
def test_module_updating_its_own_parameter() -> None:
    torch = pytest.importorskip("torch")
    original, fixed = pair("module_method")
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(3))
    broken = original.Scale()
    (broken(x) ** 2).sum().backward()
    with raises_expected(original):
        broken.descend(LR)
    module = fixed.Scale()
    weight = module.weight
    expected = torch.ones(3)
    for _ in range(STEPS):
        (module(x) ** 2).sum().backward()
        leaf = expected.clone().requires_grad_()
        (g,) = torch.autograd.grad(((x * leaf) ** 2).sum(), [leaf])
        expected = expected - LR * g
        module.descend(LR)
    assert module.weight is weight  # still the registered Parameter, not a replacement
    assert_same_parameters({"weight": module.weight}, {"weight": expected})


@pytest.mark.torch
def test_buffer_update_stays_out_of_the_graph() -> None:
    torch = pytest.importorskip("torch")
    from torch import nn

    original, fixed = pair("buffer_update")
    generator = torch.Generator().manual_seed(4)
    feats_in = [torch.randn(4, 5, generator=generator) for _ in range(STEPS)]
    labels = torch.tensor([0, 1, 2, 1])
    torch.manual_seed(0)
    proj = nn.Linear(5, 4)

    broken = original.CenterLoss()
    with raises_expected(original):
        for x in feats_in:
            broken(copy.deepcopy(proj)(x), labels).backward()

    loss_fn, model = fixed.CenterLoss(), copy.deepcopy(proj)
    ref_model, centers = copy.deepcopy(proj), torch.zeros(3, 4)
    for x in feats_in:
        model.zero_grad()
        loss = loss_fn(model(x), labels)
        loss.backward()
        assert not loss_fn.centers.requires_grad

        ref_model.zero_grad()
        diff = ref_model(x) - centers[labels]
        ref_loss = (diff**2).sum()
        ref_loss.backward()
        centers = centers.index_add(0, labels, 0.5 * diff.detach())
        torch.testing.assert_close(loss, ref_loss, rtol=0, atol=0)
        assert_same_parameters(
            {n: p.grad for n, p in model.named_parameters()}, {n: p.grad for n, p in ref_model.named_parameters()}
        )
    torch.testing.assert_close(loss_fn.centers, centers, rtol=0, atol=0)


@pytest.mark.torch
def test_data_spelling_rewrite_equals_the_original_and_sgd() -> None:
    pytest.importorskip("torch")
    from torch import nn

    original, fixed = pair("data_spelling")
    model, batches = make_model(), make_batches()
    for step in ("sgd_step", "decayed_step"):
        a, b = copy.deepcopy(model), copy.deepcopy(model)
        for x, y in batches:
            for m, module in ((a, original), (b, fixed)):
                m.zero_grad()
                nn.functional.mse_loss(m(x), y).backward()
                getattr(module, step)(m, LR)
        assert_same_parameters(dict(b.named_parameters()), dict(a.named_parameters()))
        if step == "sgd_step":
            assert_same_parameters(dict(b.named_parameters()), trained_with_sgd(model, batches))
    tree = ast.parse((FIXTURES / "data_spelling.fixed.py").read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "data"]


# ---------------------------------------------------------------------- wrong rewrites, run
def variant(case: str, old: str, new: str) -> ModuleType:
    """The fixture ``case`` with ``old`` replaced by ``new`` (which must occur)."""
    path = FIXTURES / f"{case}.py"
    text = path.read_text()
    assert old in text
    return load(path, text.replace(old, new))


@pytest.mark.torch
def test_rebinding_the_loop_variable_updates_nothing() -> None:
    pytest.importorskip("torch")
    wrong = variant("parameters_loop", "p -= lr * p.grad", "p = p - lr * p.grad")
    model, batches = make_model(), make_batches()
    trained = wrong.train(copy.deepcopy(model), batches, lr=LR)
    # No error, and not one parameter moved: the reference comparison above would catch it.
    assert_same_parameters(dict(trained.named_parameters()), dict(model.named_parameters()))
    with pytest.raises(AssertionError):
        assert_same_parameters(dict(trained.named_parameters()), trained_with_formula(model, batches))


@pytest.mark.torch
def test_rebinding_a_leaf_leaves_its_grad_none() -> None:
    torch = pytest.importorskip("torch")
    wrong = variant(
        "leaf_tensors",
        "w -= lr * w.grad  # gradient step\n        b -= lr * b.grad\n",
        "w = w - lr * w.grad\n        b = b - lr * b.grad\n",
    )
    x, target = torch.randn(5, 3), torch.randn(5)
    with pytest.warns(UserWarning, match="not a leaf"), pytest.raises(AttributeError, match="'NoneType'"):
        wrong.fit_line(x, target, steps=STEPS, lr=LR)


@pytest.mark.torch
def test_assigning_a_tensor_to_a_parameter_raises() -> None:
    torch = pytest.importorskip("torch")
    wrong = variant("module_method", "self.weight -= lr * self.weight.grad", "self.weight = self.weight - lr * self.weight.grad")
    module = wrong.Scale()
    module(torch.ones(3)).sum().backward()
    with pytest.raises(TypeError, match="cannot assign"):
        module.descend(LR)


@pytest.mark.torch
def test_no_grad_in_place_of_a_silent_data_write_is_not_a_fix() -> None:
    torch = pytest.importorskip("torch")
    case = FIXTURES / "neg_data_alias_silent.py"
    assert all(f.fix is None or f.fix.kind is not FixKind.NO_GRAD for f in analyse(SourceFile.from_text(case.read_text())))
    silent = load(case)
    swapped = variant(
        "neg_data_alias_silent",
        "    percent = probs.data\n    percent.mul_(100)\n",
        "    with torch.no_grad():\n        percent = probs\n        percent.mul_(100)\n",
    )
    inputs = [torch.randn(3, 4, requires_grad=True) for _ in range(3)]
    out, _ = silent.attend(*inputs)
    out.sum().backward()  # the original runs, silently
    out, _ = swapped.attend(*[x.detach().requires_grad_() for x in inputs])
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()  # the swap only makes it loud


@pytest.mark.torch
def test_no_grad_around_a_maml_inner_step_drops_second_order_terms() -> None:
    torch = pytest.importorskip("torch")
    from torch import nn
    from torch.func import functional_call

    case = FIXTURES / "neg_maml_inner_step.py"
    text = case.read_text()
    [finding] = [f for f in analyse(SourceFile.from_text(text)) if f.code == "GS203"]
    assert finding.fix is None and "create_graph=True" in (finding.unfixable_reason or "")

    # What wrapping the inner loop would compute: a first-order update the meta-gradient cannot see.
    loop = next(n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.For))
    target = SourceFile.from_text(text).span_of(loop)
    wrapped = PASS.apply(cst.parse_module(text), [Fix(FixKind.NO_GRAD, target, "wrap")]).module.code
    adapt = load(case, wrapped).adapt

    generator = torch.Generator().manual_seed(5)
    x, y, x2, y2 = (torch.randn(6, n, generator=generator) for n in (3, 1, 3, 1))
    model = make_model()
    params = {name: p.detach().clone().requires_grad_() for name, p in model.named_parameters()}
    inner = nn.functional.mse_loss(functional_call(model, params, (x,)), y)
    grads = torch.autograd.grad(inner, list(params.values()), create_graph=True)
    fast = {name: p - 0.1 * g for (name, p), g in zip(params.items(), grads)}
    nn.functional.mse_loss(functional_call(model, fast, (x2,)), y2).backward()
    true_meta = {name: p.grad for name, p in params.items()}

    fast_leaves = {name: p.detach().requires_grad_() for name, p in fast.items()}
    nn.functional.mse_loss(functional_call(model, fast_leaves, (x2,)), y2).backward()
    first_order_meta = {name: p.grad for name, p in fast_leaves.items()}

    adapted = adapt(copy.deepcopy(model), x, y, inner_lr=0.1)
    nn.functional.mse_loss(adapted(x2), y2).backward()
    wrapped_meta = {name: p.grad for name, p in adapted.named_parameters()}
    torch.testing.assert_close(wrapped_meta, first_order_meta)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(wrapped_meta, true_meta)


def test_a_merged_block_with_a_data_update_loses_the_data() -> None:
    """Fixes sharing one block are applied once, with the parameters of whichever comes first."""
    from gradsafe.fix.loop import fix_text

    source = src(
        """
        import torch


        def step(a, b, lr):
            for p, q in zip(a.parameters(), b.parameters()):
                q -= lr * q.grad
                p.data.add_(p.grad, alpha=-lr)
        """
    )
    fixed = fix_text(source, lambda text: analyse(SourceFile.from_text(text))).text
    assert "with torch.no_grad():" in fixed and ".data" not in fixed


# ---------------------------------------------------------------------- the pass on the syntax tree
def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def range_fix(source: str, first: int, last: int | None = None, *, col: int | None = None, strip_data: bool = False) -> Fix:
    """A fix wrapping the statements starting on lines ``first``..``last`` (at ``col``, if given)."""
    file = SourceFile.from_text(source)
    statements = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.stmt) and col in (None, n.col_offset)]
    start = file.span_of(next(n for n in statements if n.lineno == first))
    end = file.span_of(next(n for n in statements if n.lineno == (last or first)))
    return Fix(FixKind.NO_GRAD, Span(start.line, start.col, end.end_line, end.end_col), "wrap", params={"strip_data": strip_data})


def apply(source: str, fixes: list[Fix]):
    return PASS.apply(cst.parse_module(source), fixes)


def test_fixes_sharing_a_target_wrap_once_and_comments_follow() -> None:
    source = src(
        """
        import torch


        def step(w, b, lr):
            # the update
            w -= lr * w.grad  # weights
            # and the bias
            b -= lr * b.grad
            # done
            return w, b
        """
    )
    fixes = [range_fix(source, 6, 8), range_fix(source, 6, 8)]
    result = apply(source, fixes)
    assert result.module.code == src(
        """
        import torch


        def step(w, b, lr):
            # the update
            with torch.no_grad():
                w -= lr * w.grad  # weights
                # and the bias
                b -= lr * b.grad
            # done
            return w, b
        """
    )
    assert result.applied == fixes and result.declined == []


@pytest.mark.parametrize(
    ("imports", "name", "added"),
    [
        ("import torch as T\n", "T", ""),
        ("import torch.nn\n", "torch", ""),
        ("import torch.nn as nn\n", "torch", "import torch\n"),
        ("import numpy as torch_np\n", "torch", "import torch\n"),
    ],
    ids=["alias", "submodule", "submodule-alias", "other-module"],
)
def test_uses_the_files_torch_binding_or_adds_the_import(imports: str, name: str, added: str) -> None:
    source = imports + "\n\ndef step(p, lr):\n    p -= lr * p.grad\n"
    result = apply(source, [range_fix(source, 5)])
    assert result.module.code == (
        imports + added + f"\n\ndef step(p, lr):\n    with {name}.no_grad():\n        p -= lr * p.grad\n"
    )


def test_an_import_for_type_checking_only_does_not_count() -> None:
    source = src(
        """
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            import torch


        def step(p, lr):
            p -= lr * p.grad
        """
    )
    result = apply(source, [range_fix(source, 8)])
    assert result.module.code == src(
        """
        from typing import TYPE_CHECKING
        import torch

        if TYPE_CHECKING:
            import torch


        def step(p, lr):
            with torch.no_grad():
                p -= lr * p.grad
        """
    )


def test_one_line_body_becomes_an_indented_block() -> None:
    source = src(
        """
        import torch


        def step(params, lr):
            for p in params:
                if p.grad is not None: p -= lr * p.grad; p.grad = None  # clear
        """
    )
    result = apply(source, [range_fix(source, 6, col=31)])
    assert result.module.code == src(
        """
        import torch


        def step(params, lr):
            for p in params:
                if p.grad is not None:
                    with torch.no_grad():
                        p -= lr * p.grad
                    p.grad = None  # clear
        """
    )


def test_strip_data_only_from_receivers_of_whole_statement_updates() -> None:
    source = src(
        """
        import torch


        def step(params, lr):
            for p in params:
                p.data.mul_(0.99).add_(p.grad.data, alpha=-lr)
                p.data -= lr * p.grad
                kept = p.data.add_(0)
                p.data[0] = 0.0
                p.data @= p.data
        """
    )
    result = apply(source, [range_fix(source, 5, strip_data=True)])
    assert result.module.code == src(
        """
        import torch


        def step(params, lr):
            with torch.no_grad():
                for p in params:
                    p.mul_(0.99).add_(p.grad.data, alpha=-lr)
                    p -= lr * p.grad
                    kept = p.data.add_(0)
                    p.data[0] = 0.0
                    p.data @= p.data
        """
    )


@pytest.mark.parametrize(
    "context",
    [
        "with torch.no_grad():",
        "with torch.inference_mode():",
        "with torch.set_grad_enabled(False):",
        "with open('log') as log, torch.no_grad():",
    ],
)
def test_declines_to_wrap_twice(context: str) -> None:
    source = f"import torch\n\n\ndef step(p, lr):\n    {context}\n        p -= lr * p.grad\n"
    fix = range_fix(source, 6)
    result = apply(source, [fix])
    assert result.declined == [(fix, "the statements already run with grad mode off")]
    assert result.module.code == source


@pytest.mark.parametrize("decorator", ["@torch.no_grad()", "@torch.no_grad", "@torch.inference_mode()"])
def test_declines_inside_a_decorated_function(decorator: str) -> None:
    source = f"import torch\n\n\n{decorator}\ndef step(p, lr):\n    p -= lr * p.grad\n"
    fix = range_fix(source, 6)
    assert apply(source, [fix]).declined == [(fix, "the statements already run with grad mode off")]


def test_wraps_where_grad_mode_is_switched_back_on() -> None:
    source = src(
        """
        import torch


        @torch.no_grad()
        def outer(p, lr):
            with torch.enable_grad():
                p -= lr * p.grad
        """
    )
    result = apply(source, [range_fix(source, 7)])
    assert result.declined == [] and "with torch.no_grad():\n            p -= lr * p.grad" in result.module.code


@pytest.mark.parametrize(
    ("target", "why"),
    [
        (Span(5, 4, 5, 20), "the target is not a run of whole statements of one block"),  # ends mid-line
        (Span(5, 12, 5, 30), "the target is not a run of whole statements of one block"),  # starts mid-line
        (Span(5, 4, 6, 8), "the target is not a run of whole statements of one block"),  # ends in the next line
    ],
)
def test_declines_what_is_not_whole_statements(target: Span, why: str) -> None:
    source = "import torch\n\n\ndef step(p, q, lr):\n    p -= lr * p.grad; q -= lr * q.grad\n    return p\n"
    fix = Fix(FixKind.NO_GRAD, target, "wrap")
    result = apply(source, [fix])
    assert result.declined == [(fix, why)] and result.module.code == source


def test_declines_a_target_overlapping_one_already_wrapped() -> None:
    source = src(
        """
        import torch


        def step(params, lr):
            for p in params:
                p -= lr * p.grad
        """
    )
    outer, inner = range_fix(source, 5), range_fix(source, 6)
    result = apply(source, [outer, inner])
    assert result.applied == [outer]
    assert result.declined == [(inner, "overlaps another block this pass wraps")]
