"""Shared set-up of the finance_connect_bank Odoo tests.

The real bank files of the shared corpus are read in place from
``../shared/fixtures`` (beside the repository); a test fails, never skips,
when that folder is missing. The XSD folders point at the corpus schemas.
"""

import sys
from pathlib import Path

from odoo.addons.finance_connect.tests.common import FinanceConnectCase
from odoo.tests import tagged

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
MOOV = SHARED / "moov_iso20022" / "testdata"
MT940 = SHARED / "mt940_wolph"
FFFS_053 = MOOV / "FI_camt_053_sample.xml.xml"
POSTFINANCE_053 = MOOV / "camt.053_P_CH2909000000250094239_1110092698_0_2020112503071366.xml"
BENCH = Path(__file__).resolve().parents[2] / "tests" / "bench"
# The addon's default XSD folder, filled by setup/fetch-xsd (not committed).
ADDON_XSD = Path(__file__).resolve().parents[1] / "schemas" / "xsd"


def fixture(path):
    """The bytes of a corpus file; fails (never skips) when the corpus is missing."""
    if not SHARED.is_dir():
        raise AssertionError(
            f"The shared fixtures folder {SHARED} is missing: these tests need "
            "../shared/fixtures beside the repository."
        )
    return Path(path).read_bytes()


def use_addon_xsd_folder(env, *names):
    """Unset the corpus XSD parameters, so that the default ``schemas/xsd`` is used.

    Fails (never skips) when set-up has not fetched ``names`` into that folder.
    """
    missing = [name for name in names if not (ADDON_XSD / name).is_file()]
    if missing:
        raise AssertionError(
            f"{ADDON_XSD} lacks {', '.join(missing)}: run setup/fetch-xsd (setup/start "
            "and setup/test run it) to fetch the ISO 20022 XSDs there."
        )
    params = env["ir.config_parameter"].sudo()
    params.set_param("finance_connect_bank.xsd_dir", False)
    params.set_param("finance_connect_bank.pain001_xsd_dir", False)


def generate_camt053(*args, **kwargs):
    """The benchmark's balancing camt.053 generator (tests/bench/camt_generator.py)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    from camt_generator import generate_camt053 as generate

    return generate(*args, **kwargs)


@tagged("post_install", "-at_install")
class BankCase(FinanceConnectCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        fixture(FFFS_053)
        params = cls.env["ir.config_parameter"].sudo()
        params.set_param("finance_connect_bank.xsd_dir", str(SHARED / "genkgo_camt" / "assets"))
        params.set_param("finance_connect_bank.pain001_xsd_dir", str(SHARED / "sepaxml_schemas"))
        cls.env.user.groups_id |= cls.env.ref("account.group_account_manager")
        cls.company = cls.company_data["company"]
        cls.eur = cls.env.ref("base.EUR")
        cls.eur.active = True
        cls.Import = cls.env["finance.connect.bank.import"]
        cls.Line = cls.env["account.bank.statement.line"]

    @classmethod
    def setup_sepa_payments(cls):
        """The company's bank journal with an IBAN and BIC, and partner_a a vendor
        with a French IBAN and an address: what a pain.001 batch needs."""
        cls.journal = cls.company_data["default_journal_bank"]
        cls.journal.bank_acc_number = "DE89370400440532013000"
        cls.journal.bank_account_id.bank_id = cls.env["res.bank"].create(
            {"name": "Commerzbank", "bic": "COBADEFFXXX"}
        )
        cls.vendor_bank = cls.env["res.partner.bank"].create(
            {
                "partner_id": cls.partner_a.id,
                "acc_number": "FR1420041010050500013M02606",
                "allow_out_payment": True,
            }
        )
        cls.partner_a.write(
            {
                "street": "Rue de la Paix 1",
                "zip": "75002",
                "city": "Paris",
                "country_id": cls.env.ref("base.fr").id,
            }
        )

    @classmethod
    def bank_journal(cls, code, account, currency=None):
        return cls.env["account.journal"].create(
            {
                "name": f"Bank {code}",
                "code": code,
                "type": "bank",
                "bank_acc_number": account,
                "company_id": cls.company.id,
                "currency_id": currency.id if currency else False,
            }
        )

    def lines_of(self, journal):
        return self.Line.search([("journal_id", "=", journal.id)])

    def exceptions(self, category):
        return self.env["finance.connect.exception"].search([("category", "=", category)])
