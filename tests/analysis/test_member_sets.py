"""The name sets the interpreter's rules test, as read off an op table's member sections."""

from __future__ import annotations

from gradsafe.analysis.interpreter.tables import MemberSets, member_sets
from gradsafe.analysis.optable import load, parse_table


def _table(**sections):
    factory = {"kind": "factory", "params": []}
    ops = {"torch.zeros": factory, "Tensor.new_zeros": factory, "torch.sigmoid": {"kind": "function", "params": ["input"]}}
    return parse_table({"torch_version": "x", "ops": ops, "inplace_methods": {}, **sections})


def test_sets_follow_the_measured_results() -> None:
    sets = MemberSets.of(_table(
        tensor_methods={"item": "value", "argmax": "no_grad", "sign": "zero_grad", "numpy": "shares_memory",
                        "contiguous": "self", "retain_grad": "none", "exp": "grad", "weird": "other"},
        tensor_attributes={"shape": "value", "T": "view"},
        module_methods={"eval": "self", "parameters": "parameters", "named_parameters": "named_parameters"},
        module_attributes={"training": "value"},
        factories={"torch.randperm": "fresh", "torch.as_strided": "not_fresh"},
    ))
    assert sets.no_grad_methods == {"item", "argmax", "sign", "numpy"}
    assert sets.value_methods == {"item"}
    assert sets.alias_methods == {"contiguous", "retain_grad"}
    assert sets.tensor_factory_methods == {"new_zeros"}
    assert sets.factory_names == {"zeros", "randperm", "as_tensor"}  # as_tensor: gradsafe's own
    assert sets.value_attributes == {"shape", "training", "names"}  # names: gradsafe's own
    assert sets.view_attributes == {"T"}
    assert sets.module_self_methods == {"eval"}
    assert sets.parameter_methods == {"parameters", "named_parameters"}


def test_len_and_type_are_treated_as_tensors_without_grad() -> None:
    """gradsafe's own choice, kept as it was: torch gives an int and a str."""
    sets = MemberSets.of(_table(tensor_methods={"__len__": "value", "type": "value", "dim": "value"}))
    assert sets.no_grad_methods == {"__len__", "type", "dim"}
    assert sets.value_methods == {"dim"}


def test_the_shipped_table_gives_the_sets_the_rules_were_written_with() -> None:
    sets = member_sets(load())
    assert {"item", "size", "numel", "tolist", "stride"} <= sets.value_methods
    assert {"argmax", "eq", "isnan", "sign", "numpy", "__len__"} <= sets.no_grad_methods - sets.value_methods
    assert {"to", "float", "cpu", "cuda", "contiguous", "pin_memory"} <= sets.alias_methods
    assert {"new_zeros", "new_full", "new_tensor"} <= sets.tensor_factory_methods
    assert {"zeros", "randn", "arange", "randperm", "normal"} <= sets.factory_names
    assert {"T", "mT", "H", "mH", "real", "imag"} == sets.view_attributes
    assert {"train", "eval", "to", "cuda"} <= sets.module_self_methods
    assert member_sets(load()) is sets  # computed once per table
