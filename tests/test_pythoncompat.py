"""The ast.parse lock (a CPython < 3.13 threading bug work-around) keeps parsing."""

import ast

from odoo.addons.finance_connect.lib import pythoncompat


def test_parse_is_wrapped_once_and_still_parses():
    pythoncompat.serialize_ast_parse()
    pythoncompat.serialize_ast_parse()
    assert getattr(ast.parse, "_finance_connect_locked", False)
    assert not getattr(ast.parse.__wrapped__, "_finance_connect_locked", False)
    assert ast.literal_eval("{'name': 'x', 'depends': ['account']}")["depends"] == ["account"]
