"""GS8xx: suppression comments that silence nothing or name no rule."""

from gradsafe.rules.rule import Rule, register

UNUSED_SUPPRESSION = register(
    Rule(
        noun=("suppression warning", "suppression warnings"),
        code="GS801",
        name="unused-suppression",
        summary="A suppression comment that silences no finding (as ruff's RUF100; off by default)",
        what_it_does="""
            Reports a `# gradsafe: ignore`, `# gradsafe: ignore[...]`, `# noqa: GS...` or
            `# gradsafe: ignore-file[...]` comment that silences no finding: the hazard it was
            written for has been fixed or the code moved.  A code that is not selected for the file
            (`GS901` outside `--policy strict`, a rule ignored in the configuration) is not counted as
            unused, since the comment may be needed under another configuration.
        """,
        why_bad="""
            A stale suppression silences the next hazard written on its line without anyone
            noticing.  Removing it keeps the suppressions a list of decisions someone still stands by.
        """,
        example="""
            import torch

            def scale(x):
                y = x * 2
                y.mul_(3)  # gradsafe: ignore[GS101]
                return y
        """,
        use_instead="""
            import torch

            def scale(x):
                y = x * 2
                y.mul_(3)
                return y
        """,
        default_enabled=False,
        example_is_test=False,  # reported by the suppression stage (`gradsafe.settings.suppression`), not the analysis
    )
)

UNKNOWN_SUPPRESSION_CODE = register(
    Rule(
        noun=("suppression warning", "suppression warnings"),
        code="GS802",
        name="unknown-suppression-code",
        summary="A suppression comment names a code that is no gradsafe rule (`# gradsafe: ignore[GS999]`)",
        what_it_does="""
            Reports a code in a `# gradsafe: ignore[...]`, `# gradsafe: ignore-file[...]` or
            `# noqa: GS...` comment that is neither a rule code nor the prefix of one
            (`gradsafe rules` lists them).
        """,
        why_bad="""
            A mistyped code silences nothing, so the finding the comment was meant for is still
            reported - or, worse, a later rule that takes the code is silenced by a comment written
            for something else.
        """,
        example="""
            import torch

            def f(x):
                y = x.exp()
                return y  # gradsafe: ignore[GS999]
        """,
        use_instead="""
            import torch

            def f(x):
                y = x.exp()
                return y
        """,
        example_is_test=False,  # reported by the suppression stage (`gradsafe.settings.suppression`), not the analysis
    )
)
