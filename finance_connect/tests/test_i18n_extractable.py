"""Every translatable string of the addons can be extracted.

Odoo's term extraction (babel) evaluates the arguments of ``_()`` calls; an
f-string among them makes it give up on the whole file, so the ``.pot`` of
the addon silently loses every term of that file.
"""

import ast
from pathlib import Path

from odoo.modules.module import get_module_path
from odoo.tests import BaseCase, tagged

ADDONS = ("finance_connect", "finance_connect_bank", "finance_connect_reporting")


def _translation_calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            if name in ("_", "_lt"):
                yield node


@tagged("post_install", "-at_install")
class TestI18nExtractable(BaseCase):
    def test_no_f_string_inside_translation_calls(self):
        found = []
        for addon in ADDONS:
            root = Path(get_module_path(addon)).parent
            for path in sorted((root / addon).rglob("*.py")):
                source = path.read_text(encoding="utf-8")
                for call in _translation_calls(ast.parse(source)):
                    for node in ast.walk(call):
                        if node is not call and isinstance(node, ast.JoinedStr):
                            found.append(f"{path.relative_to(root)}:{node.lineno}")
        assert not found, "f-strings inside _() calls (term extraction fails): " + ", ".join(found)
