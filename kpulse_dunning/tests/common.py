from datetime import date, timedelta

from odoo import Command
from odoo.tests import new_test_user

from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.mail.tests.common import MailCommon

TODAY = date(2026, 6, 15)


class KpulseDunningCommon(AccountTestInvoicingCommon):
    """Three customers with overdue invoices, on a fixed date (``TODAY``)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.level_1 = cls.env.ref("kpulse_dunning.kpulse_dunning_level_1")
        cls.level_2 = cls.env.ref("kpulse_dunning.kpulse_dunning_level_2")
        cls.level_3 = cls.env.ref("kpulse_dunning.kpulse_dunning_level_3")
        cls.template_1 = cls.env.ref("kpulse_dunning.kpulse_dunning_template_1")
        cls.template_2 = cls.env.ref("kpulse_dunning.kpulse_dunning_template_2")
        cls.template_3 = cls.env.ref("kpulse_dunning.kpulse_dunning_template_3")
        cls.customer = cls.env["res.partner"].create(
            {
                "name": "Brasserie Dupont",
                "is_company": True,
                "email": "compta@brasserie-dupont.example.com",
                "street": "12 rue des Lilas",
                "zip": "69001",
                "city": "Lyon",
                "lang": "en_US",
            }
        )
        cls.customer_2 = cls.env["res.partner"].create(
            {
                "name": "Atelier Martin",
                "is_company": True,
                "email": "factures@atelier-martin.example.com",
                "lang": "en_US",
            }
        )
        # The fixed indemnity is set in euros: an explicit 1:1 rate when the
        # company keeps its books in another currency, so that amounts stay
        # round and no "missing exchange rate" warning shows.
        euro = cls.env.ref("base.EUR")
        if cls.env.company.currency_id != euro:
            cls.env["res.currency.rate"].create(
                {
                    "name": "2020-01-01",
                    "rate": 1.0,
                    "currency_id": euro.id,
                    "company_id": cls.env.company.id,
                }
            )
        cls.billing_user = new_test_user(
            cls.env,
            login="kpulse_billing",
            groups="account.group_account_invoice,base.group_partner_manager",
            email="billing@example.com",
            company_id=cls.env.company.id,
        )

    @classmethod
    def _overdue_invoice(
        cls, days_late, amount=1000.0, partner=None, post=True, **kwargs
    ):
        """A customer invoice due ``days_late`` days before ``TODAY``."""
        due = TODAY - timedelta(days=days_late)
        return cls._create_invoice(
            move_type=kwargs.pop("move_type", "out_invoice"),
            partner_id=(partner or cls.customer).id,
            invoice_date=due - timedelta(days=30),
            invoice_date_due=due,
            invoice_payment_term_id=False,
            invoice_line_ids=[
                Command.create(
                    {
                        "name": "Consulting",
                        "quantity": 1,
                        "price_unit": amount,
                        "tax_ids": [],
                    }
                )
            ],
            post=post,
            **kwargs,
        )

    @classmethod
    def _create_dunnings(cls, moves, template=None, grouping="invoice"):
        wizard = cls.env["kpulse.dunning.create"].create(
            {
                "move_ids": [Command.set(moves.ids)],
                "template_id": (template or cls.template_1).id,
                "grouping": grouping,
            }
        )
        dunnings, _duplicates = wizard._create_dunnings()
        return dunnings

    @classmethod
    def _pay(cls, invoice, amount=None):
        return (
            cls.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create(
                {"amount": amount or invoice.amount_residual, "payment_date": TODAY}
            )
            ._create_payments()
        )


class KpulseQueueCommon(KpulseDunningCommon, MailCommon):
    """Three reminders with an immediate limit and a batch of two: a Send on
    all of them is queued, in two batches (the engine's tests and those of
    its queue_job glue)."""

    @classmethod
    def default_env_context(cls):
        return {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Param = cls.env["ir.config_parameter"]
        Param.set_param("kpulse_dunning.immediate_limit", 2)
        Param.set_param("kpulse_dunning.batch_size", 2)
        cls.dunnings = cls._create_dunnings(
            cls._overdue_invoice(10)
            | cls._overdue_invoice(11)
            | cls._overdue_invoice(12, partner=cls.customer_2)
        )
