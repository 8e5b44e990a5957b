"""The application layer: what the commands do, on top of the library.

``runs`` (fit folders: records, locks, resume, MPI), ``tasks`` (the task farm), ``parallel`` (MPI
ranks), ``reproduce`` (the paper's figures and tables), ``forecast``, ``limits`` (light mediator),
``rates``, ``bench``. The command line (``cevns.cli``) parses flags and calls these.
"""
