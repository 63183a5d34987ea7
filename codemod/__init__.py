"""gradsafe: find in-place tensor mutations that break autograd, rewrite them, and prove each rewrite.

The package is the engine (``codemod``); rewrite passes live in ``transforms``.  Data flows one way:
discover files -> read (decode) -> analyse -> plan edits -> rewrite -> verify -> report / emit.
"""

# PEP 440.  A ``.devN`` version is work towards the release it names, whose notes are the
# changelog's ``[Unreleased]`` section; a release version has a ``## [X.Y.Z]`` section
# (``tests/package/test_version.py`` checks both).
__version__ = "0.1.0.dev0"
