"""The analysis half of every rule: detection, message and fix, one module per rule family.

``gradsafe.rules.<family>`` says what a rule means (its metadata and docs);
``gradsafe.analysis.checks.<family>`` decides when a write breaks it, words the finding and plans
the fix (see ``checks.base`` for the shapes of those hooks).  The families, one to one:
``saved_tensors`` (GS1), ``leaves`` (GS2), ``views`` (GS3), ``data_aliases`` (GS4),
``arguments`` (GS5), ``silent`` (GS6: GS601) with ``silent_aliasing`` (GS602, GS603),
``extension_points`` (GS7), ``policy`` (GS9).

``CHECKS`` is the order of the decision: the judge (``gradsafe.analysis.hazards``) asks each check
in turn and the first verdict wins.  The order mirrors autograd's own: a ``.data`` write is never
seen by autograd; with grad mode on, the runtime checks at the call (leaves, then views, then
``out=``); in any grad mode, the version counter of a saved tensor; then the silent failures
(a buffer joining the graph, the caller's tensor written) and last the policy rule.

``STATEMENT_CHECKS`` are the checks of rules about an expression statement rather than a write
(a discarded result, GS601): the judge asks them, in order, for every expression statement that
is a call; the first verdict wins.
"""

from __future__ import annotations

from typing import Any

from gradsafe.analysis.checks import (
    arguments,
    data_aliases,
    extension_points,
    leaves,
    policy,
    saved_tensors,
    silent,
    silent_aliasing,
    views,
)
from gradsafe.analysis.checks.base import Check, RuleAnalysis, StatementCheck
from gradsafe.rules import Rule

FAMILIES = (saved_tensors, leaves, views, data_aliases, arguments, silent, silent_aliasing, extension_points, policy)

CHECKS: tuple[Check, ...] = (
    data_aliases.write_through_data,  # GS401, GS403; no other rule for a `.data` write
    silent_aliasing.numpy_view_written,  # GS603; no other rule for a write through a NumPy view
    extension_points.transform_write,  # GS730, GS731, GS732: the transform's own rules come first
    arguments.helper_writes_leaf,  # GS502 (a leaf)
    leaves.leaf_mutated,  # GS204, GS203, GS202, GS201
    views.multi_output_view_mutated,  # GS301
    extension_points.function_view_mutated,  # GS703
    views.no_grad_view_mutated,  # GS303
    views.out_with_grad,  # GS302
    views.expanded_view_mutated,  # GS304
    extension_points.ctx_attribute_overwritten,  # GS701: kept on ctx only, no version check
    arguments.helper_overwrites_saved,  # GS502 (a saved tensor)
    data_aliases.detach_alias_overwrites_saved,  # GS402
    saved_tensors.saved_tensor_overwritten,  # GS101, GS102
    leaves.buffer_attached,  # GS205
    silent_aliasing.clobbered_read,  # GS602 (before GS501: the caller's tensor clobbered is the same write)
    extension_points.forward_mutates_input,  # GS702, before GS501: the caller is autograd itself
    arguments.argument_mutated,  # GS501
    policy.inplace_in_differentiable_code,  # GS901
)

STATEMENT_CHECKS: tuple[StatementCheck, ...] = (
    silent.discarded_result,  # GS601
)

ANALYSES: dict[Rule, RuleAnalysis[Any]] = {a.rule: a for family in FAMILIES for a in family.ANALYSES}


def analysis_of(rule: Rule) -> RuleAnalysis[Any]:
    """The message and fix of ``rule``."""
    return ANALYSES[rule]
