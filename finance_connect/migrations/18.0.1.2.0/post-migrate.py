"""18.0.1.2.0: mapping set versions. Every existing set gets version 1, its
lines as they are at the upgrade, so that the first change after it has a
version to be compared with and restored to."""

import logging

from odoo import SUPERUSER_ID, api

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    count = env["finance.connect.mapping.version"]._create_first_versions()
    _logger.info("finance_connect: version 1 of %s mapping set(s) recorded", count)
