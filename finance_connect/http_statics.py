"""Odoo's map of static folders is built by one thread at a time.

CPython 3.11 before 3.11.8 (this project's virtualenv runs 3.11.7) counts the
depth of the AST it builds in ``ast.parse`` in one counter per interpreter
(gh-106905, fixed by python/cpython#113476): when a garbage collection inside
one thread's parse runs Python code (a weak-set callback, a finaliser) and
another thread parses meanwhile, the first raises ``SystemError: AST
constructor recursion depth mismatch``.

In Odoo the parse that many threads run at once is ``Application.statics``:
the first requests of a browser, each in its own thread of the threaded
server, all build the map of static folders by reading every addon manifest
(about 600) with ``ast.literal_eval``. A tour hit the error there (a 500 on a
static file). Building the map under a lock makes the other threads wait for
the first one and take its result: the manifests are parsed once, by one
thread. No other parse is touched.
"""

import threading

from odoo import http
from odoo.tools import lazy_property

_LOCK = threading.Lock()
_build_statics = http.Application.statics.fget


def statics(self):
    with _LOCK:
        # A thread that waited finds the map built by the one before it.
        if "statics" not in vars(self):
            vars(self)["statics"] = _build_statics(self)
        return vars(self)["statics"]


statics.__doc__ = _build_statics.__doc__
http.Application.statics = lazy_property(statics)
