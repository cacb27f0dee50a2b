"""The adaptive window on its own: how many requests it lets out, and when."""

from __future__ import annotations

import threading

from ue_twilio.engine.ratelimit import AdaptiveLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def never() -> bool:
    return False


def fill(limiter: AdaptiveLimiter, count: int):
    return [limiter.acquire(never) for _ in range(count)]


def free_slots(limiter: AdaptiveLimiter) -> int:
    """How many more acquires succeed at once (then gives them back)."""
    got = 0
    while limiter.acquire(never, blocking=False) is not None:
        got += 1
    for _ in range(got):
        limiter.release()
    return got


def test_lets_out_up_to_the_maximum():
    limiter = AdaptiveLimiter(4)
    fill(limiter, 4)
    assert free_slots(limiter) == 0
    limiter.release()
    assert free_slots(limiter) == 1


def test_a_429_shrinks_the_window_once_per_congestion_event():
    limiter = AdaptiveLimiter(10)
    tickets = fill(limiter, 10)
    for ticket in tickets:  # ten answers of one burst: one decrease only
        limiter.rate_limited(ticket, None)
        limiter.release()
    assert limiter.limit == 7
    newer = limiter.acquire(never)
    limiter.rate_limited(newer, None)  # sent after the decrease: a new event
    limiter.release()
    assert limiter.limit < 7


def test_the_window_never_exceeds_what_was_in_flight():
    """A 429 with 3 in flight means the account allows about 2: shrink to that."""
    limiter = AdaptiveLimiter(20)
    tickets = fill(limiter, 3)
    limiter.rate_limited(tickets[0], None)
    limiter.release()
    assert limiter.limit == 2


def test_grows_back_additively_after_success():
    limiter = AdaptiveLimiter(10)
    tickets = fill(limiter, 10)
    limiter.rate_limited(tickets[0], None)
    for _ in tickets:
        limiter.release()
    shrunk = limiter.limit
    for _ in range(shrunk + 1):  # a window of successes: one more slot
        limiter.succeeded()
    assert limiter.limit == shrunk + 1
    for _ in range(200):
        limiter.succeeded()
    assert limiter.limit == 10  # never above the configured maximum


def test_never_below_one():
    limiter = AdaptiveLimiter(3)
    for _ in range(10):
        ticket = limiter.acquire(never)
        limiter.rate_limited(ticket, None)
        limiter.release()
    assert limiter.limit == 1
    assert free_slots(limiter) == 1


def test_retry_after_pauses_every_acquire():
    clock = Clock()
    limiter = AdaptiveLimiter(5, clock=clock)
    ticket = limiter.acquire(never)
    limiter.rate_limited(ticket, 2.0)
    limiter.release()
    assert free_slots(limiter) == 0  # paused, although slots are free
    clock.now += 2.0
    assert free_slots(limiter) >= 1


def test_a_halted_waiter_returns_none_once_woken():
    """Waiters sleep until woken: whoever halts must call wake()."""
    limiter = AdaptiveLimiter(1)
    limiter.acquire(never)
    halted = threading.Event()
    finished = []
    thread = threading.Thread(
        target=lambda: finished.append(limiter.acquire(halted.is_set))
    )
    thread.start()
    halted.set()
    limiter.wake()
    thread.join(5)
    assert not thread.is_alive() and finished == [None]


def test_a_release_hands_the_slot_to_a_waiter():
    limiter = AdaptiveLimiter(1)
    first = limiter.acquire(never)
    finished = []
    thread = threading.Thread(target=lambda: finished.append(limiter.acquire(never)))
    thread.start()
    limiter.release()
    thread.join(5)
    assert not thread.is_alive() and finished == [first]


def test_a_pause_ends_by_itself():
    """A Retry-After pause needs no wake: the waiter's own timeout ends it."""
    limiter = AdaptiveLimiter(2)
    ticket = limiter.acquire(never)
    limiter.rate_limited(ticket, 0.2)
    limiter.release()
    finished = []
    thread = threading.Thread(target=lambda: finished.append(limiter.acquire(never)))
    thread.start()
    thread.join(5)
    assert not thread.is_alive() and finished and finished[0] is not None
