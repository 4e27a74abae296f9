"""Issue 9's "done when", replayed against a running ``make run WORKERS=2``.

Run in ``odoo shell`` on the served database (see bench/replay.sh): builds
REPLAY_N overdue invoices and their reminders, then, as a billing user and
through the server's HTTP workers, clicks *Send* on all of them, checks that
they are queued at once, waits for the cron workers, and reports the user's
notification and the mails the mail queue delivered to var/mail/.
"""

# A replay prints what it sees.
# pylint: disable=print-used
import os
import sys
import time
import xmlrpc.client

from odoo import Command
from odoo.tests.common import new_test_user
from odoo.tools import html2plaintext

sys.path.insert(0, os.path.dirname(os.path.abspath("bench/bench_dunning.py")))
from bench_dunning import build_invoices  # noqa: E402

N = int(os.environ.get("REPLAY_N", "2000"))
URL = os.environ.get("REPLAY_URL", "http://127.0.0.1:8069")
MAIL_DIR = os.environ["REPLAY_MAIL_DIR"]


def build(env):
    build_invoices(env, N, prefix="Replay")
    moves = env["account.move"].search(
        [("kpulse_can_be_dunned", "=", True), ("partner_id.name", "=like", "Replay%")]
    )
    wizard = env["kpulse.dunning.create"].create(
        {
            "move_ids": [Command.set(moves.ids)],
            "template_id": env.ref("kpulse_dunning.kpulse_dunning_template_1").id,
            "grouping": "invoice",
        }
    )
    dunnings = wizard._create_dunnings()[0]
    login = "replay_billing"
    user = env["res.users"].search([("login", "=", login)])
    if not user:
        user = new_test_user(
            env, login=login, groups="account.group_account_invoice", password=login
        )
    env.cr.commit()
    return dunnings, user


def main(env):
    dunnings, user = build(env)
    print(f"replay: {len(dunnings)} reminders to send", flush=True)
    before = len(os.listdir(MAIL_DIR))
    common = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/common")
    uid = common.authenticate(env.cr.dbname, user.login, user.login, {})
    models = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/object", allow_none=True)
    start = time.perf_counter()
    result = models.execute_kw(
        env.cr.dbname, uid, user.login, "kpulse.dunning", "action_send", [dunnings.ids]
    )
    print(f"click Send: returned in {time.perf_counter() - start:.2f} s", flush=True)
    print(f"  message: {result['params']['message']}", flush=True)
    queued = models.execute_kw(
        env.cr.dbname,
        uid,
        user.login,
        "kpulse.dunning",
        "search_count",
        [[("run_id", "!=", False)]],
    )
    print(f"  queued right after the click (read as the user): {queued}", flush=True)
    start = time.perf_counter()
    while True:
        env.cr.rollback()
        env.invalidate_all()
        left = env["kpulse.dunning"].search_count([("run_id", "!=", False)])
        if not left or time.perf_counter() - start > 1800:
            break
        time.sleep(5)
    print(f"queue empty after {time.perf_counter() - start:.0f} s ({left} left)")
    sent = env["kpulse.dunning"].search_count(
        [("id", "in", dunnings.ids), ("state", "=", "sent")]
    )
    run = env["kpulse.dunning.run"].search([("user_id", "=", user.id)], limit=1)
    inbox = env["mail.notification"].search(
        [
            ("res_partner_id", "=", user.partner_id.id),
            ("mail_message_id.res_id", "=", run.id),
            ("mail_message_id.model", "=", run._name),
        ]
    )
    print(f"sent: {sent}; run {run.name}: {run.state}", flush=True)
    for notification in inbox:
        text = html2plaintext(notification.mail_message_id.body)
        print(f"  inbox notification: {' '.join(text.split())}")
    # The mail queue (its own cron) delivers the mails to the SMTP sink.
    start = time.perf_counter()
    while (
        len(os.listdir(MAIL_DIR)) - before < sent and time.perf_counter() - start < 1800
    ):
        time.sleep(10)
    print(
        f".eml files arrived in var/mail/: {len(os.listdir(MAIL_DIR)) - before} "
        f"(after {time.perf_counter() - start:.0f} s more)",
        flush=True,
    )


main(env)  # noqa: F821 - provided by odoo shell
