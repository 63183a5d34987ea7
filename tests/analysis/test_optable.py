"""The op table: the shipped JSON, what it says about well-known ops, and that it matches torch.

The spot checks below come from the verified facts (docs: torch-inplace-facts.md, sections 2 and
3.3), written down independently of the generator: if the generator misclassified an op, they fail.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from importlib import resources
from pathlib import Path
from types import ModuleType

import pytest

from gradsafe.analysis.optable import OpInfo, load, parse_table

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_optable.py"
F = "torch.nn.functional."


@pytest.fixture(scope="module")
def table():
    return load()


def shipped_text() -> str:
    return resources.files("gradsafe.analysis").joinpath("data/optable.json").read_text(encoding="utf-8")


# --- the shipped file -------------------------------------------------------------------------


def test_shipped_table_loads_and_covers_at_least_100_apis(table) -> None:
    assert table.torch_version.split("+")[0] == "2.13.0"
    assert len(table.ops) >= 100
    kinds = {info.kind for info in table.ops.values()}
    assert kinds == {"function", "method", "operator", "module", "factory"}


def test_shipped_json_is_canonical() -> None:
    """Sorted keys, one-space indent, trailing newline: regenerating gives byte-identical files."""
    text = shipped_text()
    data = json.loads(text)
    assert data["schema"] == 1
    assert text == json.dumps(data, indent=1, sort_keys=True) + "\n"


def test_every_saved_param_and_trigger_is_a_param_of_the_op(table) -> None:
    for name, info in table.ops.items():
        assert info.tensor_params <= set(info.params), name
        known = set(info.params) | ({"@params"} if info.module_params else set())
        for param, triggers in info.saved_inputs.items():
            assert param in known, (name, param)
            assert triggers <= known, (name, triggers)
        assert info.output_saved_when <= known, name
        assert info.saves_output == bool(info.output_saved_when), name


# --- spot checks from the facts doc --------------------------------------------------------------

# (api, params requiring grad, params saved, output saved) -- facts doc section 3.3
SAVED = [
    ("torch.neg", {"input"}, set(), False),
    ("torch.abs", {"input"}, {"input"}, False),
    ("torch.exp", {"input"}, set(), True),
    ("torch.log", {"input"}, {"input"}, False),
    ("torch.sqrt", {"input"}, set(), True),
    ("torch.sin", {"input"}, {"input"}, False),
    ("torch.tanh", {"input"}, set(), True),
    ("torch.sigmoid", {"input"}, set(), True),
    ("Tensor.sigmoid", {"self"}, set(), True),
    ("torch.nn.Sigmoid", {"input"}, set(), True),
    ("torch.clamp", {"input"}, {"input"}, False),
    ("torch.floor", {"input"}, set(), False),
    ("torch.sign", {"input"}, set(), False),
    ("torch.add", {"input", "other"}, set(), False),
    ("torch.sub", {"input", "other"}, set(), False),
    ("torch.mul", {"input", "other"}, {"input", "other"}, False),
    ("torch.mul", {"input"}, {"other"}, False),
    ("Tensor.__mul__", {"self", "other"}, {"self", "other"}, False),
    ("Tensor.__mul__", {"other"}, {"self"}, False),
    ("Tensor.__mul__", {"self"}, {"other"}, False),
    ("torch.div", {"input", "other"}, {"input", "other"}, False),
    ("torch.maximum", {"input", "other"}, {"input", "other"}, False),
    ("torch.atan2", {"input", "other"}, {"input", "other"}, False),
    ("torch.sum", {"input"}, set(), False),
    ("torch.mean", {"input"}, set(), False),
    ("torch.prod", {"input"}, {"input"}, True),
    ("torch.amax", {"input"}, {"input"}, True),
    ("torch.norm", {"input"}, {"input"}, True),
    ("torch.var", {"input"}, {"input"}, False),
    ("torch.std", {"input"}, {"input"}, True),
    ("torch.logsumexp", {"input"}, {"input"}, True),
    ("torch.cumsum", {"input"}, set(), False),
    ("torch.cumprod", {"input"}, {"input"}, True),
    ("torch.mm", {"input", "mat2"}, {"input", "mat2"}, False),
    ("torch.bmm", {"input", "mat2"}, {"input", "mat2"}, False),
    ("torch.dot", {"input", "tensor"}, {"input", "tensor"}, False),
    ("torch.outer", {"input", "vec2"}, {"input", "vec2"}, False),
    ("torch.softmax", {"input"}, set(), True),
    ("torch.log_softmax", {"input"}, set(), True),
    ("torch.cat", {"tensors"}, set(), False),
    ("torch.stack", {"tensors"}, set(), False),
    ("torch.index_select", {"input"}, {"index"}, False),
    ("torch.gather", {"input"}, {"input", "index"}, False),
    ("torch.masked_fill", {"input"}, {"mask"}, False),
    ("Tensor.view", {"self"}, set(), False),
    ("Tensor.t", {"self"}, set(), False),
    (F + "linear", {"input", "weight", "bias"}, {"input", "weight"}, False),
    (F + "linear", {"bias"}, set(), False),
    (F + "relu", {"input"}, set(), True),
    (F + "relu6", {"input"}, {"input"}, False),
    (F + "leaky_relu", {"input"}, {"input"}, False),
    (F + "elu", {"input"}, {"input"}, False),
    (F + "gelu", {"input"}, {"input"}, False),
    (F + "silu", {"input"}, {"input"}, False),
    (F + "mish", {"input"}, {"input"}, False),
    (F + "hardtanh", {"input"}, {"input"}, False),
    (F + "logsigmoid", {"input"}, {"input"}, False),
    (F + "layer_norm", {"input", "weight", "bias"}, {"input", "weight", "bias"}, False),
    (F + "group_norm", {"input", "weight", "bias"}, {"input", "weight"}, False),
    (F + "normalize", {"input"}, {"input"}, False),
    (F + "mse_loss", {"input", "target"}, {"input", "target"}, False),
    (F + "binary_cross_entropy_with_logits", {"input", "target"}, {"input", "target"}, False),
    (F + "conv2d", {"input", "weight", "bias"}, {"input", "weight"}, False),
    (F + "max_pool2d", {"input"}, {"input"}, False),
    (F + "avg_pool2d", {"input"}, {"input"}, False),
    (F + "embedding", {"weight"}, {"input"}, False),  # the indices, never the weight
    (F + "cross_entropy", {"input"}, {"target"}, False),  # internal values and the targets only
    ("torch.nn.Linear", {"input", "@params"}, {"input", "@params"}, False),
    ("torch.nn.Linear", {"@params"}, {"input"}, False),  # frozen input: the weight is not saved
]


@pytest.mark.parametrize(("name", "requiring_grad", "saved", "output"), SAVED)
def test_saved_tensors_match_the_facts_doc(table, name, requiring_grad, saved, output) -> None:
    info = table.lookup(name)
    assert info is not None, name
    assert info.saved_params(requiring_grad) == saved
    assert info.output_saved(requiring_grad) is output


def test_batch_norm_saves_input_and_weight_not_bias(table) -> None:
    info = table.lookup(F + "batch_norm")
    saved = info.saved_params({"input", "weight", "bias"})
    assert {"input", "weight"} <= saved
    assert "bias" not in saved


def test_calls_the_source_can_tell_apart_get_exact_variants(table) -> None:
    power = table.lookup("torch.pow")
    assert power.output_saved({"input"})  # the union: x ** t saves its result
    by_number = power.for_arguments({"input": "tensor", "exponent": "value"})
    assert by_number.saved_params({"input"}) == {"input"} and not by_number.output_saved({"input"})
    by_tensor = power.for_arguments({"input": "tensor", "exponent": "tensor"})
    assert by_tensor.saved_params({"input", "exponent"}) == {"input", "exponent"}
    assert by_tensor.output_saved({"input", "exponent"})

    maximum = table.lookup("torch.max")
    overall = maximum.for_arguments({"input": "tensor"})
    assert overall.saved_params({"input"}) == {"input"} and overall.output_saved({"input"})
    along_dim = maximum.for_arguments({"input": "tensor", "dim": "value"})
    assert along_dim.saved_params({"input"}) == set() and not along_dim.output_saved({"input"})

    item = table.lookup("Tensor.__getitem__")
    assert item.for_arguments({"self": "tensor", "indices": "value"}).view == "view"  # x[1:3]
    assert item.for_arguments({"self": "tensor", "indices": "tensor"}).view is None  # x[idx] copies


def test_views(table) -> None:
    for name in ("Tensor.chunk", "Tensor.split", "Tensor.unbind", "torch.chunk", "torch.split", "torch.unbind"):
        assert table.lookup(name).view == "multi_view", name
    assert table.lookup("Tensor.tensor_split").view == "view"
    assert table.lookup("torch.tensor_split").view == "view"
    for name in ("Tensor.view", "Tensor.t", "Tensor.transpose", "Tensor.expand", "Tensor.narrow", "Tensor.select"):
        assert table.lookup(name).view == "view", name
    assert table.lookup("Tensor.detach").view == "detach"  # shares the version counter
    assert table.lookup("Tensor.clone").view is None


def test_in_place_forms(table) -> None:
    # facts doc 2g: in-place relu/sigmoid/tanh/exp/sqrt and leaky_relu/elu/selu/celu save their result
    for name in ("torch.relu", "torch.sigmoid", "torch.tanh", "torch.exp", "torch.sqrt", F + "relu"):
        assert table.lookup(name).inplace_saves == "output", name
    for name in ("leaky_relu", "elu", "selu", "celu"):
        assert table.lookup(F + name).inplace_saves == "output", name
    # ... while hardtanh_, relu6, silu, hardswish, hardsigmoid, mish, threshold, sin_, abs_, clamp_
    # keep a private copy of their input
    for name in ("hardtanh", "relu6", "silu", "hardswish", "hardsigmoid", "mish", "threshold"):
        assert table.lookup(F + name).inplace_saves == "input_copy", name
    for name in ("torch.sin", "torch.abs", "torch.clamp"):
        assert table.lookup(name).inplace_saves == "input_copy", name
    squared = table.lookup("torch.pow").for_arguments({"input": "tensor", "exponent": "value"})
    assert squared.inplace_saves == "input_copy"
    dropout = table.lookup(F + "dropout").for_arguments({"input": "tensor", "p": "value"})
    assert dropout.inplace_saves == "mask"
    assert table.lookup("torch.nn.ReLU").inplace_kwarg and table.lookup("torch.nn.ReLU").inplace_saves == "output"
    assert table.lookup("torch.nn.Hardtanh").inplace_saves == "input_copy"
    assert table.lookup("torch.sigmoid").inplace_variant == "sigmoid_"
    assert table.lookup("Tensor.__add__").inplace_variant == "__iadd__"
    assert table.lookup("Tensor.__matmul__").inplace_variant is None  # `@=` is not in-place (2f)
    assert not table.lookup(F + "gelu").inplace_kwarg


def test_in_place_methods(table) -> None:
    methods = table.inplace_methods
    assert methods["add_"].out_of_place == "add"
    assert methods["relu_"].saves == "output"
    assert methods["sigmoid_"].saves == "output"
    assert methods["clamp_"].saves == "input_copy"
    assert methods["abs_"].saves == "input_copy"
    assert methods["zero_"].out_of_place is None
    assert methods["copy_"].mutates_data
    for name in ("requires_grad_", "detach_", "share_memory_"):
        assert not methods[name].mutates_data, name
    assert methods["mul_"].equivalence_checked and methods["sigmoid_"].equivalence_checked
    assert all(name.endswith("_") and not name.endswith("__") for name in methods)


def test_in_place_functions(table) -> None:
    functions = table.inplace_functions
    assert functions["torch.relu_"] == "torch.relu"
    assert functions["torch.sigmoid_"] == "torch.sigmoid"
    assert functions[F + "relu_"] == F + "relu"
    for name in ("elu_", "leaky_relu_", "hardtanh_", "threshold_"):
        assert functions[F + name] == F + name[:-1]


def test_non_differentiable_and_factories(table) -> None:
    for name in ("torch.argmax", "Tensor.__lt__", "torch.eq", "Tensor.size", "torch.isnan", "torch.nonzero"):
        assert not table.lookup(name).differentiable, name
    for name in ("torch.zeros", "torch.ones", "torch.full", "torch.randn", "torch.zeros_like", "Tensor.new_zeros"):
        info = table.lookup(name)
        assert info.kind == "factory" and not info.differentiable and not info.saved_inputs, name
    assert table.lookup("torch.nn.Linear").module_params
    assert not table.lookup("torch.nn.ReLU").module_params


# What tensor and module members give back (torch docs: Tensor.item, Tensor.numpy "shares the same
# underlying storage", Tensor.contiguous "if already contiguous, returns self", Tensor.T, nn.Module.eval
# "returns self"; sign's derivative is zero, comparisons and argmax return tensors without grad).
MEMBERS = [
    ("tensor_methods", "item", "value"),
    ("tensor_methods", "size", "value"),
    ("tensor_methods", "tolist", "value"),
    ("tensor_methods", "numpy", "shares_memory"),
    ("tensor_methods", "untyped_storage", "shares_memory"),
    ("tensor_methods", "argmax", "no_grad"),
    ("tensor_methods", "eq", "no_grad"),
    ("tensor_methods", "long", "no_grad"),
    ("tensor_methods", "sign", "zero_grad"),
    ("tensor_methods", "contiguous", "self"),
    ("tensor_methods", "to", "self"),
    ("tensor_methods", "float", "self"),
    ("tensor_methods", "retain_grad", "none"),
    ("tensor_attributes", "shape", "value"),
    ("tensor_attributes", "grad_fn", "value"),
    ("tensor_attributes", "T", "view"),
    ("tensor_attributes", "mT", "view"),
    ("tensor_attributes", "real", "view"),
    ("module_methods", "eval", "self"),
    ("module_methods", "to", "self"),
    ("module_methods", "cuda", "self"),
    ("module_methods", "parameters", "parameters"),
    ("module_methods", "named_parameters", "named_parameters"),
    ("module_attributes", "training", "value"),
    ("factories", "torch.randperm", "fresh"),
    ("factories", "torch.bernoulli", "fresh"),  # its gradient is zero
    ("factories", "torch.from_numpy", "fresh"),
]


@pytest.mark.parametrize(("section", "name", "result"), MEMBERS)
def test_what_members_give_back(table, section, name, result) -> None:
    assert getattr(table, section)[name] == result


def test_member_sections_only_hold_known_results(table) -> None:
    results = {
        "tensor_methods": {"value", "shares_memory", "no_grad", "zero_grad", "self", "none"},
        "tensor_attributes": {"value", "view"},
        "module_methods": {"self", "parameters", "named_parameters"},
        "module_attributes": {"value"},
        "factories": {"fresh"},
    }
    for section, known in results.items():
        assert getattr(table, section) and set(getattr(table, section).values()) <= known, section


# --- the OpInfo helpers, on a hand-written table ---------------------------------------------------


def test_for_arguments_narrows_to_a_matching_variant_only() -> None:
    entry = {
        "kind": "function",
        "params": ["input", "exponent"],
        "tensor_params": ["exponent", "input"],
        "saved_inputs": {"input": ["input"]},
        "saves_output": True,
        "output_saved_when": ["exponent"],
        "variants": [
            {
                "arguments": {"input": "tensor", "exponent": "value"},
                "saved_inputs": {"input": ["input"]},
                "saves_output": False,
                "output_saved_when": [],
                "view": None,
                "inplace_saves": "input_copy",
            }
        ],
        "view": None,
        "inplace_saves": "output",
    }
    info: OpInfo = parse_table(
        {"torch_version": "x", "ops": {"f": entry}, "inplace_methods": {}, "inplace_functions": {}}
    ).ops["f"]
    narrowed = info.for_arguments({"exponent": "value", "input": "tensor"})
    assert narrowed.inplace_saves == "input_copy" and not narrowed.output_saved({"exponent"})
    assert narrowed.params == ("input", "exponent") and narrowed.variants == ()
    assert info.for_arguments({"input": "tensor"}) is info
    assert info.output_saved({"exponent"}) and not info.output_saved({"input"})
    assert info.saved_params({"exponent"}) == set() and info.saved_params({"input"}) == {"input"}


def test_output_saved_without_triggers_falls_back_to_saves_output() -> None:
    entry = {"kind": "function", "params": ["input"], "saves_output": True}
    info = parse_table({"torch_version": "x", "ops": {"f": entry}, "inplace_methods": {}}).ops["f"]
    assert info.output_saved({"input"}) and not info.output_saved(set())


# --- against torch ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("build_optable", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.mark.torch
def test_confirmation_rejects_a_wrong_classification(generator) -> None:
    """The bump experiment has teeth: claiming sigmoid saves nothing must fail the build."""
    api = next(api for api in generator.CATALOGUE if api.name == "torch.sigmoid")
    sample, grads = api.samples[0], frozenset({"input"})
    builder = generator.Builder()
    builder.confirm(api, sample, grads, {"output"})
    with pytest.raises(generator.BuildError, match="backward failed after bumping"):
        builder.confirm(api, sample, grads, set())


@pytest.mark.torch
def test_wrong_parameter_names_are_rejected(generator) -> None:
    api = generator.call("torch.mul", "input factor", generator.X, generator.X)
    with pytest.raises(generator.BuildError, match="parameter names"):
        generator.Builder().check_param_names(api, api.samples[0])


@pytest.mark.torch
def test_saved_views_are_classified_by_storage(generator) -> None:
    import torch

    weight = torch.ones(2, 4)
    candidates = [("input", torch.ones(3, 4)), ("weight", weight)]
    assert generator.classify(weight.t(), candidates) == "weight"  # F.linear saves W.t()
    assert generator.classify(torch.ones(2, 4), candidates) == "internal"


def _differences(shipped: dict, fresh: dict) -> list[str]:
    lines = []
    for key in ("schema", "torch_version"):
        if shipped.get(key) != fresh.get(key):
            lines.append(f"{key}: {shipped.get(key)!r} -> {fresh.get(key)!r}")
    for section in ("ops", "inplace_methods", "inplace_functions", "tensor_methods", "tensor_attributes",
                    "module_methods", "module_attributes", "factories"):
        old, new = shipped.get(section, {}), fresh.get(section, {})
        lines += [f"{section}: {name} added" for name in sorted(new.keys() - old.keys())]
        lines += [f"{section}: {name} removed" for name in sorted(old.keys() - new.keys())]
        for name in sorted(old.keys() & new.keys()):
            before, after = old[name], new[name]
            if before == after:
                continue
            if not isinstance(before, dict):
                lines.append(f"{section}: {name}: {before!r} -> {after!r}")
                continue
            for field in sorted(before.keys() | after.keys()):
                if before.get(field) != after.get(field):
                    lines.append(f"{section}: {name}.{field}: {before.get(field)!r} -> {after.get(field)!r}")
    return lines


@pytest.mark.torch
@pytest.mark.slow
def test_shipped_table_matches_a_fresh_build(generator) -> None:
    """Regenerates the whole table (a few seconds) and compares it with the shipped JSON."""
    import torch

    shipped = json.loads(shipped_text())
    if shipped["torch_version"] != torch.__version__:
        pytest.skip(f"table is for torch {shipped['torch_version']}, running {torch.__version__}")
    fresh = json.loads(generator.render(generator.build_table()))
    differences = _differences(shipped, fresh)
    assert not differences, "optable.json is stale; run scripts/build_optable.py:\n" + "\n".join(differences[:50])
