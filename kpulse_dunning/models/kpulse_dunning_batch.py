from datetime import date, datetime

from odoo import api, models
from odoo.tools import SQL, float_round

# Log access columns, filled on every row of a model that has them.
LOG_COLUMNS = ("create_uid", "create_date", "write_uid", "write_date")
# Fields the ORM fills itself on every row.
ORM_COLUMNS = ("id", *LOG_COLUMNS)


def _quoted(value):
    # Quoted, so that no text reads as NULL, a comma or a brace.
    return '"{}"'.format(str(value).replace("\\", "\\\\").replace('"', '\\"'))


# How each type of value is written in an array's text; any other type (a
# subclass of str included) is quoted as text.
_ARRAY_ELEMENT = {
    int: str,
    float: repr,
    bool: lambda value: "t" if value else "f",
    date: date.isoformat,
    datetime: datetime.isoformat,
}


def array_literal(values):
    """``values`` as the text of one PostgreSQL array, to be bound as a
    single parameter: psycopg2 adapts a list of 10,000 values into as many
    SQL literals, which PostgreSQL then parses one by one (40-80 ms per
    column of 10,000, against 3-8 ms for the array's text)."""
    kinds = set(map(type, values))
    if len(kinds) == 1:
        # One type for the whole column (ids, amounts, dates): one formatter,
        # mapped in C rather than looked up for each value.
        kind = kinds.pop()
        if kind is type(None):
            elements = ",".join(["NULL"] * len(values))
        else:
            elements = ",".join(map(_ARRAY_ELEMENT.get(kind, _quoted), values))
    else:
        elements = ",".join(
            "NULL" if value is None else _ARRAY_ELEMENT.get(type(value), _quoted)(value)
            for value in values
        )
    return f"{{{elements}}}"


def ensure_access_tokens(records, dependent=()):
    """Give each of ``records`` (a model with ``portal.mixin``) without one
    its portal access token, in one query for all of them: the portal's own
    ``_portal_ensure_token`` writes records one by one, and the invoices and
    reminders sent by the hundred need their links at once. ``dependent``:
    fields read from the token, forgotten with it."""
    missing = records.filtered(lambda record: not record.access_token)
    if not missing:
        return
    missing.flush_recordset(["access_token"])
    # Raw SQL, safe: only the token column of records that have none (the
    # IS NULL keeps a token given meanwhile), bound parameters, cache
    # invalidated after. Called where reminders are created, sent or
    # printed, never from a compute or a render.
    records.env.execute_query(
        SQL(
            "UPDATE %s SET access_token = gen_random_uuid()::text "
            "WHERE id IN %s AND access_token IS NULL",
            SQL.identifier(records._table),
            tuple(missing.ids),
        )
    )
    missing.invalidate_recordset(["access_token", *dependent])


def _memoized(convert):
    """``convert``, called once per distinct value (and type: 1 and True
    are different values here)."""
    converted = {}

    def memoized(value):
        key = (type(value), value)
        if key not in converted:
            converted[key] = convert(value)
        return converted[key]

    return memoized


class KpulseDunningBatch(models.AbstractModel):
    """Reminders created by the thousand: the wizard, escalation, automatic
    runs and late-payment claims.

    Through the ORM, a reminder costs about 0.3 ms of Python per record
    (defaults looked up again for each one, Monetary's conversion opening a
    new environment per value, cache and recompute bookkeeping): most of the
    time of a batch of 10,000. Here the rows are built from values the
    callers computed once (``kpulse.dunning._prepare_vals``) and inserted in
    one query per table. What the ORM guarantees is kept, in batch: access
    rights and record rules, defaults, references from each company's
    sequence, company consistency, Python constraints, the recomputation of
    what depends on the new records.

    To add values to batch-created reminders, extend ``_prepare_vals``: an
    override of ``kpulse.dunning.create()`` does not see them.
    """

    _name = "kpulse.dunning.batch"
    _description = "Payment Reminder Batch Creation"

    @api.model
    def _create(self, vals_list):
        """Create the reminders of ``vals_list`` (``_prepare_vals`` values,
        lines included) with their lines and penalty periods; return them."""
        Dunning = self.env["kpulse.dunning"]
        if not vals_list:
            return Dunning
        Dunning.check_access("create")
        vals_list = [dict(vals) for vals in vals_list]
        line_values = [
            [command[2] for command in vals.pop("line_ids", [])] for vals in vals_list
        ]
        self._add_totals(vals_list, line_values)
        dunnings = self._insert_dunnings(vals_list)
        self.env["kpulse.dunning.line"]._insert_batch(dunnings, line_values)
        return dunnings

    @api.model
    def _add_totals(self, vals_list, line_values):
        """The reminders' totals, from their lines' amounts, rounded as the
        stored Monetary fields would round them."""
        roundings = {
            currency.id: currency.rounding
            for currency in self.env["res.currency"].browse(
                {vals["currency_id"] for vals in vals_list}
            )
        }
        for vals, lines in zip(vals_list, line_values, strict=True):
            rounding = roundings[vals["currency_id"]]
            # One pass over the lines (a reminder has a few): three sums
            # through generators cost more than the rounding.
            residual = penalty = indemnity = 0.0
            for line in lines:
                residual += line.get("amount_residual") or 0.0
                penalty += line.get("penalty_amount") or 0.0
                indemnity += line.get("indemnity_amount") or 0.0
            residual = float_round(residual, precision_rounding=rounding)
            penalty = float_round(penalty, precision_rounding=rounding)
            indemnity = float_round(indemnity, precision_rounding=rounding)
            vals["amount_residual"] = residual
            vals["penalty_total"] = penalty
            vals["indemnity_total"] = indemnity
            vals["amount_claimed"] = float_round(
                residual + penalty + indemnity, precision_rounding=rounding
            )

    @api.model
    def _insert_dunnings(self, vals_list):
        Dunning = self.env["kpulse.dunning"]
        # Field-level access to what the values and the context's defaults
        # set, as the ORM's create checks it.
        given = {name for vals in vals_list for name in vals}
        given.update(
            key[8:]
            for key in self.env.context
            if key.startswith("default_") and key[8:] in Dunning._fields
        )
        for name in given:
            if name not in Dunning._fields:
                raise ValueError(f"Invalid field {name!r} in {Dunning._name!r}")
            Dunning._check_field_access(Dunning._fields[name], "write")
        # Defaults once for the batch: they depend on the context, not on
        # the record (the ORM looks them up again for each record).
        defaults = Dunning.default_get(list(Dunning._fields))
        rows = [{**defaults, **vals} for vals in vals_list]
        Dunning._assign_names(rows)
        columns = {
            name: field
            for name in set().union(*rows)
            if (field := Dunning._fields.get(name))
            and field.store
            and field.column_type
            and name not in ORM_COLUMNS
        }
        # The ids are drawn first, so that each row keeps its place whatever
        # order PostgreSQL inserts them in.
        ids = [
            id_
            for (id_,) in self.env.execute_query(
                SQL(
                    "SELECT nextval(%s) FROM generate_series(1, %s)",
                    f"{Dunning._table}_id_seq",
                    len(rows),
                )
            )
        ]
        dunnings = Dunning.browse(ids)
        # Column by column: the field's conversion applied down each column.
        column_values = {"id": ids}
        for name, field in columns.items():
            convert = self._column_converter(field, dunnings)
            column_values[name] = [convert(row.get(name)) for row in rows]
        # Raw SQL, safe: create access is checked by _create, record rules,
        # companies and constraints below, on the records as inserted; the
        # values are bound parameters, converted to their columns by the
        # fields themselves (amounts rounded per currency in _add_totals).
        # The new ids come from the table's own sequence.
        self._insert_columns(
            Dunning,
            dict({"id": "int4"}, **{n: f.column_type[1] for n, f in columns.items()}),
            column_values,
        )
        self._cache_rows(dunnings, columns, rows)
        self._invalidate_inverses(Dunning, columns, rows)
        # What depends on the new reminders elsewhere (an escalated
        # reminder's successor, a run's counts) is marked as the ORM marks it.
        dunnings.modified(Dunning._fields, create=True)
        # Stored computed fields are computed as on any new record, except
        # where the values give them (the totals): those are final.
        for field in Dunning._fields.values():
            if not (field.store and field.compute):
                continue
            given = [
                id_ for id_, row in zip(ids, rows, strict=True) if field.name in row
            ]
            self.env.remove_to_compute(field, Dunning.browse(given))
            if len(given) < len(ids):
                self.env.add_to_compute(field, dunnings - Dunning.browse(given))
        dunnings._validate_fields(columns)
        if Dunning._check_company_auto:
            dunnings._check_company()
        dunnings.check_access("create")  # record rules, on the rows inserted
        return dunnings

    @api.model
    def _cache_rows(self, records, columns, rows):
        """Put the values just inserted in cache, as the ORM's create does:
        the checks that follow (companies, constraints) and the callers
        would otherwise fetch every field of the new records again (ten
        queries and 0.3 s for 10,000 reminders).

        Stored fields no row gives are empty, as the ORM caches them. Left
        out, and fetched when read: computed fields some rows leave to
        compute, and fields whose cached value depends on the context.
        """
        log_values = {
            "create_uid": self.env.uid,
            "create_date": self.env.cr.now(),
            "write_uid": self.env.uid,
            "write_date": self.env.cr.now(),
        }
        for name, field in records._fields.items():
            if name in log_values:
                field._insert_cache(records, [log_values[name]] * len(rows))
                continue
            if not (field.store and field.column_type) or name == "id":
                continue
            if field.translate or field.company_dependent:
                continue
            if field.compute and any(name not in row for row in rows):
                continue
            if name in columns:
                convert = self._cache_converter(field, records)
                values = [convert(row.get(name)) for row in rows]
            else:
                values = [field.convert_to_cache(None, records, validate=False)] * len(
                    rows
                )
            field._insert_cache(records, values)

    @api.model
    def _invalidate_inverses(self, model, names, rows):
        """Forget the one2many values of the records that new ``rows`` of
        ``model`` point to through its many2one fields ``names`` (a
        reminder's lines, an escalated reminder's successors, a run's
        reminders), which the ORM's create would complete in cache: they are
        read again."""
        for name in names:
            field = model._fields[name]
            if field.type != "many2one":
                continue
            inverses = self.pool.field_inverses[field]
            if not inverses:
                continue
            targets = self.env[field.comodel_name].browse(
                {row[name] for row in rows if row.get(name)}
            )
            targets.invalidate_recordset([inverse.name for inverse in inverses])

    @api.model
    def _cache_converter(self, field, records):
        """The field's own conversion of a value to its cache, once per
        distinct value."""
        if field.type == "monetary":
            # Rounded per currency in _add_totals; 0.0 for none, as read back.
            return lambda value: float(value or 0.0)
        if field.type == "many2one":
            return lambda value: value or None  # Many2one.convert_to_cache
        return _memoized(
            lambda value: field.convert_to_cache(value, records, validate=False)
        )

    @api.model
    def _column_converter(self, field, records):
        """The field's own conversion of a value to its column, once per
        distinct value (states, dates, levels repeat across a batch)."""
        if field.type == "monetary":
            # Amounts are rounded per currency in _add_totals: Monetary's own
            # conversion opens one environment per value.
            return lambda value: value
        if field.type == "many2one":
            return lambda value: value or None  # Many2one.convert_to_column
        return _memoized(
            lambda value: None
            if value is None
            else field.convert_to_column(value, records)
        )

    @api.model
    def _insert_rows(self, model, columns, rows, returning=()):
        """Insert ``rows`` (dicts keyed by ``columns``, {name: PostgreSQL
        type}) into the table of ``model`` in one query, with Odoo's log
        columns when the model has them; return the id of each row inserted,
        followed by its ``returning`` columns. The caller says why its values
        are safe to insert."""
        return self._insert_columns(
            model,
            columns,
            {name: [row[name] for row in rows] for name in columns},
            returning=returning,
        )

    @api.model
    def _insert_columns(self, model, columns, values, returning=()):
        """``_insert_rows`` with the values given column by column:
        ``values`` is {name: [value of each row]}."""
        arrays = [
            SQL("%s::%s[]", array_literal(values[name]), SQL(array_type))
            for name, array_type in columns.items()
        ]
        names = [SQL.identifier(name) for name in columns]
        selected = list(names)
        if model._log_access:
            uid, now = SQL("%s", self.env.uid), SQL("%s", self.env.cr.now())
            names += map(SQL.identifier, LOG_COLUMNS)
            selected += [uid, now, uid, now]
        return self.env.execute_query(
            SQL(
                """
                INSERT INTO %(table)s (%(names)s)
                SELECT %(selected)s
                  FROM unnest(%(arrays)s) AS new_row(%(columns)s)
             RETURNING %(returning)s
                """,
                table=SQL.identifier(model._table),
                names=SQL(", ").join(names),
                selected=SQL(", ").join(selected),
                arrays=SQL(", ").join(arrays),
                columns=SQL(", ").join(SQL.identifier(name) for name in columns),
                returning=SQL(", ").join(
                    SQL.identifier(name) for name in ("id", *returning)
                ),
            )
        )
