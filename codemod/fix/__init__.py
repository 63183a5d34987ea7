"""Fixing: the fix ``loop`` (apply, re-analyse, repeat), the ``safety_check`` every rewrite passes,
``hunks`` (what a rewrite changed, by line) and ``resolution`` (which findings a rewrite resolves)."""
