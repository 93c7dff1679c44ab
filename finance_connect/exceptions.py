"""The exceptions of the core that other code raises or catches.

Import them from here (``odoo.addons.finance_connect.exceptions``), in the core
and in the sibling addons alike; ``readme/DEVELOP.md`` says who raises which.
"""

from .lib import signing


class MappingMissing(Exception):
    """A value of a payload has no (or an ambiguous) mapping: never guess.

    Raised by ``finance.connect.connection._map_outbound_payload`` and
    ``_map_value``; the message that needs the value waits for it.
    """

    def __init__(self, mapping_type, value, reason="unmapped"):
        super().__init__(f"{mapping_type} {value!r} is {reason}")
        self.mapping_type = mapping_type
        self.value = value
        self.reason = reason


class HandlerError(Exception):
    """A permanent processing problem: the message goes to the exception inbox."""

    def __init__(self, message, category="other", fix=None):
        super().__init__(message)
        self.category = category
        #: The records a person opens to fix the problem (the exception's "Fix").
        self.fix = fix


class HandlerRetry(Exception):
    """A transient processing problem: try again later."""

    def __init__(self, message, seconds=60):
        super().__init__(message)
        self.seconds = seconds


class WebhookNotConfigured(signing.WebhookVerificationError):
    """The connection has no usable secret or public key: every inbound webhook
    is refused (reason ``not_configured``, answered 401)."""

    reason = "not_configured"
