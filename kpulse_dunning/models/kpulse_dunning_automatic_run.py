import logging

from odoo import api, fields, models

_logger = logging.getLogger(__name__)


class KpulseDunningSend(models.AbstractModel):
    """Automatic runs: the daily job that creates the reminders automatic
    levels call for, per company, and queues them for sending."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "kpulse.dunning.send"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _cron_automatic_run(self):
        """Create the reminders that automatic levels call for, and queue
        them for sending: one run per company, with its grouping."""
        # sudo: a system job for every company (the cron's user belongs to
        # some only); each company is processed on its own, with its own
        # settings, levels and templates, and its reminders are sent as
        # queued by the system.
        for company in self.env["res.company"].sudo().search([("active", "=", True)]):
            engine = (
                self.sudo()
                .with_company(company)
                .with_context(allowed_company_ids=company.ids)
            )
            Move = engine.env["account.move"]
            moves = Move.search(Move._kpulse_auto_domain())
            candidates = moves._kpulse_auto_candidates()
            # The reminders are created in their run: linking 10,000 new
            # reminders afterwards would rewrite every one of them.
            run = engine._create_run("send", len(candidates)) if candidates else None
            dunnings = engine._create_automatic_reminders(candidates, run=run)
            dunnings._kpulse_prepare_signup()
            _logger.info(
                "Automatic reminders of %s: %s invoice(s) looked at, %s taken, "
                "%s reminder(s) created and queued.",
                company.name,
                len(moves),
                len(candidates),
                len(dunnings),
            )
            if dunnings:
                run.total_count = len(dunnings)
                engine._schedule(run)
            elif run:
                run.unlink()
            self.env["ir.cron"]._commit_progress(len(dunnings))

    @api.model
    def _create_automatic_reminders(self, moves, run=None):
        """One batch of reminders for ``moves``, at each one's proposed level,
        grouped as the company asks; queued in ``run`` if given."""
        company = self.env.company
        Dunning = self.env["kpulse.dunning"]
        vals_list = []
        moves._kpulse_fetch_for_reminders()
        today = fields.Date.context_today(self)
        penalties = moves._kpulse_penalty_values(today)
        moves.commercial_partner_id.child_ids.mapped("email")  # one query
        # Each customer's follow-up responsible, for the whole batch; none
        # rather than the system user when nobody follows the customer up.
        users = self.env["res.partner"]._kpulse_followup_users(
            moves.commercial_partner_id, company
        )
        for level, level_moves in moves.grouped("kpulse_proposed_level_id").items():
            template = level._get_default_template(company)
            if not template:
                _logger.warning(
                    "Automatic reminders: level %s has no template for %s.",
                    level.name,
                    company.name,
                )
                continue
            if company.kpulse_dunning_grouping == "partner":
                groups = level_moves.grouped(
                    lambda m: (m.commercial_partner_id, m.currency_id)
                ).values()
            else:
                groups = list(level_moves)
            vals_list += [
                dict(
                    Dunning._prepare_vals(
                        group,
                        template,
                        penalties=penalties,
                        user=users[group.commercial_partner_id.id],
                        date=today,
                    ),
                    run_id=run.id if run else False,
                )
                for group in groups
            ]
        return Dunning._create_batch(vals_list)
