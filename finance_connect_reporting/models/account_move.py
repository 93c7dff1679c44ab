"""The posting marker of journal entries: the pull feeds' watermark.

``account_move.fc_post_xid`` (a plain ``bigint`` column, not an ORM field)
holds the PostgreSQL transaction id (``pg_current_xact_id()``) of the
transaction that last posted the entry; 0 for entries posted before this
addon was installed. See ``readme/DEVELOP.md`` for why a transaction id.
"""

from odoo import models
from odoo.tools import SQL
from odoo.tools.sql import column_exists, create_column, create_index


class AccountMove(models.Model):
    _inherit = "account.move"

    def _auto_init(self):
        # EXTENDS account: a bigint column the ORM does not manage.
        res = super()._auto_init()
        cr = self.env.cr
        if not column_exists(cr, "account_move", "fc_post_xid"):
            create_column(cr, "account_move", "fc_post_xid", "int8")
            cr.execute(SQL("UPDATE account_move SET fc_post_xid = 0 WHERE state = 'posted'"))
        create_index(cr, "account_move_fc_post_xid_index", "account_move", ["fc_post_xid"])
        # The feeds filter on COALESCE(fc_post_xid, 0): an index on the expression
        # gives the planner its statistics (else a guessed 0.5 % selectivity and a
        # bad plan for pull pages) and a usable index for small windows.
        create_index(
            cr,
            "account_move_fc_post_marker_index",
            "account_move",
            ["(COALESCE(fc_post_xid, 0))"],
        )
        return res

    def _post(self, soft=True):
        # EXTENDS account: stamp the posting transaction, wake event feeds.
        posted = super()._post(soft=soft)
        if posted:
            marker = self.env["finance.connect.feed"]._post_marker()
            self.env.cr.execute(
                SQL(
                    "UPDATE account_move SET fc_post_xid = %s WHERE id IN %s",
                    marker,
                    tuple(posted.ids),
                )
            )
            self.env["finance.connect.feed"]._on_moves_posted(posted)
        return posted
