"""What the engine needs of Twilio's REST API, as a type.

The engine (listing, reconciliation, tracking) pages through Twilio's lists
but must not import the transport: it is handed an object with these
methods (the transport's ``TwilioClient``, a test's stand-in) and only ever
sees ``Reply`` values; likewise it logs through any ``Log`` (a
``logging.Logger``, the output layer's scrubbing ``SafeLog``). The protocols
exist for the type checker alone, so the
agent's Python 3.7 (which has no ``typing.Protocol``) never evaluates it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Optional

from ..models import Reply

if TYPE_CHECKING:  # pragma: no cover - read by mypy only
    from typing import Protocol  # novermin

    class Pages(Protocol):
        """Twilio's list resources, a page at a time."""

        def list_page(self, resource: str, query: Mapping[str, str]) -> Reply: ...

        def next_page(self, reply: Reply) -> Optional[Reply]: ...

    class Log(Protocol):
        """Where the engine reports: a ``logging.Logger``, a ``SafeLog``."""

        def debug(self, __msg: str, *args: object) -> None: ...

        def info(self, __msg: str, *args: object) -> None: ...

        def warning(self, __msg: str, *args: object) -> None: ...

        def error(self, __msg: str, *args: object) -> None: ...

    class Api(Pages, Protocol):
        """Pages, plus the single-resource calls the engine makes."""

        def fetch(self, resource: str, sid: str) -> Reply: ...

        def update(
            self, resource: str, sid: str, params: Mapping[str, str]
        ) -> Reply: ...

    class Paths(Protocol):
        """Another product's paths (Studio), under the client's base URL."""

        def get_path(
            self, path: str, query: Optional[Mapping[str, str]] = None
        ) -> Reply: ...

        def post_path(self, path: str, params: Mapping[str, str]) -> Reply: ...
