"""Rows about one Odoo record (``res_model`` / ``res_id``): open that record."""

from odoo import models
from odoo.exceptions import UserError


class FinanceConnectRecordLinkMixin(models.AbstractModel):
    """For models that point at one Odoo record of any model.

    The inheriting model declares ``res_model`` (Char), ``res_id``
    (Many2oneReference) and ``res_name`` (Char, the name kept when the link
    was made); the mixin reads the record back and opens it.
    """

    _name = "finance.connect.record.link.mixin"
    _description = "Finance Connect link to a related record"

    def _get_linked_record(self):
        """The related record, or ``None`` when there is none: no link, the
        record was deleted, or its model is no longer installed. Not checked
        against the user's access rights."""
        self.ensure_one()
        if not self.res_model or not self.res_id or self.res_model not in self.env:
            return None
        return self.env[self.res_model].browse(self.res_id).exists() or None

    def action_open_record(self):
        """Open the related record in its form view (the "Open record" button).

        A row without a related record, or whose record no longer exists,
        raises a ``UserError`` saying so; a user who may not read the record
        gets an ``AccessError``. EXTEND to open another view: call ``super()``
        and adapt the action it returns.
        """
        self.ensure_one()
        if not self.res_model or not self.res_id:
            raise UserError(self.env._("%(name)s has no related record.", name=self.display_name))
        record = self._get_linked_record()
        if not record:
            gone = f"{self.res_name or ''} ({self.res_model} #{self.res_id})".strip()
            raise UserError(
                self.env._(
                    "%(row)s: the related record %(record)s no longer exists.",
                    row=self.display_name,
                    record=gone,
                )
            )
        record.check_access("read")
        return {
            "type": "ir.actions.act_window",
            "res_model": record._name,
            "res_id": record.id,
            "view_mode": "form",
        }
