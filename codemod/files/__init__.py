"""Files in and out: ``discovery`` (paths to Python files), ``loading`` and ``source`` (bytes to text
and back), ``paths`` (how files are named in reports) and ``writing`` (safe write-back)."""
