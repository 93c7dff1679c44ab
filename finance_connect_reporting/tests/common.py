"""Shared set-up of the reporting feed tests: two companies in two currencies,
entries in January 2024 (and one in February), a reporting connection."""

from collections import defaultdict
from decimal import Decimal

from odoo import fields
from odoo.addons.finance_connect.tests.common import FinanceConnectCase
from odoo.tests import tagged


@tagged("post_install", "-at_install")
class ReportingCase(FinanceConnectCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eur = cls.env.ref("base.EUR")
        cls.eur.active = True
        cls.company_a = cls.company_data["company"]
        assert cls.company_a.currency_id != cls.eur
        cls.company_b_data = cls.setup_other_company(name="FC Reporting B", currency_id=cls.eur.id)
        cls.company_b = cls.company_b_data["company"]
        cls.env.user.company_ids |= cls.company_b
        Rate = cls.env["res.currency.rate"]
        for day, rate in (("2024-01-01", 0.9), ("2024-01-20", 0.8), ("2024-02-10", 0.95)):
            Rate.create(
                {
                    "name": day,
                    "rate": rate,
                    "currency_id": cls.eur.id,
                    "company_id": cls.company_a.id,
                }
            )
        cls.reporting = cls._create_connection("BI warehouse", cls.company_a, kind="reporting")
        cls.inv_a1 = cls.init_invoice(
            "out_invoice", invoice_date="2024-01-10", amounts=[100.0], post=True
        )
        cls.bill_a = cls.init_invoice(
            "in_invoice", invoice_date="2024-01-15", amounts=[40.0], post=True
        )
        cls.inv_a2 = cls.init_invoice(
            "out_invoice", invoice_date="2024-01-25", amounts=[250.0], post=True
        )
        cls.inv_a_feb = cls.init_invoice(
            "out_invoice", invoice_date="2024-02-05", amounts=[77.0], post=True
        )
        cls.inv_b = cls.init_invoice(
            "out_invoice",
            invoice_date="2024-01-12",
            amounts=[300.0],
            post=True,
            company=cls.company_b,
        )
        cls.jan = (fields.Date.to_date("2024-01-01"), fields.Date.to_date("2024-01-31"))

    @property
    def reader(self):
        return self.env["finance.connect.feed.reader"]

    @property
    def conversion(self):
        return self.env["finance.connect.feed.conversion"]

    @property
    def pull(self):
        return self.env["finance.connect.feed.pull"]

    def make_feed(self, **vals):
        return self.env["finance.connect.feed"].create(
            {
                "name": "Group feed",
                "company_id": self.company_a.id,
                "company_ids": [(6, 0, (self.company_a | self.company_b).ids)],
                "currency_id": self.eur.id,
                "kind": "trial_balance",
                "period_status": "flash",
                **vals,
            }
        )

    def odoo_trial_balance(self, companies, date_from, date_to):
        """Odoo's own figures: (company id, account code) -> (debit, credit, balance)."""
        result = {}
        groups = self.env["account.move.line"]._read_group(
            [
                ("company_id", "in", companies.ids),
                ("parent_state", "=", "posted"),
                ("date", ">=", date_from),
                ("date", "<=", date_to),
            ],
            ["company_id", "account_id"],
            ["debit:sum", "credit:sum", "balance:sum"],
        )
        for company, account, debit, credit, balance in groups:
            code = account.with_company(company).code
            result[company.id, code] = tuple(
                Decimal(repr(x)).quantize(Decimal("0.01")) for x in (debit, credit, balance)
            )
        return result

    @staticmethod
    def sum_rows(rows):
        acc = defaultdict(lambda: [Decimal(0)] * 3)
        for r in rows:
            key = (r["company_id"], r["account_code"])
            for i, f in enumerate(("debit", "credit", "balance")):
                acc[key][i] += Decimal(r[f])
        return {k: tuple(v.quantize(Decimal("0.01")) for v in vals) for k, vals in acc.items()}

    def lock(self, company, day):
        company.sudo().write({"fiscalyear_lock_date": day})
