"""Benchmark of the reminder workflow; run inside ``odoo shell`` (see run.sh).

Builds N overdue invoices over N/5 customers, then times four steps and prints
one line each: N, seconds, records per second, SQL queries.
"""

# A benchmark prints its figures.
# pylint: disable=print-used
import os
import time
from datetime import timedelta

from odoo import Command, fields

N = int(os.environ.get("BENCH_N", "10000"))
SEND = int(os.environ.get("BENCH_SEND", "200"))


def build_invoices(env, count):
    today = fields.Date.today()
    partners = env["res.partner"].create(
        [
            {
                "name": f"Bench customer {i}",
                "is_company": True,
                "email": f"c{i}@bench.example.com",
            }
            for i in range(max(count // 5, 1))
        ]
    )
    vals_list = []
    for i in range(count):
        due = today - timedelta(days=5 + i % 80)
        vals_list.append(
            {
                "move_type": "out_invoice",
                "partner_id": partners[i % len(partners)].id,
                "invoice_date": due - timedelta(days=30),
                "invoice_date_due": due,
                "invoice_payment_term_id": False,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": "Service",
                            "price_unit": 100.0 + i % 900,
                            "tax_ids": [],
                        }
                    )
                ],
            }
        )
    for start in range(0, count, 1000):
        env["account.move"].create(vals_list[start : start + 1000]).action_post()
        env.cr.commit()


def measure(env, label, count, func):
    env.flush_all()
    env.invalidate_all()
    queries = env.cr.sql_log_count
    start = time.perf_counter()
    result = func()
    env.flush_all()
    seconds = time.perf_counter() - start
    queries = env.cr.sql_log_count - queries
    print(
        f"{label:<30} N={count:>6} {seconds:8.2f} s "
        f"{count / seconds:9.0f} rec/s {queries:>7} queries",
        flush=True,
    )
    return result


def main(env):
    started = time.perf_counter()
    build_invoices(env, N)
    # Fresh statistics after the bulk load, as autovacuum would gather them.
    env.cr.execute("ANALYZE")
    print(
        f"setup: {N} posted overdue invoices in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    Move = env["account.move"]
    list_fields = [
        "invoice_partner_display_name",
        "name",
        "invoice_date",
        "invoice_date_due",
        "kpulse_days_overdue",
        "amount_total_in_currency_signed",
        "amount_residual_signed",
        "kpulse_dunning_level_id",
        "kpulse_proposed_level_id",
        "kpulse_proposed_level_color",
    ]

    def open_wizard():
        # The "New reminders" list (first page and count), then the wizard on
        # every eligible invoice, as the web client asks for them.
        page = Move.web_search_read(
            [("kpulse_can_be_dunned", "=", True)],
            {name: {} for name in list_fields},
            limit=80,
            order="invoice_date_due asc, id asc",
        )
        ids = Move.search([("kpulse_can_be_dunned", "=", True)]).ids
        # As the form does: compute the defaults, then save them.
        Wizard = env["kpulse.dunning.create"]
        template = Wizard.new({"move_ids": [Command.set(ids)]}).template_id
        assert page["length"] >= N and template
        return Wizard.create(
            {"move_ids": [Command.set(ids)], "template_id": template.id}
        )

    wizard = measure(env, "open new-reminders wizard", N, open_wizard)
    dunnings = measure(env, "create reminders", N, lambda: wizard._create_dunnings()[0])
    env.cr.commit()
    dunnings.write({"state": "sent", "sent_date": fields.Datetime.now()})
    env.cr.commit()
    escalated = measure(
        env, "escalate reminders", len(dunnings), dunnings._action_escalate
    )
    env.cr.commit()
    env["kpulse.dunning.template"].search([]).attach_invoice = False
    to_send = escalated[:SEND]
    measure(env, "send e-mails with PDF letters", len(to_send), to_send._action_send)
    sent = to_send.filtered(lambda d: d.state == "sent")
    print(
        f"sent: {len(sent)} of {len(to_send)}; mails queued: "
        f"{env['mail.mail'].search_count([('model', '=', 'kpulse.dunning')])}"
    )
    env.cr.commit()


main(env)  # noqa: F821 - provided by odoo shell
