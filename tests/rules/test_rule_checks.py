"""The rule families are complete and consistent: catalogue, analysis, runtime codes, fix parameters.

* every rule of the catalogue (``gradsafe.rules``) has its analysis (message and fix) in the
  family module of ``gradsafe.analysis.checks`` with the same name, and every family has both -
  but for the family of rules on suppression comments (``rules.suppression``, GS8), which
  ``gradsafe.settings.suppression`` reports;
* the order of checks is one tuple, each check a function of a family module, none twice;
* rule codes appear as string literals only in the rule modules, the selection and configuration
  parser, and the runtime's table (``trace/runtime/events.py``), which matches the catalogue;
* every fix kind has its typed parameters, each pass reads its own, and the stored form (what the
  result cache writes) turns back into the same parameters.
"""

from __future__ import annotations

import ast
import importlib
import pickle
import pkgutil
import re
from pathlib import Path

import pytest

import gradsafe.analysis.checks as checks
import gradsafe.rules
from gradsafe.findings import Fix, FixKind, FixParams, Span, params_type
from gradsafe.rules import all_rules, get_rule
from gradsafe.settings import suppression
from gradsafe.trace.runtime import events
from gradsafe.transforms import get_pass
from gradsafe.transforms.params import CloneParams, HelperReturnParams, OutOfPlaceParams, ParameterLocalParams

ENGINE = Path(gradsafe.__file__).parent
PASSES = Path(gradsafe.transforms.__file__).parent
# The families the analysis reports; `suppression` (GS8) is reported by the suppression stage,
# `docs` renders the reference and `rule` holds the Rule type and the registry.
RULE_FAMILIES = sorted(
    i.name for i in pkgutil.iter_modules(gradsafe.rules.__path__) if i.name not in ("docs", "rule", "suppression")
)


def test_the_check_families_are_the_rule_families() -> None:
    assert sorted(f.__name__.rsplit(".", 1)[1] for f in checks.FAMILIES) == RULE_FAMILIES


@pytest.mark.parametrize("family", RULE_FAMILIES)
def test_a_family_module_analyses_exactly_the_rules_of_its_rule_module(family: str) -> None:
    rules_module = importlib.import_module(f"gradsafe.rules.{family}")
    declared = {id(v) for v in vars(rules_module).values() if isinstance(v, gradsafe.rules.Rule)}
    analysed = [a.rule for a in importlib.import_module(f"gradsafe.analysis.checks.{family}").ANALYSES]
    assert len(analysed) == len(set(map(id, analysed)))
    assert {id(r) for r in analysed} == declared


def test_every_rule_has_one_analysis() -> None:
    analysed = [rule for rule in all_rules() if rule not in suppression.RULES]
    assert sorted(r.code for r in checks.ANALYSES) == [r.code for r in analysed]
    assert all(checks.analysis_of(rule).rule is rule for rule in analysed)


def test_the_suppression_stage_reports_exactly_the_rules_of_its_family() -> None:
    family = importlib.import_module("gradsafe.rules.suppression")
    declared = [v for v in vars(family).values() if isinstance(v, gradsafe.rules.Rule)]
    assert sorted(r.code for r in declared) == sorted(r.code for r in suppression.RULES)
    assert not set(suppression.RULES) & set(checks.ANALYSES)


def test_the_order_of_checks_names_each_check_once_and_each_family_has_one() -> None:
    ordered = (*checks.CHECKS, *checks.STATEMENT_CHECKS)
    assert len(set(ordered)) == len(ordered)
    modules = {check.__module__ for check in ordered}
    assert modules == {f.__name__ for f in checks.FAMILIES}


def test_the_runtime_codes_match_the_catalogue() -> None:
    for name, code in events.RULE_CODES.items():
        rule = get_rule(code)
        assert rule is not None and rule.name == name, (name, code)
    assert events.OVERWRITES <= set(events.RULE_CODES.values())


# Where a rule code may be spelled as a string: the rule modules, the selection and configuration
# parser, the runtime's checked table.
_CODE = re.compile(r"GS\d{3}")
_MAY_SPELL_CODES = ("rules/", "settings/", "trace/runtime/events.py")


def _code_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        and _CODE.fullmatch(node.value)
    ]


def test_rule_codes_are_spelled_only_where_rules_are_defined_or_parsed() -> None:
    found = []
    for root in (ENGINE, PASSES):
        for path in sorted(root.rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if root == ENGINE and relative.startswith(_MAY_SPELL_CODES):
                continue
            found += [f"{relative}:{line}: {text}" for line, text in _code_literals(path)]
    assert found == []


def test_the_scan_sees_a_code_literal() -> None:
    sample = Path(gradsafe.rules.__file__).parent / "views.py"
    assert ("GS301" in {text for _, text in _code_literals(sample)})


# ---------------------------------------------------------------------- fix parameters
def test_every_fix_kind_has_parameters_and_its_pass_reads_them() -> None:
    for kind in FixKind:
        params = params_type(kind)
        assert issubclass(params, FixParams) and params.kind is kind
        module = importlib.import_module(type(get_pass(kind)).__module__)
        assert module.Params is params, kind


SAMPLES = [
    OutOfPlaceParams(name="h", form="method", read_later=False, method="mul_", replacement="mul"),
    OutOfPlaceParams(name=None, form="method", method="add_", replacement="add", read_later=False),
    CloneParams(mode="expression"),
    CloneParams(name="y", mode="statement"),
    ParameterLocalParams(attr="self.w", local="w", operator="+=", function=Span(1, 0, 3, 0)),
    HelperReturnParams(helper="scale_", param="h", calls=(Span(5, 4, 5, 13),), index=0),
]


@pytest.mark.parametrize("params", SAMPLES, ids=lambda p: type(p).__name__)
def test_the_stored_form_makes_the_same_fix(params: FixParams) -> None:
    fix = Fix(params.kind, Span(1, 0, 1, 5), "d", params=params)
    stored = dict(fix.params)
    again = Fix(params.kind, Span(1, 0, 1, 5), "d", params=stored)
    assert again == fix and again.params == params and hash(again) == hash(fix)
    assert pickle.loads(pickle.dumps(fix)) == fix


def test_the_stored_form_leaves_out_optional_fields_at_their_default() -> None:
    assert dict(CloneParams(mode="expression")) == {"mode": "expression"}
    assert OutOfPlaceParams(name="x", form="augassign", operator="+=").keys() == ["name", "form", "read_later", "operator"]


def test_a_fix_refuses_parameters_of_another_kind() -> None:
    with pytest.raises(TypeError):
        Fix(FixKind.NO_GRAD, Span(1, 0, 1, 5), "d", params=CloneParams(mode="statement", name="x"))
    with pytest.raises(TypeError):
        CloneParams.of(Fix(FixKind.NO_GRAD, Span(1, 0, 1, 5), "d"))
