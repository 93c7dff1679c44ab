"""Batch subscriptions map their items like real-time messages: an unmapped value
holds its item (not the batch), and the item joins a later batch once mapped."""

import json

from odoo import Command
from odoo.tests import tagged

from .common import FinanceConnectCase


@tagged("post_install", "-at_install")
class TestBatchMapping(FinanceConnectCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.connection.subscription_ids.filtered(
            lambda s: s.event_type == "invoice.posted"
        ).mode = "batch"
        cls.mapping = cls.env["finance.connect.mapping"].create(
            {
                "name": "Debtors",
                "company_id": cls.company_data["company"].id,
                "connection_ids": [Command.link(cls.connection.id)],
            }
        )
        cls.partner_a.write({"ref": "C-1", "vat": False})
        cls.partner_b.write({"ref": "X-2", "vat": False})
        cls.map_partner("C-1", "DEB-1")

    @classmethod
    def map_partner(cls, ref, code):
        return cls.env["finance.connect.mapping.line"].create(
            {
                "mapping_id": cls.mapping.id,
                "mapping_type": "partner",
                "partner_key": "ref",
                "source_value": ref,
                "external_code": code,
            }
        )

    def send_batches(self):
        with self.run_jobs():
            self.env["finance.connect.subscription"]._cron_send_batches()
        return [json.loads(d["body"]) for d in self.sandbox.deliveries("/events")]

    def test_unmapped_item_waits_out_of_the_batch_and_joins_the_next_once(self):
        with self.run_jobs():
            mapped = self.post_invoice(10.0)
            unmapped = self.post_invoice(20.0, partner=self.partner_b)
        ready, held = self.messages_of(mapped), self.messages_of(unmapped)
        self.assertEqual((ready.state, ready.waiting_for), ("new", False))
        self.assertEqual((held.state, held.waiting_for), ("new", "partner:ref:X-2"))
        self.assertIn("X-2", held.error)
        exc = self.env["finance.connect.exception"].search(
            [("category", "=", "mapping"), ("connection_id", "=", self.connection.id)]
        )
        self.assertEqual(len(exc), 1)
        self.assertEqual(
            (exc.mapping_type, exc.mapping_value, exc.state), ("partner", "ref:X-2", "open")
        )
        self.assertFalse(self.sandbox.received(), "batch items wait for the cron")

        # The batch goes without the held item.
        (first,) = self.send_batches()
        self.assertEqual([i["data"]["name"] for i in first["items"]], [mapped.name])
        self.assertEqual(first["items"][0]["data"]["partner"]["external_code"], "DEB-1")
        self.assertEqual(ready.state, "done")
        self.assertEqual(mapped.fc_state, "synced")
        self.assertEqual((held.state, held.batch_id.id), ("new", False))
        self.assertEqual(unmapped.fc_state, "pending")
        self.assertEqual(len(self.send_batches()), 1, "a held item never makes a batch")

        # The mapping is created: the item is rebuilt and waits for the next batch.
        with self.run_jobs():
            self.map_partner("X-2", "DEB-2")
        self.assertEqual(exc.state, "resolved")
        self.assertEqual((held.state, held.waiting_for), ("new", False))
        self.assertEqual(len(self.sandbox.deliveries("/events")), 1, "not sent on its own")
        # "Replay" in the inbox does not send a batch item on its own either.
        with self.run_jobs():
            held.action_replay()
        self.assertEqual(held.state, "new")
        self.assertEqual(len(self.sandbox.deliveries("/events")), 1)

        first, second = self.send_batches()
        self.assertEqual([i["data"]["name"] for i in second["items"]], [unmapped.name])
        self.assertEqual(second["items"][0]["data"]["partner"]["external_code"], "DEB-2")
        self.assertEqual(held.state, "done")
        self.assertEqual(unmapped.fc_state, "synced")

        # Nothing is sent twice.
        bodies = self.send_batches()
        self.assertEqual(len(bodies), 2)
        names = [i["data"]["name"] for body in bodies for i in body["items"]]
        self.assertEqual(sorted(names), sorted([mapped.name, unmapped.name]))
