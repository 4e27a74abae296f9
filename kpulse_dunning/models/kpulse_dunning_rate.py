from bisect import bisect_right

from odoo import api, fields, models, tools


class KpulseDunningRate(models.Model):
    _name = "kpulse.dunning.rate"
    _description = "Late-Payment Reference Rate"
    _order = "date_from desc"
    _rec_name = "date_from"

    date_from = fields.Date(string="Valid From", required=True)
    rate = fields.Float(
        string="Rate (%)",
        digits=(16, 4),
        help="ECB main refinancing rate in force from this date.",
    )

    _unique_date_from = models.Constraint(
        "UNIQUE(date_from)",
        "A reference rate already starts on this date: edit it instead.",
    )

    # === CRUD === #

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()  # _rate_table
        return super().create(vals_list)

    def write(self, vals):
        self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()

    # === BUSINESS METHODS === #

    @api.model
    @tools.ormcache()
    def _rate_table(self):
        # A few rows that change twice a year: cached, so that reminders
        # created one by one in a batch do not read them each time.
        # sudo: the rates are public legal figures every user's reminders
        # need; the cache must not depend on who filled it.
        rows = self.sudo().search_fetch([], ["date_from", "rate"], order="date_from")
        return tuple((row.date_from, row.rate) for row in rows)

    @api.model
    def _get_rates(self, dates):
        """{date: rate (%) in force on that date} for each of ``dates``.

        The rate in force is the one of the latest row starting on or before
        the date; 0.0 before the first row.
        """
        table = self._rate_table()
        starts = [date_from for date_from, _rate in table]
        rates = {}
        for day in dates:
            index = bisect_right(starts, day)
            rates[day] = table[index - 1][1] if index else 0.0
        return rates

    @api.model
    def _get_rate(self, date):
        return self._get_rates([date])[date]
