"""A message of a given age, for the retention tests of the three addons."""

from datetime import timedelta

from odoo import fields
from odoo.tools import SQL


def make_aged_message(env, connection, age_days, event_type, direction="out", **vals):
    """A message of ``connection`` (done unless ``state`` says otherwise)
    recorded ``age_days`` ago: its ``create_date`` is moved back in our own
    table through ``odoo.tools.SQL``."""
    Message = env["finance.connect.message"].sudo()
    vals.setdefault("state", "done")
    message = Message.create(
        Message._with_defaults(
            {
                "direction": direction,
                "connection_id": connection.id,
                "event_type": event_type,
                "idempotency_key": f"retention-{Message._new_reference()}",
                "payload": '{"amount": "12.50", "event": "%s"}' % event_type,
                **vals,
            }
        )
    )
    message.flush_recordset()
    when = fields.Datetime.now() - timedelta(days=age_days)
    env.cr.execute(
        SQL(
            "UPDATE finance_connect_message SET create_date = %s WHERE id = %s",
            when,
            message.id,
        )
    )
    message.invalidate_recordset(["create_date"])
    return message
