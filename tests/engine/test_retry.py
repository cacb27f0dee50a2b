"""The one retry policy, the one cancel type and the worker crew, on their own."""

from __future__ import annotations

import threading

import pytest

from support.events import WAIT
from ue_twilio.engine.cancel import Cancel
from ue_twilio.engine.retry import COMMAND, FLOOR, MAX_BACKOFF, SEND, Retry
from ue_twilio.engine.schedule import Polling
from ue_twilio.engine.workers import Crew


def test_a_policy_is_a_value_and_increment_returns_a_new_one():
    first = Retry(total=2)
    second = first.increment(1.5)
    assert (first.attempt, first.retry_after) == (0, None)
    assert (second.attempt, second.retry_after) == (1, 1.5)
    with pytest.raises(AttributeError):
        second.attempt = 5  # type: ignore[misc]


def test_exhausted_after_total_retries():
    retry = SEND
    for _ in range(SEND.total):
        retry = retry.increment()
        assert not retry.is_exhausted()
    assert retry.increment().is_exhausted()
    assert COMMAND.increment().increment().increment().is_exhausted()
    assert not Retry(total=None).increment().is_exhausted()


def test_backoff_honours_retry_after():
    assert Retry().increment(3.0).backoff() == 3.0


def test_retry_after_zero_still_backs_off():
    """Issue 20 item 11: ``Retry-After: 0`` gave 10 retries with no pause.
    Every retry now waits at least the floor, one backoff step (0.1 s)."""
    retry = SEND
    for _ in range(SEND.total):
        retry = retry.increment(0.0)
        assert retry.backoff() == FLOOR == 0.1
    assert retry.increment(0.04).backoff() == FLOOR


def test_backoff_is_exponential_with_jitter_and_capped():
    retry = Retry()
    for attempt in range(1, 12):
        retry = retry.increment()
        ceiling = min(MAX_BACKOFF, 0.1 * 2 ** (attempt - 1))
        delays = {retry.backoff() for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered: workers do not retry in lockstep


def test_backoff_after_thousands_of_429s_does_not_overflow():
    retry = Retry()._replace(attempt=5000)
    assert MAX_BACKOFF / 2 <= retry.backoff() <= MAX_BACKOFF


def test_sleep_gives_up_at_once_when_the_deadline_comes_first():
    cancel = Cancel()
    retry = Retry().increment(30.0)
    assert retry.sleep(cancel, deadline=100.0, clock=lambda: 99.0) is False
    assert not cancel.is_set()


def test_a_cancel_interrupts_the_sleep():
    cancel = Cancel()
    retry = Retry().increment(600.0)
    slept = []
    thread = threading.Thread(target=lambda: slept.append(retry.sleep(cancel)))
    thread.start()
    cancel.set()
    thread.join(WAIT)
    assert slept == [False]


def test_poll_interval_does_not_overflow_after_an_hour_of_polls():
    """Issue 20 item 10: ``1.5 ** polls`` overflowed after 1,751 polls (a call
    in progress for ~58 minutes) and the worker died with a traceback."""
    polling = Polling(1.0, 10.0)
    assert polling.interval(0) == 1.0
    assert polling.interval(1751) == 10.0
    assert polling.interval(10**6) == 10.0


def test_cancel_callbacks_run_once_and_at_once_when_already_set():
    cancel = Cancel()
    calls = []
    unsubscribe = cancel.on_set(lambda: calls.append("a"))
    forgotten = cancel.on_set(lambda: calls.append("never"))
    forgotten()
    cancel.set()
    cancel.set()
    cancel.on_set(lambda: calls.append("late"))
    unsubscribe()
    assert calls == ["a", "late"]
    assert cancel.is_set() and cancel.wait(0)


def test_a_crew_started_with_no_workers_stays_idle():
    """Issue 20 item 12: ``Crew.start(0)`` cleared ``idle`` forever."""
    crew = Crew("test")
    assert crew.start(0, lambda: None) == 0
    assert crew.idle.is_set()
    assert crew.wait(0.0)


def test_crew_wait_ends_at_a_cancel_while_a_worker_is_still_busy():
    crew, cancel, release = Crew("test"), Cancel(), threading.Event()
    crew.start(1, lambda: release.wait(WAIT))
    waited = []
    thread = threading.Thread(target=lambda: waited.append(crew.wait(600, cancel)))
    thread.start()
    cancel.set()
    thread.join(WAIT)
    alive = thread.is_alive()
    release.set()
    assert not alive and waited == [False]
