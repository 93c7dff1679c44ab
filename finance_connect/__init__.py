from .lib import pythoncompat

pythoncompat.serialize_ast_parse()

from . import controllers, models, wizards  # noqa: E402 - after the ast.parse lock
