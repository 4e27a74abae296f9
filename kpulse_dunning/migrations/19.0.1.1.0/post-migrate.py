"""Bring the default levels, rates and templates of 19.0.1.0.0 to this release.

They are ``noupdate`` data: ``-u`` creates the new ones but leaves existing
records alone, so a database would keep the old defaults for ever. Here every
default record whose stored values are still exactly those that 19.0.1.0.0
installed (same fingerprint, in English and in each translation) is reloaded
from this release's XML, and its translations from this release's ``i18n``
files. A record the user changed in any field or language is left whole.

``OLD_DEFAULTS`` holds, per XML id, a SHA-256 of the values that release
stored (``scripts/test_upgrade.sh --print-fingerprints`` computes them from a
database installed at that release and checks them in every run).
"""

import hashlib
import json
import logging

from lxml import etree

from odoo import SUPERUSER_ID, api
from odoo.tools import SQL
from odoo.tools.convert import xml_import
from odoo.tools.misc import file_open

_logger = logging.getLogger(__name__)

MODULE = "kpulse_dunning"
# Data files holding the records, in loading order (templates refer to levels).
DATA_FILES = (
    "data/kpulse_dunning_level_data.xml",
    "data/kpulse_dunning_rate_data.xml",
    "data/kpulse_dunning_template_data.xml",
)
# Per model: its table, the columns that 19.0.1.0.0's XML set, the translated
# ones among them, and the many2one ones (compared by XML id).
MODELS = {
    "kpulse.dunning.level": {
        "table": "kpulse_dunning_level",
        "columns": ("name", "sequence", "delay_days", "color", "show_penalties"),
        "translated": ("name",),
        "many2one": {},
    },
    "kpulse.dunning.rate": {
        "table": "kpulse_dunning_rate",
        "columns": ("date_from", "rate"),
        "translated": (),
        "many2one": {},
    },
    "kpulse.dunning.template": {
        "table": "kpulse_dunning_template",
        "columns": (
            "name",
            "level_id",
            "subject",
            "attach_invoice",
            "body_html",
            "letter_html",
        ),
        "translated": ("name", "subject", "body_html", "letter_html"),
        "many2one": {"level_id": "kpulse.dunning.level"},
    },
}

# 19.0.1.0.0 (commit d250eda), installed with English and French.
OLD_DEFAULTS = {
    "kpulse_dunning_level_1": {
        "en_US": "55faf0e4c1dc28aa644e",
        "fr_FR": "d816ac1eb52d24fa5d68",
    },
    "kpulse_dunning_level_2": {
        "en_US": "4c11cda1fcd911adc3c2",
        "fr_FR": "6c5e5b01e9390644eec9",
    },
    "kpulse_dunning_level_3": {
        "en_US": "b880be604ba21eca53ed",
        "fr_FR": "e795bc26fa19d3882dbf",
    },
    "kpulse_dunning_rate_2022_01": {"en_US": "64443b4a705192201715"},
    "kpulse_dunning_rate_2022_07": {"en_US": "90dd55639929fa6bdea8"},
    "kpulse_dunning_rate_2023_01": {"en_US": "91b3fe463e133a91212b"},
    "kpulse_dunning_rate_2023_07": {"en_US": "2f7747314b0ff87d85c2"},
    "kpulse_dunning_rate_2024_01": {"en_US": "9c7bc4320683d5477c5e"},
    "kpulse_dunning_rate_2024_07": {"en_US": "1a144a7f93e8c018f6a7"},
    "kpulse_dunning_rate_2025_01": {"en_US": "13f83a380080528644cc"},
    "kpulse_dunning_rate_2025_07": {"en_US": "b900e21dbfc6e9b26b5d"},
    "kpulse_dunning_rate_2026_01": {"en_US": "9ef2a93c5d3f8938493c"},
    "kpulse_dunning_template_1": {
        "en_US": "e25f6bc3078b52aedba0",
        "fr_FR": "b215c7cf7d53eff83a8b",
    },
    "kpulse_dunning_template_2": {
        "en_US": "8c6229df90b53ad6fb7d",
        "fr_FR": "84a2252844cf4b6211a3",
    },
    "kpulse_dunning_template_3": {
        "en_US": "bdeea75d11d3787ed89e",
        "fr_FR": "1869588376d02e8da45d",
    },
}


def _digest(values):
    payload = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def compute_fingerprints(cr):
    """``{xmlid: {lang: digest}}`` of the module's default records as stored.

    ``en_US`` covers every column (translated ones in English); each other
    language stored in a translated column covers the translated columns in
    that language (English where that column has no such translation).
    Plain SQL, so that it runs in any migration step and on any release.
    """
    fingerprints = {}
    for model, spec in MODELS.items():
        cr.execute(
            SQL(
                "SELECT imd.name, %s FROM ir_model_data imd"
                " JOIN %s t ON t.id = imd.res_id"
                " WHERE imd.module = %s AND imd.model = %s ORDER BY imd.name",
                SQL(", ").join(
                    SQL("t.%s", SQL.identifier(col)) for col in spec["columns"]
                ),
                SQL.identifier(spec["table"]),
                MODULE,
                model,
            )
        )
        rows = cr.fetchall()
        names = {}
        for comodel in set(spec["many2one"].values()):
            cr.execute(
                SQL(
                    "SELECT res_id, module || '.' || name FROM ir_model_data"
                    " WHERE model = %s",
                    comodel,
                )
            )
            names[comodel] = dict(cr.fetchall())
        for xmlid, *values in rows:
            record = dict(zip(spec["columns"], values, strict=True))
            for col, comodel in spec["many2one"].items():
                record[col] = names[comodel].get(record[col], record[col])
            translated = {col: record[col] or {} for col in spec["translated"]}
            english = {
                col: translated[col].get("en_US") if col in translated else value
                for col, value in record.items()
            }
            result = {"en_US": _digest(english)}
            langs = {lang for value in translated.values() for lang in value}
            for lang in sorted(langs - {"en_US"}):
                result[lang] = _digest(
                    {
                        col: value.get(lang, value.get("en_US"))
                        for col, value in translated.items()
                    }
                )
            fingerprints[xmlid] = result
    return fingerprints


def untouched_records(cr):
    """XML ids (without module) whose every stored language matches 19.0.1.0.0."""
    untouched = []
    for xmlid, current in compute_fingerprints(cr).items():
        old = OLD_DEFAULTS.get(xmlid)
        if old and all(old.get(lang) == digest for lang, digest in current.items()):
            untouched.append(xmlid)
    return untouched


def _filtered_data(path, xmlids):
    """The XML data file reduced to the records of ``xmlids``, updatable."""
    with file_open(f"{MODULE}/{path}", "rb") as data_file:
        root = etree.parse(data_file).getroot()
    for record in list(root.iter("record")):
        if record.get("id") not in xmlids:
            record.getparent().remove(record)
    for node in (root, *root.iter("data")):
        node.set("noupdate", "0")
    return root


def reload_defaults(env, xmlids):
    """Load ``xmlids`` from this release's XML and drop their translations.

    The translations are dropped only in the columns the release translates;
    Odoo loads this release's ``i18n`` files for them right after the
    post-migration step.
    """
    cr = env.cr
    if not xmlids:
        return
    # Raw SQL, safe: runs at upgrade, with no user; bound parameters; only
    # this module's default records that still equal the old defaults, and
    # their noupdate flag is restored in the finally below.
    cr.execute(
        SQL(
            "UPDATE ir_model_data SET noupdate = false"
            " WHERE module = %s AND name IN %s",
            MODULE,
            tuple(xmlids),
        )
    )
    try:
        for path in DATA_FILES:
            root = _filtered_data(path, set(xmlids))
            if next(root.iter("record"), None) is not None:
                xml_import(env, MODULE, {}, "update", noupdate=False).parse(root)
        env.flush_all()
    finally:
        cr.execute(
            SQL(
                "UPDATE ir_model_data SET noupdate = true"
                " WHERE module = %s AND name IN %s",
                MODULE,
                tuple(xmlids),
            )
        )
    # Raw SQL, safe: same records; the ORM's copies are invalidated after,
    # and this release's i18n files fill the other languages again.
    for model, spec in MODELS.items():
        for col in spec["translated"]:
            cr.execute(
                SQL(
                    "UPDATE %s t SET %s = jsonb_build_object('en_US', t.%s -> 'en_US')"
                    " FROM ir_model_data imd WHERE imd.res_id = t.id"
                    " AND imd.module = %s AND imd.model = %s AND imd.name IN %s"
                    " AND t.%s IS NOT NULL",
                    SQL.identifier(spec["table"]),
                    SQL.identifier(col),
                    SQL.identifier(col),
                    MODULE,
                    model,
                    tuple(xmlids),
                    SQL.identifier(col),
                )
            )
    env.invalidate_all()


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    untouched = untouched_records(cr)
    kept = sorted(set(OLD_DEFAULTS) & set(compute_fingerprints(cr)) - set(untouched))
    reload_defaults(env, untouched)
    _logger.info(
        "%s: %d default records brought to the new defaults, %d kept as edited: %s",
        MODULE,
        len(untouched),
        len(kept),
        ", ".join(kept) or "none",
    )
