from .lib import pythoncompat

pythoncompat.serialize_ast_parse()

from . import controllers  # noqa: E402
from . import models  # noqa: E402
from . import wizards  # noqa: E402
