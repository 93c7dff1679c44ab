"""Work-around for a CPython threading bug hit by Odoo's threaded HTTP server.

On CPython before 3.13, ``ast.parse`` called from several threads at once can
raise ``SystemError: AST constructor recursion depth mismatch`` (CPython issue
gh-106905). Odoo's HTTP server parses every addon manifest with
``ast.literal_eval`` when the first static file is served, from as many
threads as the browser opens connections, and a request then fails with a 500.
Serialising ``ast.parse`` behind one lock removes the race; parsing is rare
and short, so the lock costs nothing measurable.
"""

import ast
import sys
import threading

_LOCK = threading.Lock()


def serialize_ast_parse():
    """Wrap ``ast.parse`` in a process-wide lock (idempotent; no-op on 3.13+)."""
    if sys.version_info >= (3, 13) or getattr(ast.parse, "_finance_connect_locked", False):
        return
    original = ast.parse

    def parse(*args, **kwargs):
        with _LOCK:
            return original(*args, **kwargs)

    parse._finance_connect_locked = True
    parse.__wrapped__ = original
    parse.__doc__ = original.__doc__
    ast.parse = parse
