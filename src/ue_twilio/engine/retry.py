"""The one retry policy of every 429 loop, an immutable value like urllib3's ``Retry``.

Twilio answers 429 when the account's concurrency limit is reached; it did
not process the request, so sending it again is safe. Every loop that waits
one out (sending, tracking by SID and by list, reconciling lost answers,
hanging up, the template commands, polling for an acknowledgement) holds a
``Retry``: ``increment`` returns the next one, ``is_exhausted`` says when
the loop's budget is spent, ``backoff`` how long to wait, ``sleep`` waits
it, ended at once by a cancel.
The loops differ only in their budget, named below (docs/reliability.md,
"Retry budgets"); the shared adaptive window stays in ratelimit.py.
"""

from __future__ import annotations

import random
import time
from typing import Callable, NamedTuple, Optional

from .cancel import Cancel

BASE_BACKOFF = 0.1
MAX_BACKOFF = 5.0
# The shortest wait before a retry, whatever Retry-After says: one backoff
# step. ``Retry-After: 0`` then spaces ten retries over a second instead of
# sending them as one burst that fails the recipient within milliseconds.
FLOOR = BASE_BACKOFF
# 2 ** 32 * BASE_BACKOFF is far above MAX_BACKOFF: a longer count changes
# nothing but would overflow a float after about 1,000 attempts.
MAX_EXPONENT = 32


class Retry(NamedTuple):
    """``total`` retries allowed (None: as many as the loop's deadline allows);
    ``attempt`` retries so far; ``retry_after`` the last Retry-After, if any."""

    total: Optional[int] = None
    attempt: int = 0
    retry_after: Optional[float] = None

    def increment(self, retry_after: Optional[float] = None) -> Retry:
        """The policy after one more 429 (with its Retry-After, if any)."""
        return self._replace(attempt=self.attempt + 1, retry_after=retry_after)

    def is_exhausted(self) -> bool:
        """More retries than ``total``: the loop gives up."""
        return self.total is not None and self.attempt > self.total

    def backoff(self) -> float:
        """Retry-After when Twilio gave one (never under FLOOR: Twilio's hint
        is honoured, a hint of "now" is not a burst), else capped exponential
        with full jitter between half and all of the step."""
        if self.retry_after is not None:
            return max(self.retry_after, FLOOR)
        ceiling = min(MAX_BACKOFF, BASE_BACKOFF * 2.0 ** _exponent(self.attempt))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter

    def sleep(
        self,
        cancel: Cancel,
        deadline: Optional[float] = None,
        clock: Callable[[], float] = time.monotonic,
        delay: Optional[float] = None,
    ) -> bool:
        """Wait the backoff; True when the loop may retry. False at once when
        the wait would end at or after ``deadline`` (no point waiting for a
        retry that cannot happen), or when the cancel came during the wait.
        ``delay``: a backoff drawn already (to log it), else a new one."""
        delay = self.backoff() if delay is None else delay
        if deadline is not None and clock() + delay >= deadline:
            return False
        return not cancel.wait(delay)


def _exponent(attempt: int) -> int:
    return min(max(attempt - 1, 0), MAX_EXPONENT)


# The budgets of the loops (docs/reliability.md): a send gives up after 10
# retries (the recipient fails, nothing was created); the lookups, tracking
# and hang-ups retry until their own deadline; a template command retries twice;
# waiting for an acknowledgement retries its poll until the Acknowledgement
# Timeout (issue 21).
SEND = Retry(total=10)
TRACK = Retry()
LIST_PAGE = Retry()
LOOKUP = Retry()
HANG_UP = Retry()
COMMAND = Retry(total=2)
ACK_POLL = Retry()
