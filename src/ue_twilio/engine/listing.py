"""Twilio's list of one run's Messages or Calls, as delivery tracking reads it.

Following 10,000 messages one GET at a time costs 10,000 requests a round;
one list of the sender's recent resources (up to PAGE_SIZE a page) costs
ten. The list is filtered by ``From`` (no sender filter for a Messaging
Service, which picks the From itself: rows are then kept only when their
``messaging_service_sid`` is ours) and by ``DateSent>`` (calls:
``StartTime>``) the run's start on Twilio's clock (models.TwilioClock: the
caller converts it) minus CLOCK_SKEW. A message's ``date_sent``
is null until Twilio sends it (a call's ``start_time`` until it is dialled),
so what is still queued, or failed without being sent, is not in the list:
the tracker fetches those by SID (tracking.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Mapping, Optional

from ..inputs.config import TaskConfig
from ..models import Reply
from .params import sender_address
from .reconcile import CLOCK_SKEW, iso_utc

if TYPE_CHECKING:
    from .api import Pages

PAGE_SIZE = 1000  # Twilio's maximum


class Listing:
    """One query, page by page; ``rows`` keeps the rows that can be ours."""

    def __init__(
        self,
        client: Pages,
        resource: str,
        sender: Optional[str],
        since: float,
        service: Optional[str] = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.resource = resource
        self.page_size = page_size
        self._client = client
        self._service = service
        date = "StartTime>" if resource == "Calls" else "DateSent>"
        self.query = {date: iso_utc(since - CLOCK_SKEW), "PageSize": str(page_size)}
        if sender is not None:
            self.query["From"] = sender

    def first(self) -> Reply:
        return self._client.list_page(self.resource, self.query)

    def next(self, page: Reply) -> Optional[Reply]:
        """The next page, or None after the last one."""
        return self._client.next_page(page)

    def rows(self, page: Reply) -> Optional[List[Mapping]]:
        """The page's resources (None: the answer held no list)."""
        rows = page.body.get(self.resource.lower()) if page.body else None
        if not isinstance(rows, list):
            return None
        return [row for row in rows if isinstance(row, Mapping) and self._ours(row)]

    def _ours(self, row: Mapping) -> bool:
        return self._service is None or row.get("messaging_service_sid") == (
            self._service
        )


def listing_for(client: Pages, config: TaskConfig, since: float) -> Listing:
    """The list that holds this task's resources, created after ``since``
    (epoch seconds on Twilio's clock)."""
    if config.is_voice:
        return Listing(client, "Calls", config.sender, since)
    if config.uses_messaging_service:
        return Listing(client, "Messages", None, since, service=config.sender)
    return Listing(client, "Messages", sender_address(config), since)
