"""Verification parts that run without torch: targets, settings, the wire, error kinds, scenario rules."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import gradsafe.verify as verify_package
from gradsafe.verify import (
    MODULE_UNIT,
    FileChange,
    SettingsError,
    TargetVerdict,
    Verdict,
    VerificationUnavailable,
    VerifySettings,
    changed_functions,
    count_targets,
    notice,
    verify,
)
from gradsafe.verify.changes import unit_at_line
from gradsafe.verify.combine import apply_scenarios
from gradsafe.verify.inplace_errors import InplaceError, classify
from gradsafe.verify.protocol import Closed, Reader, send

ORIGINAL = textwrap.dedent(
    '''
    """Doc."""
    import torch

    SCALE = 2.0

    def helper(x):
        def inner(y):
            y.mul_(2)
            return y
        return inner(x)

    def untouched(x):
        return x + 1

    class Net(torch.nn.Module):
        act = torch.nn.ReLU(inplace=True)

        def forward(self, x):
            x += 1  # in place
            return x

        def other(self):
            return 1

        class Inner:
            def step(self, t):
                t.add_(1)
    '''
)


def edit(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


class TestChangedFunctions:
    def test_a_nested_change_belongs_to_the_enclosing_function(self) -> None:
        assert changed_functions(ORIGINAL, edit(ORIGINAL, "y.mul_(2)", "y = y.mul(2)")) == ["helper"]

    def test_methods_nested_classes_and_class_bodies_are_named_by_their_path(self) -> None:
        rewritten = edit(ORIGINAL, "x += 1  # in place", "x = x + 1")
        rewritten = edit(rewritten, "t.add_(1)", "t = t.add(1)")
        rewritten = edit(rewritten, "ReLU(inplace=True)", "ReLU()")
        assert changed_functions(ORIGINAL, rewritten) == ["Net", "Net.forward", "Net.Inner.step"]

    def test_module_statements_are_one_unit(self) -> None:
        assert changed_functions(ORIGINAL, edit(ORIGINAL, "SCALE = 2.0", "SCALE = 3.0")) == [MODULE_UNIT]

    def test_formatting_comments_and_added_imports_are_not_changes(self) -> None:
        rewritten = edit(ORIGINAL, "x += 1  # in place", "x  +=  1")
        rewritten = edit(rewritten, "import torch\n", "import torch\nimport torch.nn.functional as F\n")
        assert changed_functions(ORIGINAL, rewritten) == []

    def test_a_removed_import_is_a_change(self) -> None:
        assert changed_functions(ORIGINAL, edit(ORIGINAL, "import torch\n", "")) == [MODULE_UNIT]

    def test_functions_only_one_version_has_are_not_targets(self) -> None:
        rewritten = ORIGINAL + "\ndef added(x):\n    return x\n"
        assert changed_functions(ORIGINAL, rewritten) == []

    def test_unparsable_text_raises(self) -> None:
        with pytest.raises(SyntaxError):
            changed_functions(ORIGINAL, "def broken(:\n")

    def test_unit_at_line(self) -> None:
        lines = ORIGINAL.splitlines()
        assert unit_at_line(ORIGINAL, lines.index("        y.mul_(2)") + 1) == "helper"
        assert unit_at_line(ORIGINAL, lines.index("            t.add_(1)") + 1) == "Net.Inner.step"
        assert unit_at_line(ORIGINAL, lines.index("    act = torch.nn.ReLU(inplace=True)") + 1) == "Net"
        assert unit_at_line(ORIGINAL, lines.index("SCALE = 2.0") + 1) == MODULE_UNIT

    def test_file_change_computes_targets_only_when_not_given(self) -> None:
        rewritten = edit(ORIGINAL, "x += 1  # in place", "x = x + 1")
        assert FileChange(Path("m.py"), ORIGINAL, rewritten).resolved_targets() == ("Net.forward",)
        assert FileChange(Path("m.py"), ORIGINAL, rewritten, ("helper",)).resolved_targets() == ("helper",)


class TestSettings:
    def test_config_keys_are_kebab_case_and_lists_become_tuples(self) -> None:
        settings = VerifySettings.from_config(
            {"scenarios": ["a.py:run"], "memory-mb": 512, "fd-rtol": 1e-4, "timeout": 5, "workers": 2}
        )
        assert settings.scenarios == ("a.py:run",)
        assert (settings.memory_mb, settings.fd_rtol, settings.timeout, settings.workers) == (512, 1e-4, 5, 2)

    def test_unknown_keys_are_named_with_a_suggestion(self) -> None:
        with pytest.raises(SettingsError, match=r"unknown key 'scenario' \(did you mean 'scenarios'\?\)"):
            VerifySettings.from_config({"scenario": ["a.py:run"]})

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("timeout", 0),
            ("timeout", "60"),
            ("memory-mb", 1.5),
            ("workers", True),
            ("rtol", -1.0),
            ("scenarios", "a.py:run"),
        ],
    )
    def test_bad_values_are_rejected(self, key: str, value: object) -> None:
        with pytest.raises(SettingsError, match=f"'{key}' must be"):
            VerifySettings.from_config({key: value})

    def test_the_dataclass_checks_its_values_too(self) -> None:
        with pytest.raises(SettingsError, match="'workers' must be a positive integer"):
            VerifySettings(workers=0)


def test_notice_counts_every_target() -> None:
    one = FileChange(Path("a.py"), "def f(x):\n    x.add_(1)\n", "def f(x):\n    x = x.add(1)\n")
    two = FileChange(
        Path("b.py"), ORIGINAL, edit(edit(ORIGINAL, "x += 1  # in place", "x = x + 1"), "t.add_(1)", "t = t + 1")
    )
    assert count_targets([one, two]) == 3
    assert notice([one]) == "verifying 1 rewritten function: this imports and runs your code; --no-verify to skip"
    assert notice([one, two]).startswith("verifying 3 rewritten functions:")


def test_verify_without_torch_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify_package, "torch_available", lambda python=None: False)
    change = FileChange(Path("a.py"), "def f(x):\n    x.add_(1)\n", "def f(x):\n    x = x.add(1)\n")
    with pytest.raises(VerificationUnavailable, match=r"pip install torch==2\.13\.0\) or pass --no-verify"):
        verify([change], VerifySettings(), root=Path("."))


def test_importing_the_package_does_not_import_torch() -> None:
    code = "import sys, gradsafe.verify, gradsafe.verify.supervisor; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


class TestProtocol:
    def test_messages_cross_in_order_even_when_large(self) -> None:
        read_fd, write_fd = os.pipe()
        reader = Reader(read_fd)
        big = {"event": "result", "detail": "x" * 50_000}
        try:
            send(write_fd, {"event": "ready"})
            # A message larger than the pipe buffer needs a reader while it is written.
            import threading

            writer = threading.Thread(target=send, args=(write_fd, big))
            writer.start()
            assert reader.read(time.monotonic() + 5) == {"event": "ready"}
            assert reader.read(time.monotonic() + 5) == big
            writer.join()
        finally:
            os.close(write_fd)
        with pytest.raises(Closed):
            reader.read(time.monotonic() + 5)
        os.close(read_fd)

    def test_a_missed_deadline_returns_none(self) -> None:
        read_fd, write_fd = os.pipe()
        try:
            assert Reader(read_fd).read(time.monotonic() + 0.05) is None
        finally:
            os.close(read_fd)
            os.close(write_fd)

    def test_a_line_that_is_not_a_message_is_an_error(self) -> None:
        read_fd, write_fd = os.pipe()
        try:
            os.write(write_fd, b"[1, 2]\n")
            with pytest.raises(ValueError):
                Reader(read_fd).read(time.monotonic() + 5)
        finally:
            os.close(read_fd)
            os.close(write_fd)


class TestInplaceErrors:
    @pytest.mark.parametrize(
        ("message", "kind"),
        [
            (
                "one of the variables needed for gradient computation has been modified by an inplace operation: "
                "[torch.FloatTensor [3]], which is output 0 of Sigmoid, is at version 1; expected version 0 instead.",
                InplaceError.SAVED_TENSOR,
            ),
            ("a leaf Variable that requires grad is being used in an in-place operation.", InplaceError.LEAF),
            ("a leaf Variable that requires grad has been used in an in-place operation.", InplaceError.LEAF),
            (
                "a view of a leaf Variable that requires grad is being used in an in-place operation.",
                InplaceError.LEAF_VIEW,
            ),
            (
                "Output 0 of Split is a view and is being modified inplace. This view is the output of ...",
                InplaceError.MULTI_OUTPUT_VIEW,
            ),
            (
                "Output 1 of UnbindBackward0 is a view and its base or another view of its base has been modified "
                "inplace.",
                InplaceError.MULTI_OUTPUT_VIEW,
            ),
            (
                "add(): functions with out=... arguments don't support automatic differentiation, but one of the "
                "arguments requires grad.",
                InplaceError.OUT_ARGUMENT,
            ),
            (
                "A view was created in no_grad mode and is being modified inplace with grad mode enabled.",
                InplaceError.NO_GRAD_VIEW,
            ),
        ],
    )
    def test_stable_prefixes(self, message: str, kind: InplaceError) -> None:
        assert classify("RuntimeError", message) is kind

    def test_only_runtime_errors_with_those_messages_count(self) -> None:
        assert classify("RuntimeError", "mat1 and mat2 shapes cannot be multiplied (3x4 and 5x6)") is None
        assert (
            classify("ValueError", "a leaf Variable that requires grad is being used in an in-place operation.") is None
        )

    def test_only_saved_tensor_errors_come_from_backward(self) -> None:
        assert [k for k in InplaceError if not k.raised_at_call] == [InplaceError.SAVED_TENSOR]


class TestScenarioRules:
    A, B = Path("/p/a.py"), Path("/p/b.py")

    def verdicts(self, *entries: tuple[Path, str, Verdict]) -> list[TargetVerdict]:
        return [TargetVerdict(path, name, verdict, "checked alone") for path, name, verdict in entries]

    def scenario(self, status: str, reached: list[tuple[Path, str]], blamed: tuple[Path, str] | None = None) -> dict:
        return {
            "name": "run.py:run",
            "status": status,
            "detail": "the rewrite raises KeyError" if status == "rewrite-raised" else "return['loss'] differs",
            "mismatches": [{"name": "return['loss']", "max_abs": 0.5, "max_rel": 0.1, "index": [], "note": ""}],
            "reached": [[str(p), u] for p, u in reached],
            "blamed": [str(blamed[0]), blamed[1]] if blamed else None,
        }

    def test_differing_results_reject_reached_verified_targets(self) -> None:
        result = apply_scenarios(
            self.verdicts(
                (self.A, "f", Verdict.VERIFIED), (self.A, "g", Verdict.VERIFIED), (self.B, "h", Verdict.UNVERIFIED)
            ),
            [self.scenario("differ", [(self.A, "f"), (self.B, "h")])],
        )
        assert [v.verdict for v in result] == [Verdict.REJECTED, Verdict.VERIFIED, Verdict.UNVERIFIED]
        assert result[0].mismatches[0].name == "return['loss']"
        assert "run.py:run" in result[0].detail

    def test_a_repair_explains_differing_results(self) -> None:
        before = self.verdicts((self.A, "f", Verdict.VERIFIED), (self.A, "g", Verdict.REPAIRED))
        assert apply_scenarios(before, [self.scenario("differ", [(self.A, "f"), (self.A, "g")])]) == before

    def test_a_failing_rewrite_rejects_the_blamed_target_only(self) -> None:
        result = apply_scenarios(
            self.verdicts((self.A, "f", Verdict.VERIFIED), (self.A, "g", Verdict.REPAIRED)),
            [self.scenario("rewrite-raised", [(self.A, "f"), (self.A, "g")], blamed=(self.A, "g"))],
        )
        assert [v.verdict for v in result] == [Verdict.VERIFIED, Verdict.REJECTED]
        assert "KeyError" in result[1].detail

    def test_an_unattributed_failure_rejects_everything_reached(self) -> None:
        result = apply_scenarios(
            self.verdicts(
                (self.A, "f", Verdict.VERIFIED), (self.A, "g", Verdict.REPAIRED), (self.B, "h", Verdict.VERIFIED)
            ),
            [self.scenario("rewrite-raised", [(self.A, "f"), (self.A, "g")], blamed=(self.A, "<module>"))],
        )
        assert [v.verdict for v in result] == [Verdict.REJECTED, Verdict.REJECTED, Verdict.VERIFIED]

    def test_equal_results_change_nothing(self) -> None:
        before = self.verdicts((self.A, "f", Verdict.VERIFIED))
        assert apply_scenarios(before, [self.scenario("equal", [(self.A, "f")])]) == before
