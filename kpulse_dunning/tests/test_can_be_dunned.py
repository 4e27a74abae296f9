from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import TODAY, KpulseDunningCommon


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestCanBeDunned(KpulseDunningCommon):
    def test_each_kind_of_invoice(self):
        overdue = self._overdue_invoice(10)
        partial = self._overdue_invoice(10, amount=800.0)
        self._pay(partial, 300.0)
        paid = self._overdue_invoice(10)
        self._pay(paid)
        draft = self._overdue_invoice(10, post=False)
        not_due = self._overdue_invoice(-5)
        due_today = self._overdue_invoice(0)
        credit_note = self._overdue_invoice(10, move_type="out_refund")
        vendor_bill = self._overdue_invoice(10, move_type="in_invoice")
        blocked = self._overdue_invoice(10)
        blocked.write(
            {"kpulse_dunning_blocked": True, "kpulse_dunning_block_reason": "Disputed"}
        )
        expected = {
            overdue: True,
            partial: True,
            paid: False,
            draft: False,
            not_due: False,
            due_today: False,
            credit_note: False,
            vendor_bill: False,
            blocked: False,
        }
        moves = self.env["account.move"].union(*expected)
        for move, can in expected.items():
            self.assertEqual(move.kpulse_can_be_dunned, can, move.name or "draft")
        found = self.env["account.move"].search(
            [("id", "in", moves.ids), ("kpulse_can_be_dunned", "=", True)]
        )
        self.assertEqual(found, overdue | partial)
        not_found = self.env["account.move"].search(
            [("id", "in", moves.ids), ("kpulse_can_be_dunned", "=", False)]
        )
        self.assertEqual(not_found, moves - overdue - partial)
        self.assertEqual(partial.amount_residual, 500.0)

    def test_settled_in_one_search(self):
        """The invoices found settled in one search (a batch of reminders)
        are those found settled one by one."""
        overdue = self._overdue_invoice(10)
        partial = self._overdue_invoice(10, amount=800.0)
        self._pay(partial, 300.0)
        paid = self._overdue_invoice(10)
        self._pay(paid)
        paid_twice = self._overdue_invoice(10, amount=600.0)
        self._pay(paid_twice, 100.0)
        self._pay(paid_twice, 500.0)
        moves = overdue | partial | paid | paid_twice
        with self.assertQueryCount(1):
            settled_ids = moves._kpulse_settled_ids()
        self.assertEqual(settled_ids, {paid.id, paid_twice.id})
        self.assertEqual(
            settled_ids, {move.id for move in moves if move._kpulse_is_settled()}
        )
        self.assertEqual(moves.browse()._kpulse_settled_ids(), set())

    def test_refusal_names_invoices_and_reasons(self):
        paid = self._overdue_invoice(10)
        self._pay(paid)
        blocked = self._overdue_invoice(10)
        blocked.write(
            {"kpulse_dunning_blocked": True, "kpulse_dunning_block_reason": "Disputed"}
        )
        good = self._overdue_invoice(10)
        with self.assertRaises(UserError) as capture:
            (good | paid | blocked).action_kpulse_create_dunnings()
        message = str(capture.exception)
        self.assertIn(f"{paid.name}: already paid", message)
        self.assertIn(f"{blocked.name}: reminders blocked (Disputed)", message)
        self.assertNotIn(good.name, message)
        action = good.action_kpulse_create_dunnings()
        self.assertEqual(action["res_model"], "kpulse.dunning.create")
        self.assertEqual(action["context"]["default_move_ids"], good.ids)
