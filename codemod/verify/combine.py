"""Letting whole-program scenario results overrule per-target verdicts.

Each target is judged in isolation, on recorded inputs.  A scenario runs the whole program, and can
see what isolation cannot (state that flows between calls, a call the recording missed).  Two rules:

* the rewritten scenario **raised**: the unit where it failed (the innermost frame in a changed
  file) is rejected; if that unit is not a target, no target the scenario reached may pass;
* the scenario's results **differ** while no target anywhere was repaired (a repair is expected to
  change results): every verified target the scenario reached is rejected;
* the **original raised** an in-place error and the rewrite ran the scenario through: every verified
  target the scenario reached is ``repaired`` (its rewrite computes what the original did alone, and
  together they turn a failing program into a running one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from gradsafe.verify.verdicts import Mismatch, TargetVerdict, Verdict


def apply_scenarios(verdicts: list[TargetVerdict], scenarios: Iterable[dict[str, Any]]) -> list[TargetVerdict]:
    """``verdicts`` (with resolved paths) after the scenario rules."""
    result = list(verdicts)
    # An unsafe fix's target (`changed`) changes results on purpose, as a repair does.
    any_repaired = any(v.verdict in (Verdict.REPAIRED, Verdict.CHANGED) for v in result)
    for scenario in scenarios:
        reached = {(Path(p), unit) for p, unit in scenario.get("reached", ())}
        mismatches = tuple(Mismatch.from_json(m) for m in scenario.get("mismatches", ()))
        status = scenario["status"]
        if status == "rewrite-raised":
            blamed = tuple(scenario["blamed"]) if scenario.get("blamed") else None
            blamed_key = (Path(blamed[0]), blamed[1]) if blamed else None
            is_target = any((v.path, v.qualname) == blamed_key for v in result)
            for i, v in enumerate(result):
                hit = (v.path, v.qualname) == blamed_key if is_target else (v.path, v.qualname) in reached
                if hit and v.verdict is not Verdict.REJECTED:
                    result[i] = replace(
                        v,
                        verdict=Verdict.REJECTED,
                        detail=f"scenario {scenario['name']}: {scenario['detail']}",
                        how=f"scenario {scenario['name']}",
                    )
        elif status == "original-inplace-error":
            for i, v in enumerate(result):
                if v.verdict is Verdict.VERIFIED and (v.path, v.qualname) in reached:
                    result[i] = replace(
                        v,
                        verdict=Verdict.REPAIRED,
                        detail=f"scenario {scenario['name']}: {scenario['detail']}; {v.detail}",
                        how=f"scenario {scenario['name']}",
                    )
        elif status == "differ" and not any_repaired:
            for i, v in enumerate(result):
                if v.verdict is Verdict.VERIFIED and (v.path, v.qualname) in reached:
                    result[i] = replace(
                        v,
                        verdict=Verdict.REJECTED,
                        detail=f"scenario {scenario['name']} gives different results ({scenario['detail']}), "
                        "although this function alone computes the same",
                        how=f"scenario {scenario['name']}",
                        mismatches=mismatches,
                    )
    return result
