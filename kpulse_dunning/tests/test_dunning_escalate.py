from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import TODAY, KpulseDunningCommon


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestDunningEscalate(KpulseDunningCommon):
    def _mark_sent(self, dunnings):
        dunnings.write({"state": "sent", "sent_date": "2026-06-15 09:00:00"})

    def test_escalate_up_to_top_level(self):
        invoices = self._overdue_invoice(50) | self._overdue_invoice(40)
        first = self._create_dunnings(invoices, grouping="partner")
        self._mark_sent(first)
        second = first._action_escalate()
        self.assertEqual(second.level_id, self.level_2)
        self.assertEqual(second.template_id, self.template_2)
        self.assertEqual(second.previous_id, first)
        self.assertEqual(second.partner_id, self.customer)
        self.assertEqual(second.move_ids, invoices)
        self.assertEqual(second.state, "draft")
        self.assertEqual(first.state, "sent", "a sent reminder stays sent")

        self._pay(invoices[0])
        self._mark_sent(second)
        third = second._action_escalate()
        self.assertEqual(third.level_id, self.level_3)
        self.assertEqual(third.move_ids, invoices[1], "only still-unpaid invoices")
        self.assertEqual(invoices[1].kpulse_dunning_level_id, self.level_2)

        with self.assertRaises(UserError) as capture:
            third._action_escalate()
        self.assertIn(third.name, str(capture.exception))
        self.assertIn("highest level", str(capture.exception))

    def test_escalate_draft_replaces_it(self):
        dunning = self._create_dunnings(self._overdue_invoice(30))
        action = dunning.action_escalate()
        escalated = self.env["kpulse.dunning"].search(action["domain"])
        self.assertEqual(escalated.level_id, self.level_2)
        self.assertEqual(dunning.state, "cancel")

    def test_escalate_query_count_does_not_grow(self):
        def sent_dunnings(count):
            invoices = self.env["account.move"].union(
                *(self._overdue_invoice(30 + index % 10) for index in range(count))
            )
            dunnings = self._create_dunnings(invoices)
            self._mark_sent(dunnings)
            return dunnings

        small, large = sent_dunnings(10), sent_dunnings(100)
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        small._action_escalate()
        self.env.flush_all()
        small_count = self.env.cr.sql_log_count - before
        self.env.invalidate_all()
        with self.assertQueryCount(small_count):
            escalated = large._action_escalate()
            self.env.flush_all()
        self.assertEqual(len(escalated), 100)
