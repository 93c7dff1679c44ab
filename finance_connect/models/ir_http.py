"""Never a 500 for a URL with a NUL byte under the webhook routes, or anywhere.

A path that matches no route falls back to Odoo's attachment lookup by URL,
which PostgreSQL refuses for a string holding a NUL ("A string literal cannot
contain NUL"): a 500 for what is only an unknown URL. Such a path can name no
attachment, so it is answered 404 like any other unknown URL.
"""

from odoo import models
from odoo.http import request


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _serve_fallback(cls):
        if "\x00" in request.httprequest.path:
            return None
        return super()._serve_fallback()
