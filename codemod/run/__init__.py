"""Running the analysis over many files: the per-file ``pipeline``, the result ``cache``, ``parallel``
worker processes (``--jobs``), ``sharding`` (``--shard K/N``) and the ``progress`` bar.

What a file's processing produces (``FileResult``, ``Edit``) lives in ``gradsafe.results``.
"""
