"""The part of ``gradsafe trace`` that runs inside the traced program.

Only this package is ever loaded into the user's process.  Its modules import each other
relatively and depend on nothing but the standard library and torch, because the session's
``sitecustomize`` (``bootstrap``) loads the package from its files under the private name
``_gradsafe_trace_runtime``: the program's ``sys.path`` stays as it was, and gradsafe need not be
installed in the environment being traced.

Standard library only (the parent imports these too):

* ``events``: what is observed, counted and written to the session's event log;
* ``sites``: which stack frame is user code, and where exactly;
* ``naming``: what the source calls the tensor written at a site;
* ``torch_errors``: the in-place error messages torch raises, read and reproduced;
* ``session``: starts the detector when the program imports torch;
* ``scenario``: calls ``module:function`` for ``--scenario``;
* ``bootstrap``: the ``sitecustomize`` copied into each session directory.

Importing torch (only inside a traced process, or in-process tracing):

* ``ops``: what an aten op's schema and an autograd node's type say about writes and saves;
* ``storage``: which memory a tensor occupies;
* ``detector``: the saved-tensor hooks and the two torch modes.
"""
