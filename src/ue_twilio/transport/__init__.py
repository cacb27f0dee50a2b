"""How we talk to Twilio: the REST client, the proxy adapter with its TLS
setup, and the diagnosis of a connection that failed.

Nothing outside this package touches ``requests`` or ``urllib3``.
"""

from .client import TwilioClient

__all__ = ["TwilioClient"]
