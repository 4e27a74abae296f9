"""Times the read paths of the analysis (aging, reminders analysis, DSO) as
the web client calls them; run inside ``odoo shell`` on a database with
invoices and reminders (e.g. the one bench/run.sh builds):

    odoo shell -d kpulse_bench --no-http < bench/bench_analysis.py

Prints one line per read: the best of 3 runs, in seconds, caches emptied.
"""

# A benchmark prints its figures.
# pylint: disable=print-used
import time

RUNS = 3
admin = env.ref("base.user_admin")  # noqa: F821 (odoo shell)
uenv = env(  # noqa: F821
    user=admin.id,
    su=False,
    context={
        "lang": "en_US",
        "tz": "UTC",
        "allowed_company_ids": [admin.company_id.id],
    },
)


def timed(label, read):
    best = None
    for _run in range(RUNS):
        uenv.invalidate_all()
        start = time.perf_counter()
        read()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    print(f"{label}: {best:.3f} s")


Aging = uenv["kpulse.receivable.aging"]
Analysis = uenv["kpulse.dunning.analysis"]
print("open items", Aging.search_count([]), "reminders", Analysis.search_count([]))
bucket_sums = [
    "amount_not_due:sum",
    "amount_1_30:sum",
    "amount_31_60:sum",
    "amount_61_90:sum",
    "amount_over_90:sum",
    "amount:sum",
    "days_late:max",
    "partner_dso:max",
]
list_fields = ["partner_id", "move_id", "date_due", "days_late", "amount", "level_id"]
timed(
    "aging list grouped by customer",
    lambda: Aging.web_read_group([], ["partner_id"], bucket_sums, limit=80),
)
timed(
    "aging list, first 80 rows",
    lambda: Aging.web_search_read([], {f: {} for f in list_fields}, limit=80),
)
timed(
    "aging pivot customer x age",
    lambda: Aging.formatted_read_grouping_sets(
        [], [["partner_id", "bucket"], ["partner_id"], ["bucket"], []], ["amount:sum"]
    ),
)
timed(
    "aging graph by age",
    lambda: Aging.formatted_read_group([], ["bucket"], ["amount:sum"]),
)
timed(
    "reminders pivot by level",
    lambda: Analysis.formatted_read_grouping_sets(
        [("claim_type", "=", "reminder")],
        [["level_id"], []],
        ["reminder_count:sum", "amount_reminded:sum", "paid_15:avg", "paid_30:avg"],
    ),
)
timed(
    "reminders by month x status",
    lambda: Analysis.formatted_read_grouping_sets(
        [], [["date:month", "state"], []], ["reminder_count:sum", "amount_reminded:sum"]
    ),
)
company = uenv.company
timed(
    "dashboard card",
    lambda: company.read(
        ["kpulse_dso", "kpulse_receivable_open", "kpulse_receivable_overdue"]
    ),
)
partner = Aging.search([], limit=1).partner_id
timed("customer form DSO", lambda: partner.read(["kpulse_dso"]))
