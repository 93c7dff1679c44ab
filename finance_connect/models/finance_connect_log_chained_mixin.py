"""Rows of the tamper-evident log: every insert or change of their canonical
content leaves one entry in ``finance.connect.log.chain``.

The models that inherit this mixin (messages, attempts, audit trail) name the
columns of their canonical content in ``_log_chain_fields`` (ordered; see
``readme/DEVELOP.md``). The ORM's own row writers (``_create`` and
``_write_multi``, what a flush runs) register the ids of the rows written; the
digests are computed in SQL, from the rows as they are about to be committed,
by one ``INSERT ... SELECT`` per model in a ``cr.precommit`` callback
(``finance.connect.log.chain._write_pending``). A writer that stores rows of
these tables without the ORM calls ``_log_chain_register`` itself.
"""

from odoo import models

#: Key of ``cr.precommit.data``: ``{model name: set of ids}`` to digest.
PENDING_KEY = "finance_connect.log_chain"


class FinanceConnectLogChainedMixin(models.AbstractModel):
    _name = "finance.connect.log.chained.mixin"
    _description = "Finance Connect row of the tamper-evident log"

    #: The columns of the canonical content, in order (never reorder: every
    #: stored digest depends on it). ``active``, ``write_date``, ``write_uid``
    #: are left out on purpose: archiving does not change a row's content.
    _log_chain_fields = ()

    def _create(self, data_list):
        records = super()._create(data_list)
        if self._log_chain_fields:
            records._log_chain_register()
        return records

    def _write_multi(self, vals_list):
        res = super()._write_multi(vals_list)
        if self._log_chain_fields and self:
            tracked = set(self._log_chain_fields)
            if any(tracked.intersection(vals) for vals in vals_list):
                self._log_chain_register()
        return res

    def _log_chain_register(self):
        """Digest these rows into the chain when the transaction commits (no
        rights checked: it only records what was written)."""
        ids = [id_ for id_ in self._ids if isinstance(id_, int)]
        if not ids:
            return
        cr = self.env.cr
        pending = cr.precommit.data.get(PENDING_KEY)
        if pending is None:
            pending = cr.precommit.data[PENDING_KEY] = {}
            chain = self.env["finance.connect.log.chain"]
            cr.precommit.add(chain._write_pending)
        pending.setdefault(self._name, set()).update(ids)
