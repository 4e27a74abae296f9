from lxml import etree

from odoo import models

# Context key holding a dict: compiled inline templates of one render call.
COMPILE_CACHE_KEY = "kpulse_dunning_qweb_compile_cache"


class IrQweb(models.AbstractModel):
    _inherit = "ir.qweb"

    def _compile(self, template):
        """Compile an inline template once per render call of a reminder
        template, not once per reminder.

        ``mail.render.mixin`` parses and compiles the template source again
        for every record; for a batch of 200 reminders that is 200 identical
        compilations, a quarter of the engine's time. Odoo caches compiled
        views by id but never inline (etree) templates. Here they are cached
        only while ``kpulse.dunning.template`` renders one field for a batch
        (it puts the dict in the context): the key is the source and every
        context value that changes how QWeb compiles (language, the
        restrictions of non-editors), so each compilation is one Odoo would
        have made, reused for the next reminder of the same batch.
        """
        cache = self.env.context.get(COMPILE_CACHE_KEY)
        if cache is None or not isinstance(template, etree._Element):
            return super()._compile(template)
        key = (etree.tostring(template), self._kpulse_compile_context_key())
        if key not in cache:
            cache[key] = super()._compile(template)
        return cache[key]

    def _kpulse_compile_context_key(self):
        # Everything in the context but QWeb's own per-render bookkeeping
        # (its "__qweb_*" and "_qweb_*" entries) and this cache.
        return repr(
            sorted(
                (key, repr(value))
                for key, value in self.env.context.items()
                if not key.startswith(("__qweb", "_qweb")) and key != COMPILE_CACHE_KEY
            )
        )
