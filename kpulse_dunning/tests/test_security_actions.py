"""Actions decided from the records' state, fresh amounts, no writes while
rendering, delivery feedback (issue 8, findings 6 to 10)."""

from collections import Counter
from unittest.mock import patch

from freezegun import freeze_time
from psycopg2.errors import SerializationFailure

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from odoo.addons.base.models.ir_mail_server import IrMail_Server, MailDeliveryException
from odoo.addons.mail.tests.common import MailCommon

from .common import TODAY, KpulseDunningCommon


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestIdempotentActions(KpulseDunningCommon):
    def _mark_sent(self, dunnings):
        dunnings.write({"state": "sent", "sent_date": "2026-06-15 09:00:00"})

    def test_create_when_all_have_a_reminder(self):
        """Finding 6: a second creation says which invoices, no SQL error."""
        invoices = self._overdue_invoice(10) | self._overdue_invoice(11)
        first = self._create_dunnings(invoices)
        self.assertEqual(len(first), 2)
        with self.assertRaisesRegex(UserError, "already have a reminder") as capture:
            self._create_dunnings(invoices)
        for invoice in invoices:
            self.assertIn(invoice.name, str(capture.exception))
        # A failed reminder is still open: no second one either.
        first[0].state = "failed"
        with self.assertRaisesRegex(UserError, "already have a reminder"):
            self._create_dunnings(invoices[0])
        self.assertEqual(
            self.env["kpulse.dunning"].search_count([("move_ids", "in", invoices.ids)]),
            2,
        )

    def test_create_empty_selection(self):
        wizard = self.env["kpulse.dunning.create"].create(
            {"template_id": self.template_1.id}
        )
        with self.assertRaisesRegex(UserError, "at least one invoice"):
            wizard.action_create()

    def test_escalate_twice(self):
        """Finding 6: the second escalation of a reminder is refused."""
        dunning = self._create_dunnings(self._overdue_invoice(30))
        self._mark_sent(dunning)
        escalated = dunning._action_escalate()
        self.assertEqual(len(escalated), 1)
        self.assertEqual(dunning.escalated_id, escalated)
        with self.assertRaisesRegex(UserError, "already escalated") as capture:
            dunning._action_escalate()
        self.assertIn(dunning.name, str(capture.exception))
        self.assertEqual(len(dunning.next_ids), 1)

    def test_escalate_mixed_selection_skips_and_names(self):
        done = self._create_dunnings(self._overdue_invoice(30))
        todo = self._create_dunnings(self._overdue_invoice(31))
        self._mark_sent(done | todo)
        done._action_escalate()
        action = (done | todo).action_escalate()
        self.assertEqual(len(todo.next_ids), 1)
        self.assertEqual(len(done.next_ids), 1)
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn(done.name, action["params"]["message"])

    def test_escalate_cancelled(self):
        dunning = self._create_dunnings(self._overdue_invoice(30))
        dunning.action_cancel()
        with self.assertRaisesRegex(UserError, "cancelled") as capture:
            dunning._action_escalate()
        self.assertIn(dunning.name, str(capture.exception))
        self.assertFalse(dunning.next_ids)

    def test_escalate_paid(self):
        """Finding 6: escalating a paid reminder says so, no SQL error."""
        invoice = self._overdue_invoice(30)
        dunning = self._create_dunnings(invoice)
        self._pay(invoice)
        with self.assertRaisesRegex(UserError, "paid") as capture:
            dunning._action_escalate()
        self.assertIn(dunning.name, str(capture.exception))
        self.assertEqual(dunning.state, "paid")
        self.assertFalse(dunning.next_ids)

    def test_send_cancelled_or_paid_gives_a_message(self):
        dunning = self._create_dunnings(self._overdue_invoice(30))
        dunning.action_cancel()
        result = dunning.action_send()
        self.assertIn("skipped", result["params"]["message"])
        self.assertEqual(dunning.state, "cancel")

    def test_amounts_read_after_payment_in_same_transaction(self):
        """Finding 7: a payment not yet flushed is seen by the batch SQL."""
        invoice = self._overdue_invoice(30, 1000.0)
        self.env.flush_all()
        # Stands for a payment reconciled earlier in the same transaction
        # (an automated action, an import): the new balance is in the ORM,
        # not yet in the database.
        invoice.amount_residual = 600.0
        dunning = self._create_dunnings(invoice)
        self.assertEqual(dunning.line_ids.amount_residual, 600.0)
        self.assertEqual(dunning.amount_residual, 600.0)

    def test_wizard_proposes_most_common_level(self):
        """Finding 10: the wizard's template is the most common proposed level."""
        first = self._overdue_invoice(10)  # level 1
        others = self._overdue_invoice(25) | self._overdue_invoice(30)  # level 2
        wizard = Form(
            self.env["kpulse.dunning.create"].with_context(
                active_model="account.move", active_ids=(first | others).ids
            )
        )
        self.assertEqual(wizard.template_id.level_id, self.level_2)
        # A tie goes to the gentler level, in whichever order they come.
        tied = self._overdue_invoice(25) | self._overdue_invoice(10)
        for ids in (tied.ids, tied.ids[::-1]):
            wizard = Form(
                self.env["kpulse.dunning.create"].with_context(
                    active_model="account.move", active_ids=ids
                )
            )
            self.assertEqual(wizard.template_id.level_id, self.level_1)

    def test_proposal_counts_match_each_invoice(self):
        """The wizard's vote is counted in one grouped query: it gives what
        each invoice proposes, a level already sent included."""
        sent = self._overdue_invoice(25)
        self._create_dunnings(sent).write(
            {"state": "sent", "sent_date": fields.Datetime.now()}
        )
        self.assertEqual(sent.kpulse_dunning_level_id, self.level_1)
        moves = (
            sent
            | self._overdue_invoice(3)  # delay not reached: the first level
            | self._overdue_invoice(10)
            | self._overdue_invoice(25)
            | self._overdue_invoice(30)
        )
        expected = Counter(move.kpulse_proposed_level_id for move in moves)
        self.assertEqual(moves._kpulse_proposed_level_counts(), expected)
        self.assertEqual(sum(expected.values()), len(moves))

    def test_blocked_payment_refused(self):
        """Finding 10: an invoice whose payment is blocked is refused."""
        invoice = self._overdue_invoice(30)
        invoice.action_toggle_block_payment()
        self.assertEqual(invoice.payment_state, "blocked")
        self.assertFalse(invoice.kpulse_can_be_dunned)
        with self.assertRaisesRegex(UserError, "blocked"):
            invoice.action_kpulse_create_dunnings()


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestRenderAndDelivery(KpulseDunningCommon, MailCommon):
    @classmethod
    def default_env_context(cls):
        return {}

    def _clear_token(self, invoices):
        invoices.flush_recordset()
        self.env.cr.execute(
            "UPDATE account_move SET access_token = NULL WHERE id IN %s",
            [tuple(invoices.ids)],
        )
        invoices.invalidate_recordset(["access_token"])

    def test_tokens_before_rendering_and_no_write_in_compute(self):
        """Finding 8: reading the dynamic fields writes nothing."""
        invoice = self._overdue_invoice(30)
        dunning = self._create_dunnings(invoice)
        self._clear_token(invoice)
        dunning.action_print()
        self.assertTrue(invoice.access_token, "given by the action, before rendering")
        token = invoice.access_token
        self.assertIn(token, dunning.portal_url)
        self._clear_token(invoice)
        dunning.invalidate_recordset()
        self.assertTrue(dunning.portal_url)
        self.env.flush_all()
        invoice.invalidate_recordset(["access_token"])
        self.assertFalse(invoice.access_token, "a compute wrote to the invoice")

    def test_serialization_failure_is_raised(self):
        """Finding 8: a concurrent update during a render is not swallowed,
        so that Odoo retries the request."""
        dunning = self._create_dunnings(self._overdue_invoice(30))

        def conflict(*args, **kwargs):
            raise UserError(self.env._("Render failed")) from SerializationFailure()

        registry_class = type(self.env["kpulse.dunning.template"])
        with (
            self.mock_mail_gateway(),
            patch.object(registry_class, "_render_field", side_effect=conflict),
            self.assertRaises(SerializationFailure),
        ):
            dunning.action_send()

    def test_send_fresh_amounts(self):
        """Finding 7: the amounts sent are those of the sending day."""
        invoice = self._overdue_invoice(30, 1000.0)
        dunning = self._create_dunnings(invoice)
        self._pay(invoice, 250.0)
        with self.mock_mail_gateway():
            dunning.action_send()
        self.assertEqual(dunning.state, "sent")
        self.assertEqual(dunning.line_ids.amount_residual, 750.0)
        self.assertEqual(dunning.amount_residual, 750.0)
        self.assertEqual(
            dunning.amount_claimed,
            750.0 + dunning.penalty_total + dunning.indemnity_total,
        )

    @mute_logger("odoo.addons.mail.models.mail_mail")
    def test_delivery_exception_marks_failed(self):
        """Finding 9: the mail server refuses the e-mail: the reminder fails
        with the reason, and can be sent again."""
        dunning = self._create_dunnings(self._overdue_invoice(30))
        with self.mock_mail_gateway():
            dunning.action_send()
        self.assertEqual(dunning.state, "sent")
        mail = self._new_mails.filtered(
            lambda m: m.model == "kpulse.dunning" and m.res_id == dunning.id
        )
        self.assertTrue(mail)
        with (
            self.mock_mail_gateway(),
            patch.object(
                IrMail_Server,
                "send_email",
                side_effect=MailDeliveryException("Relay access denied"),
            ),
        ):
            mail.send(raise_exception=False)
        self.assertEqual(mail.state, "exception")
        self.assertEqual(dunning.state, "failed")
        self.assertIn("Relay access denied", dunning.failure_reason)
        with self.mock_mail_gateway():
            result = dunning.action_send()
        self.assertIn("1 reminder(s) sent.", result["params"]["message"])
        self.assertEqual(dunning.state, "sent")
        self.assertFalse(dunning.failure_reason)

    def test_bounce_marks_failed(self):
        dunning = self._create_dunnings(self._overdue_invoice(30))
        with self.mock_mail_gateway():
            dunning.action_send()
        dunning._message_receive_bounce(self.customer.email, self.customer)
        self.assertEqual(dunning.state, "failed")
        self.assertIn(self.customer.email, dunning.failure_reason)
