"""The rule catalogue: every code gradsafe can report, with its documentation and examples.

A rule here is metadata: the rule module says what the code means, why it matters, and shows an
example that is bad and the code to use instead.  Those examples double as tests
(``tests/rules/test_rule_examples.py``) and as the text of ``gradsafe explain``.  The other half of each
rule, when a write breaks it, its message and its fix, is in the family module of the same name in
``gradsafe.analysis.checks``.  Everywhere else a rule is its ``Rule`` object (``SAVED_RESULT``), not
its code: the code is spelled only here, in the selection and configuration parser, and in the
traced process's table (``gradsafe.trace.runtime.events.RULE_CODES``, checked against this one).

Codes are grouped by mechanism:

* ``GS1xx`` a tensor saved for backward is overwritten
* ``GS2xx`` a leaf that requires grad, or a parameter/buffer, is mutated
* ``GS3xx`` views and ``out=``
* ``GS4xx`` writes through ``.data`` / ``.detach()`` aliases
* ``GS5xx`` a function mutates its caller's tensor
* ``GS6xx`` silent bugs: the program runs and computes something else than it appears to
* ``GS7xx`` autograd's extension points: custom Functions, function transforms
* ``GS8xx`` suppression comments (reported by ``gradsafe.settings.suppression``, not the analysis)
* ``GS9xx`` policy rules (``--policy strict``)
"""

from __future__ import annotations

from gradsafe.rules.rule import _REGISTRY
from gradsafe.rules.rule import Policy as Policy  # re-exported: the package is where users of a rule look
from gradsafe.rules.rule import Rule as Rule
from gradsafe.rules.rule import register as register


def all_rules() -> list[Rule]:
    _load()
    return sorted(_REGISTRY.values(), key=lambda r: r.code)


def get_rule(code: str) -> Rule | None:
    _load()
    return _REGISTRY.get(code.upper())


_loaded = False


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    # Importing the family modules registers their rules.
    from gradsafe.rules import (  # noqa: F401
        arguments,
        data_aliases,
        extension_points,
        leaves,
        policy,
        saved_tensors,
        silent,
        silent_aliasing,
        suppression,
        views,
    )


# Codes that are not rules of the analysis but problems with a file.
SYNTAX_ERROR = "E999"
IO_ERROR = "E902"
INTERNAL_ERROR = "E001"
