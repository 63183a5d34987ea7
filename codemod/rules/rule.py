"""What a rule is (``Rule``, its ``Policy``) and the registry the family modules add theirs to.

The family modules (``gradsafe.rules.saved_tensors`` ...) import this module, and the package's
``__init__`` imports the families to list them, so the type lives here and not in ``__init__``:
that way no family imports the package that imports it.
"""

from __future__ import annotations

import enum
import textwrap
from dataclasses import dataclass, field

from gradsafe.findings import Applicability, FixKind


class Policy(str, enum.Enum):
    """``default`` reports hazards only; ``strict`` also reports every other in-place op in
    differentiable code, for teams that ban them outright."""

    DEFAULT = "default"
    STRICT = "strict"


@dataclass(frozen=True)
class Rule:
    code: str
    name: str  # kebab-case, stable
    summary: str  # one line, used in `gradsafe rules`
    what_it_does: str
    why_bad: str
    example: str  # code the rule reports (a complete, runnable-in-principle snippet)
    use_instead: str  # the same code after the fix (or the recommended manual change)
    fix_kinds: tuple[FixKind, ...] = ()
    fix_safety: str = ""
    # `unsafe`: the fix changes what the code computes on purpose (a silent bug's repair), so
    # `diff`/`fix` apply it only with `--unsafe-fixes`; every fix of the rule carries it.
    fix_applicability: Applicability = Applicability.SAFE
    # Off unless selected explicitly (`--select GS403`); policy rules are on only under that policy.
    default_enabled: bool = True
    policy: Policy = Policy.DEFAULT
    # The example must be found by the analysis, and `use_instead` must be clean.  Set to False
    # only for rules whose example needs context the snippet cannot carry.
    example_is_test: bool = True
    references: tuple[str, ...] = field(default=())
    # What a finding of this rule is called in the summary line ("Found 2 hazards ..."): singular, plural.
    noun: tuple[str, str] = ("hazard", "hazards")

    @property
    def family(self) -> str:
        return self.code[:3]

    @property
    def fix_label(self) -> str:
        if not self.fix_kinds:
            return "none (report only)"
        kinds = ", ".join(k.value for k in self.fix_kinds)
        return f"{kinds} (unsafe)" if self.unsafe_fix else kinds

    @property
    def unsafe_fix(self) -> bool:
        return bool(self.fix_kinds) and self.fix_applicability is Applicability.UNSAFE

    def explain(self) -> str:
        """The rule's documentation as Markdown, the text of `gradsafe explain CODE`."""
        parts = [
            f"# {self.code} ({self.name})",
            "",
            self.summary,
            "",
            "## What it does",
            textwrap.dedent(self.what_it_does).strip(),
            "",
            "## Why is this bad?",
            textwrap.dedent(self.why_bad).strip(),
            "",
            "## Example",
            "```python",
            textwrap.dedent(self.example).strip(),
            "```",
            "",
            "## Use instead",
            "```python",
            textwrap.dedent(self.use_instead).strip(),
            "```",
            "",
            "## Fix",
            f"Kind: {self.fix_label}.",
        ]
        if self.unsafe_fix:
            parts += [
                "",
                "The fix is **unsafe**: it changes what the code computes (that is the repair), so "
                "`gradsafe fix` and `diff` apply it only with `--unsafe-fixes` (or `unsafe-fixes = true` "
                "in `[tool.gradsafe]`); verification shows that the value the code returns changes "
                "and that backward still runs.",
            ]
        if self.fix_safety:
            parts += ["", textwrap.dedent(self.fix_safety).strip()]
        if not self.default_enabled:
            parts += ["", f"This rule is off by default; enable it with `--select {self.code}`."]
        if self.policy is Policy.STRICT:
            parts += ["", "This rule reports only under `--policy strict`."]
        return "\n".join(parts) + "\n"


_REGISTRY: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    if rule.code in _REGISTRY:
        raise ValueError(f"duplicate rule code {rule.code}")
    _REGISTRY[rule.code] = rule
    return rule
