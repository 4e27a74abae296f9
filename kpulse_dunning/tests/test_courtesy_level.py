"""Pre-due courtesy reminder: a level with a negative delay."""

from ast import literal_eval
from datetime import timedelta

from freezegun import freeze_time

from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import html2plaintext

from odoo.addons.mail.tests.common import MailCommon

from .common import TODAY, KpulseDunningCommon

AUTO_CRON = "kpulse_dunning.ir_cron_kpulse_dunning_automatic"
QUEUE_CRON = "kpulse_dunning.ir_cron_kpulse_dunning_queue"


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestCourtesyLevel(KpulseDunningCommon, MailCommon):
    @classmethod
    def default_env_context(cls):
        return {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.courtesy = cls.env.ref("kpulse_dunning.kpulse_dunning_level_courtesy")
        cls.courtesy_template = cls.env.ref(
            "kpulse_dunning.kpulse_dunning_template_courtesy"
        )
        cls.shipped = (cls.courtesy.active, cls.courtesy.automatic)
        cls.courtesy.active = True
        # A professional customer (a company) of a company applying
        # late-payment penalties: a courtesy reminder claims none anyway.
        cls.env.company.write(
            {
                "kpulse_penalty_apply": True,
                "kpulse_penalty_rate_mode": "fixed",
                "kpulse_penalty_fixed_rate": 12.0,
                "kpulse_indemnity_amount": 40.0,
            }
        )
        cls.due_in_10 = cls._overdue_invoice(-10)
        cls.due_in_5 = cls._overdue_invoice(-5)
        cls.due_today = cls._overdue_invoice(0)
        cls.late_1 = cls._overdue_invoice(1)

    def _new_reminders(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "kpulse_dunning.account_move_action_kpulse_to_dun"
        )
        return self.env["account.move"].search(literal_eval(action["domain"]))

    def _send(self, dunnings):
        dunnings.write({"state": "sent", "sent_date": f"{TODAY} 10:00:00"})

    def test_shipped_level_and_template(self):
        self.assertEqual(self.shipped, (False, False), "archived, not automatic")
        self.assertTrue(self.courtesy.is_courtesy)
        self.assertEqual(self.courtesy.delay_days, -5)
        self.assertFalse(self.level_1.is_courtesy)
        self.assertFalse(self.courtesy.show_penalties)
        self.assertEqual(
            self.courtesy._get_default_template(self.env.company),
            self.courtesy_template,
        )
        self.assertEqual(
            self.env["kpulse.dunning.level"].search([])[:4],
            self.courtesy | self.level_1 | self.level_2 | self.level_3,
            "the courtesy level comes first",
        )
        self.assertEqual(self.courtesy._get_next_level(self.env.company), self.level_1)
        self.assertEqual(self.level_1._get_next_level(self.env.company), self.level_2)
        for html in (
            self.courtesy_template.body_html,
            self.courtesy_template.letter_html,
        ):
            text = html2plaintext(html).lower()
            for word in ("late", "overdue", "penalt", "unpaid"):
                self.assertNotIn(word, text)

    def test_pre_due_level_eligible_before_the_due_date_only(self):
        Move = self.env["account.move"]
        self.assertEqual(
            self._new_reminders() & (self.due_in_10 | self.due_in_5 | self.due_today),
            self.due_in_5 | self.due_today,
        )
        self.assertIn(self.late_1, self._new_reminders())
        self.assertFalse(self.due_in_10.kpulse_can_be_dunned)
        self.assertFalse(self.due_in_10.kpulse_proposed_level_id)
        self.assertEqual(
            self.due_in_10._kpulse_refusal_reason(),
            "not yet due (courtesy reminder from 06/20/2026)",
        )
        for move in (self.due_in_5, self.due_today):
            self.assertTrue(move.kpulse_can_be_dunned)
            self.assertFalse(move._kpulse_refusal_reason())
            self.assertEqual(move.kpulse_proposed_level_id, self.courtesy)
            self.assertEqual(move.kpulse_proposed_level_color, self.courtesy.color)
            self.assertEqual(move.kpulse_days_overdue, 0, "never late")
        self.assertEqual(self.late_1.kpulse_proposed_level_id, self.level_1)
        self.assertEqual(self.late_1.kpulse_days_overdue, 1)
        moves = self.due_in_5 | self.due_today | self.late_1
        self.assertEqual(
            dict(moves._kpulse_proposed_level_counts()),
            {self.courtesy: 2, self.level_1: 1},
        )
        # From the day after its due date, an invoice goes to the ordinary
        # levels; the day it enters the window, to the courtesy level.
        with freeze_time(TODAY + timedelta(days=6)):
            moves = self.due_in_5 | self.due_in_10
            moves.invalidate_recordset(
                [
                    "kpulse_can_be_dunned",
                    "kpulse_days_overdue",
                    "kpulse_proposed_level_id",
                ]
            )
            self.assertEqual(self.due_in_5.kpulse_proposed_level_id, self.level_1)
            self.assertEqual(self.due_in_5.kpulse_days_overdue, 1)
            self.assertEqual(self.due_in_10.kpulse_proposed_level_id, self.courtesy)
            self.assertEqual(
                Move.search(
                    [("id", "in", moves.ids), ("kpulse_can_be_dunned", "=", True)]
                ),
                moves,
            )
        # Without an active courtesy level, nothing before the due date.
        self.courtesy.active = False
        self.assertNotIn(self.due_in_5, self._new_reminders())
        self.assertEqual(self.due_in_5._kpulse_refusal_reason(), "not yet due")

    def test_courtesy_reminder_once_then_ordinary_levels(self):
        wizard = Form(
            self.env["kpulse.dunning.create"].with_context(
                active_model="account.move",
                active_ids=(self.due_in_5 | self.due_today).ids,
            )
        )
        self.assertEqual(wizard.template_id, self.courtesy_template)
        wizard.grouping = "partner"
        dunning = self.env["kpulse.dunning"].search(
            wizard.save().action_create()["domain"]
        )
        self.assertEqual(dunning.level_id, self.courtesy)
        self.assertEqual(dunning.line_ids.mapped("days_overdue"), [0, 0])
        self.assertEqual(dunning.penalty_total + dunning.indemnity_total, 0.0)
        self.assertEqual(dunning.amount_claimed, dunning.amount_residual)
        # Sent: not proposed again before the due date.
        self._send(dunning)
        self.assertEqual(self.due_in_5.kpulse_dunning_level_id, self.courtesy)
        self.assertNotIn(self.due_in_5, self._new_reminders())
        self.assertEqual(
            self.due_in_5._kpulse_refusal_reason(), "not yet due, and already reminded"
        )
        with self.assertRaisesRegex(UserError, "already reminded"):
            self.due_in_5.action_kpulse_create_dunnings()
        # Not escalated before the due date...
        with self.assertRaisesRegex(UserError, "once its invoices are late"):
            dunning._action_escalate()
        # ...but once late, to the first ordinary level.
        with freeze_time(TODAY + timedelta(days=8)):
            self.due_in_5.invalidate_recordset(["kpulse_proposed_level_id"])
            self.assertEqual(self.due_in_5.kpulse_proposed_level_id, self.level_1)
            self.assertIn(self.due_in_5, self._new_reminders())
            escalated = dunning._action_escalate()
        self.assertEqual(escalated.level_id, self.level_1)
        self.assertEqual(escalated.template_id, self.template_1)

    def test_wizard_refuses_mixing_courtesy_and_late(self):
        with self.assertRaisesRegex(UserError, "already late"):
            self._create_dunnings(self.late_1, self.courtesy_template)
        with self.assertRaisesRegex(UserError, "only a courtesy reminder"):
            self._create_dunnings(self.due_in_5, self.template_1)

    def test_no_penalties_even_sent_after_the_due_date(self):
        self.assertTrue(self.customer.kpulse_is_professional)
        dunning = self._create_dunnings(self.due_today, self.courtesy_template)
        # Sent late (the draft waited): the invoice is 20 days late by then.
        with (
            freeze_time(TODAY + timedelta(days=20)),
            self.mock_mail_gateway(),
        ):
            dunning.action_send()
        self.assertEqual(dunning.state, "sent")
        self.assertEqual(dunning.line_ids.penalty_amount, 0.0)
        self.assertEqual(dunning.line_ids.indemnity_amount, 0.0)
        self.assertFalse(dunning.line_ids.penalty_ids)
        self.assertEqual(dunning.amount_claimed, dunning.amount_residual)
        mail = self._new_mails.filtered(lambda m: self.customer in m.recipient_ids)
        self.assertIn("will soon fall due", mail.body_html)
        self.assertNotIn("Days Late", mail.body_html)
        self.assertNotIn("enalt", mail.body_html)
        # An ordinary reminder of the same invoice on that day does bear them.
        self.assertTrue(
            self.due_today._kpulse_penalty_values(TODAY + timedelta(days=20))[
                self.due_today.id
            ]["penalty_amount"]
        )

    def test_letter_does_not_say_late(self):
        dunning = self._create_dunnings(self.due_in_5, self.courtesy_template)
        html = self.env["ir.actions.report"]._render_qweb_html(
            "kpulse_dunning.action_report_dunning_letter", dunning.ids
        )[0]
        text = html2plaintext(html.decode())
        self.assertIn("Courtesy reminder", text)
        self.assertIn("will soon fall due", text)
        self.assertNotIn("Days Late", text)
        self.assertNotIn("enalt", text)

    def test_automatic_run_sends_courtesy_once(self):
        self.courtesy.automatic = True
        self.env.company.kpulse_auto_min_amount = 0.0
        self.assertTrue(self.due_in_5.kpulse_auto_next)
        self.assertFalse(self.due_in_10.kpulse_auto_next)
        self.assertFalse(self.late_1.kpulse_auto_next, "level 1 is not automatic")
        Dunning = self.env["kpulse.dunning"]
        with self.mock_mail_gateway():
            with self.enter_registry_test_mode():
                self.env.ref(AUTO_CRON).method_direct_trigger()
            dunnings = Dunning.search([("level_id", "=", self.courtesy.id)])
            self.assertEqual(dunnings.move_ids, self.due_in_5 | self.due_today)
            with self.enter_registry_test_mode():
                self.env.ref(QUEUE_CRON).method_direct_trigger()
        self.assertEqual(set(dunnings.mapped("state")), {"sent"})
        self.assertFalse(any(dunnings.mapped("penalty_total")))
        # The next days, even once the minimum gap is over: not twice.
        for days in (0, 1, 4):
            with freeze_time(TODAY + timedelta(days=days)):
                with self.mock_mail_gateway(), self.enter_registry_test_mode():
                    self.env.ref(AUTO_CRON).method_direct_trigger()
                self.assertEqual(
                    Dunning.search([("level_id", "=", self.courtesy.id)]), dunnings
                )

    def test_french_template(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env.ref("base.module_kpulse_dunning")._update_translations(["fr_FR"])
        self.customer.lang = "fr_FR"
        dunning = self._create_dunnings(self.due_in_5, self.courtesy_template)
        template = self.courtesy_template
        body = template._render_field("body_html", dunning.ids, compute_lang=True)
        subject = template._render_field("subject", dunning.ids, compute_lang=True)
        self.assertIn("arriveront bientôt à échéance", body[dunning.id])
        self.assertIn("échéance à venir", subject[dunning.id])
        self.assertEqual(
            self.courtesy.with_context(lang="fr_FR").name, "Rappel de courtoisie"
        )

    def _assert_invalid(self, message, values, record=None):
        """Creating a level with ``values`` (or writing them on ``record``)
        is refused with ``message``; nothing is kept (savepoint)."""
        with self.assertRaises(ValidationError) as caught:
            if record:
                record.write(values)
            else:
                self.env["kpulse.dunning.level"].create(values)
        self.assertIn(message, str(caught.exception))

    def test_constraints(self):
        Level = self.env["kpulse.dunning.level"]
        self._assert_invalid(
            "Only one courtesy reminder level (negative delay) can be active "
            "per company: “Early bird” and “Courtesy reminder”.",
            {"name": "Early bird", "sequence": 1, "delay_days": -3},
        )
        Level.create(
            {"name": "Spare", "sequence": 2, "delay_days": -3, "active": False}
        )
        self._assert_invalid(
            "The reminder level “Courtesy reminder” reminds of invoices before "
            "their due date (negative delay): it cannot show penalties.",
            {"show_penalties": True},
            self.courtesy,
        )
        self._assert_invalid(
            "The courtesy reminder level “Courtesy reminder” reminds before the "
            "due date: it comes first. Give it an order lower than that of "
            "“First reminder” (10).",
            {"sequence": 15},
            self.courtesy,
        )
        self._assert_invalid("it comes first", {"sequence": 1}, self.level_1)
        self._assert_invalid("cannot show penalties", {"delay_days": -2}, self.level_2)
        # A company's own courtesy level, when the shared one is archived.
        other = self.setup_other_company()["company"]
        self.courtesy.active = False
        own = Level.create(
            {
                "name": "Rappel",
                "sequence": 1,
                "delay_days": -7,
                "company_id": self.env.company.id,
            }
        )
        Level.create(
            {"name": "Other", "sequence": 1, "delay_days": -2, "company_id": other.id}
        )
        self.assertTrue(own.is_courtesy)
        self._assert_invalid("Only one courtesy", {"active": True}, self.courtesy)
