"""The verification worker: the only part of gradsafe that imports torch and runs user code.

It runs in a subprocess (``python -m gradsafe.verify.worker``) that the parent starts, feeds jobs
and kills when it hangs or crashes (``gradsafe.verify.supervisor``).  Nothing here is imported by the
parent process.
"""
