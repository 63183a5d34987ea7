"""gradsafe: find in-place tensor mutations that break autograd, rewrite them, and prove each rewrite.

The package is the engine (``codemod``); rewrite passes live in ``transforms``.  Data flows one way:
discover files -> read (decode) -> analyse -> plan edits -> rewrite -> verify -> report / emit.
"""

__version__ = "0.1.0"
