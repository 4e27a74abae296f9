"""Benchmark of the reminder workflow; run inside ``odoo shell`` (see run.sh).

Builds N overdue invoices over N/5 customers (or reuses them), then times each
step and prints one line each: N, seconds, records per second, SQL queries.
The background engine is timed as production runs it: the click goes through
the HTTP workers, the server's two cron workers send, this shell waits.
"""

# A benchmark prints its figures.
# pylint: disable=print-used
import os
import time
import xmlrpc.client
from datetime import timedelta

from odoo import Command, fields
from odoo.tools import SQL

from odoo.addons.kpulse_dunning.models.kpulse_dunning_send_queue import QUEUE_CRONS

N = int(os.environ.get("BENCH_N", "10000"))
PRINT = int(os.environ.get("BENCH_PRINT", "200"))
REUSE = os.environ.get("BENCH_REUSE") == "1"
TWO_WORKERS = int(os.environ.get("BENCH_TWO_WORKERS", "1000"))
# The customer's word in the automatic run's way (bench_automatic_followup).
PROMISES = int(os.environ.get("BENCH_PROMISES", "1000"))
DISPUTES = int(os.environ.get("BENCH_DISPUTES", "500"))
# BENCH_STEPS=automatic stops after the automatic runs, create after the
# wizard, creation and escalation (neither needs the server).
STEPS = os.environ.get("BENCH_STEPS", "all")
# BENCH_ATTACHED=1 adds the shipped templates with invoices attached
# (bench_send_attached); BENCH_STEPS=attached runs only that after the setup.
ATTACHED = os.environ.get("BENCH_ATTACHED") == "1" or STEPS == "attached"
ATTACHED_N = int(os.environ.get("BENCH_ATTACHED_N", "2000"))
BATCH = 200  # the engine's default batch (kpulse_dunning.batch_size)


def build_invoices(env, count, prefix="Bench"):
    today = fields.Date.today()
    partners = env["res.partner"].create(
        [
            {
                "name": f"{prefix} customer {i}",
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


def forget_reminders(env):
    """Start again from the invoices alone (raw SQL, in a benchmark)."""
    env.cr.execute("DELETE FROM kpulse_dunning")
    env.cr.execute("DELETE FROM kpulse_dunning_run")
    env.cr.execute(
        "UPDATE account_move SET kpulse_dunning_level_id = NULL,"
        " kpulse_last_dunning_date = NULL"
    )
    env.cr.commit()
    env.invalidate_all()


def queue_crons(env):
    return (
        env["ir.cron"]
        .browse([env.ref(xmlid).id for xmlid in QUEUE_CRONS])
        .with_context(active_test=False)
    )


def wait_for_queue(env, label, count, timeout=3600):
    """Time the server's cron workers until the queue is empty."""
    start = time.perf_counter()
    while True:
        env.cr.rollback()  # a fresh snapshot of what the workers committed
        env.invalidate_all()
        left = env["kpulse.dunning"].search_count([("run_id", "!=", False)])
        seconds = time.perf_counter() - start
        if not left or seconds > timeout:
            break
        time.sleep(1)
    print(
        f"{label:<30} N={count:>6} {seconds:8.2f} s {count / seconds:9.1f} rec/s"
        f"   (server cron workers; {left} left)",
        flush=True,
    )
    return seconds


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
    if REUSE and env["account.move"].search_count([("move_type", "=", "out_invoice")]):
        forget_reminders(env)
        print("setup: reusing the invoices of the database", flush=True)
    else:
        build_invoices(env, N)
        print(
            f"setup: {N} posted overdue invoices in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
    # Fresh statistics after the bulk load, as autovacuum would gather them.
    env.cr.execute("ANALYZE")
    if STEPS == "attached":
        bench_send_attached(env)
        return
    if STEPS != "create":
        bench_automatic(env)
        bench_automatic_followup(env)
    if STEPS == "automatic":
        return
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
        proposed = Wizard.new({"move_ids": [Command.set(ids)]}).template_id
        assert page["length"] >= N and proposed
        # The first level, so that every reminder can be escalated next.
        template = env.ref("kpulse_dunning.kpulse_dunning_template_1")
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
    if STEPS == "create":
        forget_reminders(env)
        return
    env["kpulse.dunning.template"].search([]).attach_invoice = False
    env.cr.commit()
    bench_background(env, escalated)
    if ATTACHED:
        bench_send_attached(env)


def bench_background(env, dunnings):
    """Issue 9: the click that queues, the engine, printing, letter size."""
    Send = env["kpulse.dunning.send"]
    # One batch in this shell first: the engine's queries per batch.
    first, dunnings = dunnings[:BATCH], dunnings[BATCH:]
    measure(
        env,
        "engine, one batch (shell)",
        len(first),
        lambda: Send._send(first, workers=os.cpu_count() or 1),
    )
    env.cr.commit()
    # The click, through the HTTP server in production mode (--workers): it
    # queues the reminders; the server's two cron workers then send them.
    url = os.environ["BENCH_URL"]
    models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)
    # A worker's first request fills its caches (about 0.9 s measured): a
    # production worker is warm. A few light requests reach both workers.
    for _i in range(4):
        models.execute_kw(
            env.cr.dbname, 2, "admin", "kpulse.dunning", "search_count", [[]]
        )

    def click():
        start = time.perf_counter()
        models.execute_kw(
            env.cr.dbname, 2, "admin", "kpulse.dunning", "action_send", [dunnings.ids]
        )
        return time.perf_counter() - start

    # The same click three times; the first two are undone (their runs
    # deleted, which unqueues the reminders) while the queue crons are off,
    # the third is the one the engine then sends. All three are printed.
    crons = queue_crons(env)
    crons.active = False
    env.cr.commit()
    # Raw SQL, in a benchmark only: the runs it deletes are those the two
    # undone clicks created, after the last run that existed before them.
    clicks = []
    for _i in range(2):
        env.cr.execute("SELECT COALESCE(MAX(id), 0) FROM kpulse_dunning_run")
        last_run = env.cr.fetchone()[0]
        clicks.append(click())
        env.cr.commit()  # a snapshot that sees the run the server committed
        env.cr.execute("DELETE FROM kpulse_dunning_run WHERE id > %s", [last_run])
        env.cr.commit()
    crons.active = True
    env.cr.commit()
    clicks.append(click())
    print(
        f"{'click Send (HTTP, workers)':<30} N={len(dunnings):>6} {clicks[-1]:8.2f} s"
        f"   (three clicks: {', '.join(f'{c:.2f}' for c in clicks)} s; request"
        " returns; server-side queries not counted here)",
        flush=True,
    )
    wait_for_queue(env, "background engine: send all", len(dunnings))
    # What the engine did to the reminders of the click (earlier runs of the
    # benchmark leave mails behind: only these reminders' are counted).
    Dunning = env["kpulse.dunning"]
    sent = Dunning.search_count([("id", "in", dunnings.ids), ("state", "=", "sent")])
    failed = Dunning.search_count(
        [("id", "in", dunnings.ids), ("state", "=", "failed")]
    )
    mails = env["mail.mail"].search_count(
        [("model", "=", "kpulse.dunning"), ("res_id", "in", dunnings.ids)]
    )
    print(
        f"sent: {sent}; failed: {failed}; mails queued for them: {mails}",
        flush=True,
    )

    letters = env["report.kpulse_dunning.report_dunning_letter"]
    to_print = dunnings[:PRINT]

    def print_letters():
        # What a print run does with a batch (kpulse.dunning.run._add_letters).
        to_print.line_ids.move_id._kpulse_ensure_access_tokens()
        return letters._render_letters_document(to_print, workers=os.cpu_count() or 1)

    document = measure(env, "print letters as one PDF", len(to_print), print_letters)
    print(f"printed document: {len(document)} bytes", flush=True)
    one = letters._render_letter_pdfs(dunnings[:1])[dunnings[0].id]
    print(f"one-page letter PDF: {len(one)} bytes", flush=True)
    env.cr.rollback()
    bench_two_workers(env)


def bench_two_workers(env):
    """The server's two cron workers on one queue: nothing e-mailed twice."""
    Dunning = env["kpulse.dunning"]
    dunnings = Dunning.search([("state", "=", "sent")], limit=TWO_WORKERS)
    dunnings.write({"state": "draft"})
    mails_before = env["mail.mail"].search_count([("model", "=", "kpulse.dunning")])
    messages_before = env["mail.message"].search([], order="id desc", limit=1).id
    # Queued as a click would; _schedule wakes both queue crons.
    env["kpulse.dunning.send"]._queue(dunnings, "send")
    env.cr.commit()
    seconds = wait_for_queue(env, "two cron workers, one queue", len(dunnings))
    # Raw SQL, read only: the e-mails posted on these reminders during this
    # step (these reminders were sent once before: their followers, such as
    # the user who sent them, get a copy of each, a second mail.mail).
    emailed = dict(
        env.execute_query(
            SQL(
                "SELECT res_id, COUNT(*) FROM mail_message"
                " WHERE model = 'kpulse.dunning' AND message_type = 'comment'"
                " AND id > %s AND res_id IN %s"
                " GROUP BY res_id",
                messages_before,
                tuple(dunnings.ids),
            )
        )
    )
    twice = [res_id for res_id, count in emailed.items() if count > 1]
    mails = env["mail.mail"].search_count([("model", "=", "kpulse.dunning")])
    print(
        f"two workers on a queue of {len(dunnings)}: {seconds:.1f} s, "
        f"{len(emailed)} reminders e-mailed ({mails - mails_before} mails with "
        f"followers' copies), reminders e-mailed twice: {len(twice)}",
        flush=True,
    )


def bench_send_attached(env):
    """The shipped templates as they come (each invoice's PDF attached):
    ATTACHED_N reminders of one invoice each, sent by the server's cron
    workers, first with invoices never sent before (no stored PDF: rendered
    in batches and stored), then again now that their PDFs are stored."""
    shipped = env["ir.model.data"].search(
        [("module", "=", "kpulse_dunning"), ("model", "=", "kpulse.dunning.template")]
    )
    env["kpulse.dunning.template"].browse(shipped.mapped("res_id")).write(
        {"attach_invoice": True}
    )
    template = env.ref("kpulse_dunning.kpulse_dunning_template_1")
    invoices = env["account.move"].search(
        [("move_type", "=", "out_invoice"), ("state", "=", "posted")],
        order="id",
        limit=ATTACHED_N,
    )
    # What Odoo's sending stores on an invoice (its PDF, its e-invoice):
    # forgotten, so that no invoice has been sent before.
    env["ir.attachment"].search(
        [
            ("res_model", "=", "account.move"),
            ("res_id", "in", invoices.ids),
            ("res_field", "in", ("invoice_pdf_report_file", "ubl_cii_xml_file")),
        ]
    ).unlink()
    # Raw SQL, in a benchmark: the flag Odoo's sending sets.
    env.cr.execute(
        "UPDATE account_move SET is_move_sent = FALSE WHERE id IN %s",
        [tuple(invoices.ids)],
    )
    env.cr.commit()
    env.invalidate_all()
    for label in ("fresh", "stored"):
        forget_reminders(env)
        wizard = env["kpulse.dunning.create"].create(
            {
                "move_ids": [Command.set(invoices.ids)],
                "template_id": template.id,
                "grouping": "invoice",
            }
        )
        dunnings = wizard._create_dunnings()[0]
        env.cr.commit()
        # Queued as a click would; _schedule wakes both queue crons.
        env["kpulse.dunning.send"]._queue(dunnings, "send")
        env.cr.commit()
        seconds = wait_for_queue(
            env, f"send, invoices attached ({label})", len(dunnings)
        )
        Dunning = env["kpulse.dunning"]
        sent = Dunning.search_count(
            [("id", "in", dunnings.ids), ("state", "=", "sent")]
        )
        failed = Dunning.search_count(
            [("id", "in", dunnings.ids), ("state", "=", "failed")]
        )
        stored = len(invoices.filtered("invoice_pdf_report_id"))
        print(
            f"reminders/s with invoices attached ({label}): "
            f"{len(dunnings) / seconds:.1f}   ({len(dunnings)} reminders, "
            f"{sent} sent, {failed} failed; invoices with a stored PDF: "
            f"{stored} of {len(invoices)})",
            flush=True,
        )
    forget_reminders(env)


def bench_automatic(env):
    """The automatic run on the N overdue invoices, forgotten after.

    The run commits as it goes (_commit_progress); the queue crons are
    archived meanwhile so that the server does not start sending.
    """
    crons = queue_crons(env)
    crons.active = False
    env["kpulse.dunning.level"].search([]).automatic = True
    env.company.kpulse_auto_min_gap_days = 0
    env.cr.commit()
    Send = env["kpulse.dunning.send"]
    measure(env, "automatic run (create+queue)", N, Send._cron_automatic_run)
    queued = env["kpulse.dunning"].search_count([("run_id", "!=", False)])
    print(f"automatic run queued: {queued}", flush=True)
    forget_reminders(env)
    crons.active = True
    env.cr.commit()


def bench_automatic_followup(env):
    """The automatic run again, with PROMISES customers who promised to pay
    and DISPUTES invoices under dispute (of other customers): the run's one
    eligibility query leaves them out. All forgotten after."""
    crons = queue_crons(env)
    crons.active = False
    env["kpulse.dunning.level"].search([]).automatic = True
    env.company.kpulse_auto_min_gap_days = 0
    quiet = env(context=dict(env.context, tracking_disable=True))
    invoices = quiet["account.move"].search(
        [("move_type", "=", "out_invoice"), ("state", "=", "posted")], order="id"
    )
    customers = invoices.commercial_partner_id
    # Half the customers at most, so that others are left to dispute.
    promised = customers[: min(PROMISES, len(customers) // 2)]
    today = fields.Date.today()
    promises = quiet["kpulse.dunning.promise"].create(
        [
            {"partner_id": partner.id, "date": today + timedelta(days=10)}
            for partner in promised
        ]
    )
    disputed = invoices.filtered(
        lambda move: move.commercial_partner_id not in promised
    )[:DISPUTES]
    reason = env.ref("kpulse_dunning.kpulse_dunning_dispute_reason_price")
    disputes = quiet["kpulse.dunning.dispute"].create(
        [{"move_id": move.id, "reason_id": reason.id} for move in disputed]
    )
    env.cr.commit()
    Send = env["kpulse.dunning.send"]
    measure(
        env,
        f"automatic run, {len(promises)} promises and {len(disputes)} disputes",
        N,
        Send._cron_automatic_run,
    )
    Line = env["kpulse.dunning.line"]
    queued = env["kpulse.dunning"].search_count([("run_id", "!=", False)])
    held = Line.search_count(
        [
            "|",
            ("move_id", "in", disputed.ids),
            ("move_id.commercial_partner_id", "in", promised.ids),
        ]
    )
    print(
        f"automatic run with promises and disputes queued: {queued}, "
        f"of which promised or disputed (must be 0): {held}",
        flush=True,
    )
    forget_reminders(env)
    # Raw SQL, in a benchmark: the promises and disputes it made, and the
    # invoices' open-dispute column they set.
    env.cr.execute("UPDATE account_move SET kpulse_dispute_id = NULL")
    env.cr.execute("DELETE FROM kpulse_dunning_dispute")
    env.cr.execute("DELETE FROM kpulse_dunning_promise")
    crons.active = True
    env.cr.commit()
    env.invalidate_all()


# Run by odoo shell, which provides env; replay_send.py imports build_invoices.
if "env" in globals():
    main(env)  # noqa: F821
