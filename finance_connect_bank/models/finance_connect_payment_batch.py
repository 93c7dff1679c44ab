"""Payment batches out: approved vendor payments -> pain.001 -> bank connection.

A batch is built from posted outbound vendor payments of one bank journal,
written as pain.001 (001.001.09 by default, 001.001.03 for banks that need
it), validated against its XSD, and sent to the bank or treasury connection
as an outbound message (event ``payment_batch.created``: a JSON envelope
carrying the XML). The pain.002 reports that come back update the batch and
its payments. A payment is in at most one batch that is not rejected: a
partial unique index on the batch lines enforces it.
"""

import base64
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from odoo import api, fields, models
from odoo.addons.finance_connect.lib import xmlsafe
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.modules.module import get_module_path

from ..lib import pain001

XSD_PARAM = "finance_connect_bank.pain001_xsd_dir"
STATES = [
    ("draft", "Draft"),
    ("sent", "Sent"),
    ("accepted", "Accepted"),
    ("partially", "Partially accepted"),
    ("rejected", "Rejected"),
]
#: What only the engine writes (as superuser, after its checks): the file that
#: goes to the bank, the states, the lines and the message. A person changes a
#: batch through its buttons, never by writing these.
ENGINE_FIELDS = frozenset(
    {
        "name",
        "state",
        "xml_file",
        "xml_filename",
        "message_out_id",
        "line_ids",
        "status_ids",
        "sent_by_id",
        "sent_at",
    }
)
#: What a manager may still set on a draft batch (the form).
DRAFT_FIELDS = frozenset(
    {"company_id", "journal_id", "connection_id", "pain001_version", "requested_date"}
)
MANAGER_GROUP = "finance_connect.group_manager"


class FinanceConnectPaymentBatch(models.Model):
    _name = "finance.connect.payment.batch"
    _description = "Finance Connect payment batch (pain.001)"
    _inherit = ["mail.thread"]
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(required=True, readonly=True, copy=False, default="/")
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    journal_id = fields.Many2one(
        "account.journal",
        required=True,
        check_company=True,
        domain="[('type', '=', 'bank')]",
        help="The account the payments leave from.",
    )
    connection_id = fields.Many2one(
        "finance.connect.connection",
        check_company=True,
        domain="[('kind', 'in', ('bank', 'treasury'))]",
        help="Where the pain.001 file is sent.",
    )
    pain001_version = fields.Selection(
        [("001.001.09", "pain.001.001.09"), ("001.001.03", "pain.001.001.03")],
        string="pain.001 version",
        required=True,
        default="001.001.09",
    )
    requested_date = fields.Date(default=fields.Date.context_today, required=True)
    state = fields.Selection(
        STATES, default="draft", required=True, readonly=True, tracking=True, index=True
    )
    line_ids = fields.One2many("finance.connect.payment.batch.line", "batch_id", readonly=True)
    payment_ids = fields.Many2many(
        "account.payment", compute="_compute_payment_ids", string="Payments"
    )
    payment_count = fields.Integer(compute="_compute_payment_ids")
    amount_total = fields.Monetary(compute="_compute_payment_ids", currency_field="currency_id")
    currency_id = fields.Many2one(related="company_id.currency_id")
    xml_file = fields.Binary(string="pain.001 file", readonly=True, attachment=True)
    xml_filename = fields.Char(readonly=True)
    message_out_id = fields.Many2one("finance.connect.message", string="Message", readonly=True)
    status_ids = fields.One2many("finance.connect.bank.status", "batch_id", readonly=True)
    # Four-eyes control: who sent the batch to the bank (create_uid created it).
    sent_by_id = fields.Many2one("res.users", string="Sent by", readonly=True, copy=False)
    sent_at = fields.Datetime(readonly=True, copy=False)

    @api.depends("line_ids.payment_id")
    def _compute_payment_ids(self):
        for batch in self:
            batch.payment_ids = batch.line_ids.payment_id
            batch.payment_count = len(batch.line_ids)
            batch.amount_total = sum(batch.line_ids.payment_id.mapped("amount"))

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if not self.env.su:
                self._fc_check_engine_fields(
                    {k for k, v in vals.items() if not (k == "name" and v == "/")}
                )
            if vals.get("name", "/") == "/":
                vals["name"] = (
                    self.env["ir.sequence"].next_by_code("finance.connect.payment.batch") or "/"
                )
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            self._fc_check_engine_fields(set(vals))
            if self.filtered(lambda b: b.state != "draft"):
                raise UserError(
                    self.env._(
                        "Batch %(names)s was sent: it can no longer be changed.",
                        names=", ".join(self.filtered(lambda b: b.state != "draft").mapped("name")),
                    )
                )
        return super().write(vals)

    def _fc_check_engine_fields(self, names):
        engine = {
            name
            for name in names
            if name in ENGINE_FIELDS
            or (
                name in self._fields
                and name not in DRAFT_FIELDS
                and not self._fields[name].automatic
            )
        }
        engine -= set(self.env["mail.thread"]._fields)
        if engine:
            raise AccessError(
                self.env._(
                    "%(fields)s of a payment batch are written by Finance Connect only: the "
                    "file sent to the bank is always built from the batch's payments when it "
                    "is sent. Use the batch's buttons.",
                    fields=", ".join(sorted(engine)),
                )
            )

    def _check_act(self):
        """A manager acting on these batches: the group, then the company rules."""
        if not (self.env.su or self.env.user.has_group(MANAGER_GROUP)):
            raise AccessError(self.env._("Only Finance Connect managers may do this."))
        self.check_access("write")

    # ------------------------------------------------------------------
    # Building
    # ------------------------------------------------------------------

    @api.model
    def _check_payments(self, payments, journal=None):
        """Refuse, naming them and saying what to do, the payments that cannot go
        to the bank in a batch: not posted outbound vendor payments, already in
        another batch, from another journal, or without the vendor's bank account."""
        wrong = payments.filtered(
            lambda p: p.payment_type != "outbound"
            or p.partner_type != "supplier"
            or p.state not in ("in_process", "paid")
        )
        if wrong:
            raise UserError(
                self.env._(
                    "Only posted, not yet paid, outbound vendor payments go into a batch: "
                    "%(names)s.",
                    names=", ".join(wrong.mapped("display_name")),
                )
            )
        busy = self._open_batch_lines(payments)
        if busy:
            raise UserError(
                self.env._(
                    "%(names)s already in batch %(batch)s: a payment is in one batch at a time.",
                    names=", ".join(busy.payment_id.mapped("display_name")),
                    batch=", ".join(busy.batch_id.mapped("name")),
                )
            )
        journals = payments.journal_id | (journal or payments.journal_id)
        if len(journals) != 1:
            raise UserError(self.env._("The payments of a batch come from one bank journal."))
        if not journals.bank_account_id:
            raise UserError(
                self.env._(
                    "Journal %(journal)s has no bank account: set it on the journal (the "
                    "account the payments leave from), then create the batch.",
                    journal=journals.display_name,
                )
            )
        no_account = payments.filtered(lambda p: not p.partner_bank_id)
        if no_account:
            raise UserError(
                self.env._(
                    "%(n)s payment(s) have no recipient bank account, so the bank would not "
                    "know where to pay: %(names)s. Add the vendor's bank account (IBAN) on "
                    "the vendor and choose it as the payment's Recipient Bank Account, or "
                    "leave these payments out.",
                    n=len(no_account),
                    names=", ".join(no_account.mapped("display_name")[:10]),
                )
            )

    @api.model
    def _open_batch_lines(self, payments):
        """The lines holding ``payments`` in batches not rejected: a payment is in
        one batch at a time (a partial unique index on the lines enforces it)."""
        return self.env["finance.connect.payment.batch.line"].search(
            [("payment_id", "in", payments.ids), ("state", "!=", "rejected")]
        )

    @api.model
    def _create_from_payments(self, payments, connection=None, version=None):
        """A draft batch holding ``payments`` (posted outbound vendor payments)."""
        self._check_payments(payments)
        connection = connection or self.env["finance.connect.connection"].search(
            [
                ("kind", "in", ("bank", "treasury")),
                ("company_id", "=", payments.company_id.id),
                ("fc_bank_upload", "=", False),
            ],
            limit=1,
        )
        # Created as the user (group and company rules apply), then filled by
        # the engine: lines and end-to-end ids are never written by a person.
        batch = self.create(
            {
                "company_id": payments.company_id.id,
                "journal_id": payments.journal_id.id,
                "connection_id": connection.id,
                "pain001_version": version or connection.fc_pain001_version or "001.001.09",
            }
        )
        batch._add_payments(payments)
        return batch

    def _add_payments(self, payments):
        """The engine adds ``payments`` (checked by the caller) to this draft batch."""
        self.ensure_one()
        payments.check_access("read")
        engine = self.sudo()
        new = engine.line_ids.browse()
        for payment in payments:
            new |= engine.line_ids.create({"batch_id": self.id, "payment_id": payment.id})
        for line in new:
            line.end_to_end_id = f"FC-{self.id}-{line.payment_id.id}"
            line.payment_id.fc_end_to_end_id = line.end_to_end_id
        return new

    def action_add_payments(self):
        """Open the choice of payments to add to this draft batch (managers)."""
        self.ensure_one()
        self._check_act()
        if self.state != "draft":
            raise UserError(self.env._("Batch %(name)s was sent already.", name=self.name))
        wizard = self.env["finance.connect.payment.batch.add"].create({"batch_id": self.id})
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Add payments to %(name)s", name=self.name),
            "res_model": wizard._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    def _prepare_pain001_batch(self):
        """The :class:`~..lib.pain001.PaymentBatch` of this batch."""
        self.ensure_one()
        company = self.company_id
        bank_account = self.journal_id.bank_account_id
        if not bank_account:
            raise UserError(
                self.env._("Journal %(j)s has no bank account.", j=self.journal_id.display_name)
            )
        return pain001.PaymentBatch(
            message_id=self.name,
            payment_information_id=self.name,
            created_at=datetime.now(),
            initiating_party_name=company.name,
            debtor_name=company.name,
            debtor_iban=bank_account.acc_number,
            debtor_bic=bank_account.bank_bic or None,
            requested_date=self.requested_date,
            payments=[self._prepare_credit_transfer(line) for line in self.line_ids],
        )

    def _prepare_credit_transfer(self, line):
        payment = line.payment_id
        partner = payment.partner_id.commercial_partner_id
        bank = payment.partner_bank_id
        if not bank:
            raise UserError(
                self.env._("Payment %(p)s has no recipient bank account.", p=payment.display_name)
            )
        bills = payment.reconciled_bill_ids
        reference = bills[:1].payment_reference or bills[:1].ref
        structured = reference if reference and reference.upper().startswith("RF") else None
        return pain001.CreditTransfer(
            end_to_end_id=line.end_to_end_id,
            amount=Decimal(str(payment.currency_id.round(payment.amount))),
            currency=payment.currency_id.name,
            creditor_name=partner.name,
            creditor_iban=bank.acc_number,
            creditor_bic=bank.bank_bic or None,
            remittance=None if structured else (payment.memo or reference or payment.name),
            structured_reference=structured,
            creditor_address={
                "street": partner.street,
                "postal_code": partner.zip,
                "town": partner.city,
                "country": partner.country_id.code,
            }
            if partner.country_id
            else None,
        )

    @api.model
    def _get_xsd_dir(self):
        """Folder of ``pain.001.001.NN.xsd``: system parameter, else schemas/xsd."""
        param = self.env["ir.config_parameter"].sudo().get_param(XSD_PARAM)
        return (
            Path(param)
            if param
            else Path(get_module_path("finance_connect_bank")) / "schemas" / "xsd"
        )

    def action_generate(self):
        """Write and validate the pain.001 file (to look at before sending)."""
        self._check_act()
        for batch in self:
            if batch.state != "draft":
                raise UserError(self.env._("Only a draft batch can be regenerated."))
            batch._build_file()
        return True

    def _build_file(self):
        """Build the pain.001 of the batch's payments as they are now, validate it
        against its XSD, store it (as the engine) and return its bytes."""
        self.ensure_one()
        try:
            xml = pain001.build_pain001(self._prepare_pain001_batch(), self.pain001_version)
        except ValueError as exc:
            raise UserError(self.env._("The pain.001 cannot be written: %(e)s", e=exc)) from exc
        errors = self._validate_xml(xml)
        if errors:
            raise ValidationError(
                self.env._(
                    "The pain.001 file does not match its XSD: %(e)s", e="; ".join(errors[:5])
                )
            )
        self.sudo().write(
            {
                "xml_file": base64.b64encode(xml),
                "xml_filename": f"{self.name}.pain.{self.pain001_version}.xml",
            }
        )
        return xml

    def _validate_xml(self, xml):
        """XSD errors of ``xml``; the XSD must be there (never sent unvalidated)."""
        xsd = self._get_xsd_dir() / f"pain.{self.pain001_version}.xsd"
        if not xsd.is_file():
            raise UserError(
                self.env._(
                    "The schema %(xsd)s is missing: put the ISO 20022 pain.001 XSD there (or set "
                    "the system parameter %(param)s to the folder that holds it).",
                    xsd=str(xsd),
                    param=XSD_PARAM,
                )
            )
        return xmlsafe.validate_xsd(xmlsafe.parse_xml(xml), xsd)

    def action_send(self):
        """Queue the file to the bank connection as one outbound message.

        The file sent is built here, from the payments as they are at send time,
        and validated against its XSD: whatever was stored before is replaced.
        """
        self._check_act()
        for batch in self:
            if batch.state != "draft":
                continue
            if not batch.connection_id:
                raise UserError(self.env._("Choose the bank connection the batch goes to."))
            batch._check_four_eyes_sender()
            xml = batch._build_file().decode("utf-8")
            payload = {
                "event_id": f"payment_batch.created:{batch.id}:{batch.name}",
                "occurred_at": fields.Datetime.now().isoformat() + "Z",
                "company": self.env["account.move"]._fc_company(batch.company_id),
                "data": {
                    "id": batch.id,
                    "name": batch.name,
                    "format": f"pain.{batch.pain001_version}",
                    "filename": batch.xml_filename,
                    "payment_count": len(batch.line_ids),
                    "amount_total": self.env["account.move"]._fc_amount(
                        batch.amount_total, batch.currency_id
                    ),
                    "currency": batch.currency_id.name,
                    "content": xml,
                },
            }
            message = self.env["finance.connect.message"]._enqueue_outbound(
                batch.connection_id,
                "payment_batch.created",
                payload,
                record=batch,
                idempotency_key=payload["event_id"],
            )
            batch.sudo().write(
                {
                    "message_out_id": message.id,
                    "state": "sent",
                    "sent_by_id": self.env.uid,
                    "sent_at": fields.Datetime.now(),
                }
            )
            batch.line_ids.payment_id._fc_set_bank_status("sent")
        return True

    def _check_four_eyes_sender(self):
        """Four-eyes control: the batch goes to a production connection of a
        company with four-eyes on only when someone else than its creator
        sends it."""
        self.ensure_one()
        if self.connection_id._fc_four_eyes_on() and self.create_uid == self.env.user:
            raise UserError(
                self.env._(
                    "You created batch %(batch)s: another Finance Connect manager must send "
                    "it to %(connection)s (four-eyes control). Ask a colleague to check the "
                    "payments and press Send to the bank.",
                    batch=self.name,
                    connection=self.connection_id.display_name,
                )
            )

    def _update_state(self):
        """The batch state from its lines (after a status report)."""
        for batch in self.filtered(lambda b: b.state != "draft"):
            states = set(batch.line_ids.mapped("state"))
            if states == {"rejected"}:
                state = "rejected"
            elif states == {"accepted"}:
                state = "accepted"
            elif "accepted" in states:
                state = "partially"
            else:
                state = batch.state
            if state != batch.state:
                batch.sudo().state = state

    def action_view_payments(self):
        self.ensure_one()
        return self.line_ids.payment_id._get_records_action(name=self.env._("Payments"))
