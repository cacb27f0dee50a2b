"""Wait For Acknowledgement: page until somebody acknowledges, or the time is up.

Escalation 'all_at_once' pages everybody at once; 'one_by_one' pages the
next recipient in list order every Escalation Interval until somebody
acknowledges or the list ends, then waits for the rest of the
Acknowledgement Timeout (counted from the first page). Recipients the
escalation never reached end ``not_called`` ("not paged: …"), counted
neither queued nor failed, as a call chain's.

SMS and WhatsApp pages carry each recipient's code on their last line and
go through the task's own sending rounds (rounds.py); their replies are read
from Twilio's inbound list (engine/acknowledgement.py). Voice pages are
Studio executions (engine/studio.py), started through the dispatcher (429s
retried like every create; a lost answer stays unknown and is never sent
again: Studio allows one active execution per contact).

Waiting costs one list request a poll for all recipients together (voice:
plus one Context request per execution, once, when it ends), 2 s apart
while things happen, backing off to 15 s. When the wait ends (an
acknowledgement, the timeout or a cancel) the voice executions still active
are ended and their calls hung up; Notify On Acknowledgement then texts
everybody else already paged who acknowledged.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Set, Tuple

from ..engine import studio
from ..engine.acknowledgement import (
    ACKNOWLEDGED,
    OPTED_OUT,
    Inbox,
    Pace,
    Polled,
    Replies,
    Verdict,
    assign_codes,
    epoch,
)
from ..engine.dispatcher import Dispatcher
from ..engine.params import sender_address
from ..engine.workers import Crew
from ..exceptions import TwilioConnectionError, TwilioTaskError
from ..inputs import fields as f
from ..inputs.acknowledgement import ACK_DIGIT, page_text
from ..inputs.regions import STUDIO
from ..ledger.state import ResendState
from ..models import Channel, RecipientResult, Reply, ReplyKind, Status
from ..output.verdict import AckFacts
from ..transport.client import open_client
from . import rounds
from .fallback import sms_config
from .run import Context, Run, Sending

# Live progress on STDERR at most this often (seconds, real time).
PROGRESS_EVERY = 30.0
# A cancel must end within the agent's window: the clean-up's budget.
CLEANUP_BUDGET = 3.0
CHANNELS = {f.SMS: "sms", f.WHATSAPP: "whatsapp", f.VOICE: "voice"}


class Acknowledgement:
    """Who was paged, who acknowledged; the Extension Output's view of it."""

    def __init__(self) -> None:
        self.paged: Set[int] = set()
        self.opted_out: Set[int] = set()
        self.by: Optional[int] = None
        self.at: Optional[float] = None
        self.after: Optional[float] = None
        self.first_page: Optional[float] = None  # Twilio's clock when known

    def as_dict(self, run: Run) -> Dict[str, Any]:
        acknowledged = self.by is not None
        return {
            "acknowledged": acknowledged,
            "by": run.results[self.by].to if self.by is not None else None,
            "at": _iso(self.at) if acknowledged else None,
            "channel": CHANNELS[run.config.action] if acknowledged else None,
            "after_seconds": round(self.after, 1) if self.after is not None else None,
        }


def page_until_acknowledged(context: Context, run: Run) -> Tuple[Sending, None]:
    """Page, wait, clean up; (sending, no delivery report)."""
    state = Acknowledgement()
    run.acknowledgement = state
    if run.config.is_voice:
        waiter: _Waiter = _VoiceWaiter(context, run, state)
    else:
        waiter = _TextWaiter(context, run, state)
    sending = waiter.wait()
    if state.by is not None and run.config.notify_on_acknowledgement:
        _notify(context, run, state)
    return sending, None


class _Waiter:
    """The escalation and the wait; subclasses page and poll one channel."""

    def __init__(self, context: Context, run: Run, state: Acknowledgement) -> None:
        self.context = context
        self.run = run
        self.state = state
        self.config = run.config
        self.scale = context.settings.time_scale
        self.sending = Sending()
        self.lock = threading.Lock()
        self.pace = Pace(self.scale)

    # -- the escalation ---------------------------------------------------
    def wait(self) -> Sending:
        """Page and wait; the voice executions are ended whatever happens."""
        one_by_one = self.config.escalation == f.PAGE_ONE_BY_ONE
        if not self.prepare():
            return self.sending
        # An earlier run's page in flight is looked up first, as in every order
        # (text pages: its code was that run's, so it is paged anew).
        waiting = list(rounds.settle_earlier(self.context, self.run))
        first, waiting = (waiting[:1], waiting[1:]) if one_by_one else (waiting, [])
        try:
            waiting = self._escalate(first, waiting)
        except BaseException:
            self.cleanup()  # an unexpected error must not leave calls ringing
            raise
        self.finish(waiting)
        return self.sending

    def _escalate(self, first: List[int], waiting: List[int]) -> List[int]:
        """Page ``first``, then the rest one by one; who was never paged."""
        config, cancel = self.config, self.context.cancel
        interval = config.escalation_interval * self.scale
        deadline = time.monotonic() + config.acknowledgement_timeout * self.scale
        next_page = time.monotonic() + (interval if self.page(first) else 0.0)
        next_log = 0.0
        while not (self._over() or time.monotonic() >= deadline):
            now = time.monotonic()
            if waiting and now >= next_page:
                paged = self.page(waiting[:1])
                waiting = waiting[1:]
                next_page = now + (interval if paged else 0.0)  # failed: the next now
                continue
            if not (waiting or self.state.paged):
                break  # nobody could be paged: nothing to wait for
            if now >= next_log:
                next_log = now + PROGRESS_EVERY
                self._progress(deadline - now)
            pause = self.pace.delay(self.poll())
            if self._over():
                break
            until = min(deadline, next_page if waiting else deadline)
            cancel.wait(max(0.0, min(pause, until - time.monotonic())))
        return waiting

    def _over(self) -> bool:
        return (
            self.state.by is not None
            or self.sending.stopped
            or self.context.cancel.is_set()
        )

    def _progress(self, left: float) -> None:
        run = self.run
        run.log.info(
            "Waiting for acknowledgement: %d paged, %d s left.",
            len(self.state.paged),
            max(0, int(left / self.scale)),
        )
        run.reporter.offer(lambda: run.snapshot(None))

    def page(self, indices: List[int]) -> bool:
        """Send these pages; whoever Twilio queued counts as paged. True when
        at least one of them was."""
        run = self.run
        if len(indices) == 1:
            run.log.info("Paging %s.", run.results[indices[0]].to)
        else:
            run.log.info("Paging %d recipients at once.", len(indices))
        self.send(indices)
        self.pace.news()
        return any(index in self.state.paged for index in indices)

    def paged(self, index: int, reply: Reply) -> None:
        """From the sender threads: a page reached Twilio (its time: the
        answer's ``date_created``, a date or epoch seconds)."""
        created = reply.body.get("date_created") if reply.body else None
        at = created if isinstance(created, float) else epoch(created)
        with self.lock:
            self.state.paged.add(index)
            when = at if at is not None else time.time()
            if self.state.first_page is None or when < self.state.first_page:
                self.state.first_page = when

    def acknowledged(self, index: int, at: Optional[float], how: str) -> None:
        state, run = self.state, self.run
        if state.by is not None:
            return
        state.by = index
        run.resend.mark_acknowledged(run.results[index].to)  # for the rerun
        state.at = at if at is not None else time.time()
        state.after = max(0.0, state.at - (state.first_page or run.started))
        run.log.info("Acknowledged by %s (%s).", run.results[index].to, how)

    def poll(self) -> Optional[Polled]:
        """One poll; connection trouble is logged and the next poll tries again."""
        try:
            return self.look()
        except TwilioConnectionError as exc:
            self.run.log.warning(
                "Waiting for acknowledgement: %s; trying again.",
                exc.status_description,
            )
            return Polled([], problem=exc.status_description)
        except TwilioTaskError as exc:  # 401/403: nothing more will work
            self.sending.error = exc
            return None

    def finish(self, waiting: List[int]) -> None:
        """Mark who was never paged; after a cancel or an error they stay not sent."""
        self.cleanup()
        self.sending.cancelled = self.sending.cancelled or self.context.cancel.is_set()
        if self.sending.stopped:
            return
        run = self.run
        who = (
            "{} acknowledged first".format(run.results[self.state.by].to)
            if self.state.by is not None
            else "the Acknowledgement Timeout ended first"
        )
        for index in waiting:
            run.results[index] = RecipientResult(
                run.results[index].to,
                Status.NOT_CALLED,
                error_message="not paged: " + who,
            )
        if self.state.by is None:
            run.log.warning(
                "Nobody acknowledged within %d s (%d paged).",
                self.config.acknowledgement_timeout,
                len(self.state.paged),
            )

    # -- one channel ----------------------------------------------------------
    def prepare(self) -> bool:
        return True

    def send(self, indices: List[int]) -> None:
        raise NotImplementedError

    def look(self) -> Optional[Polled]:
        raise NotImplementedError

    def cleanup(self) -> None:
        """Nothing to end for messages."""


class _TextWaiter(_Waiter):
    """SMS and WhatsApp: reply codes, Twilio's inbound list."""

    def prepare(self) -> bool:
        run, config = self.run, self.config
        codes = assign_codes(len(config.recipients))
        self.codes = dict(zip(config.recipients, codes))
        self.index = {to: i for i, to in enumerate(config.recipients)}
        self.replies = Replies()
        run.text_for = lambda to: page_text(config.message or "", self.codes[to])
        run.on_queued = self._queued
        service = config.sender if config.uses_messaging_service else None
        to = None if service else sender_address(config)
        clock = self.context.client.clock
        self.inbox = Inbox(
            self.context.client, to, lambda: clock.twilio_time(run.started), service
        )
        return True

    def _queued(self, to: str, reply: Reply) -> None:
        """From the sender threads: the page's 201, with Twilio's time."""
        at = epoch(reply.body.get("date_created") if reply.body else None)
        self._register(self.index[to], to, at if at is not None else time.time())

    def _register(self, index: int, to: str, at: float) -> None:
        """``to`` was paged at ``at``: their replies from then on count."""
        self.paged(index, Reply(ReplyKind.OK, body={"date_created": at}))
        with self.lock:
            self.replies.paged(to, self.codes[to], at)

    def send(self, indices: List[int]) -> None:
        rounds.send(self.context, self.run, indices, self.sending)
        for index in indices:  # found at Twilio after a lost answer: since the start
            result = self.run.results[index]
            if result.status == Status.QUEUED and index not in self.state.paged:
                self._register(index, result.to, self.run.started)

    def look(self) -> Optional[Polled]:
        polled = self.inbox.poll()
        for row in polled.rows:
            with self.lock:
                verdict = self.replies.judge(row)
            if verdict is not None:
                self._judged(verdict)
        if polled.problem is not None:
            self.run.log.warning(
                "Waiting for acknowledgement: Twilio's list failed (%s); "
                "looking again later.",
                polled.problem,
            )
        return polled

    def _judged(self, verdict: Verdict) -> None:
        index = self.index[verdict.number]
        log = self.run.log
        if verdict.kind == ACKNOWLEDGED:
            self.acknowledged(index, verdict.at, "replied with the code")
        elif verdict.kind == OPTED_OUT:
            self.state.opted_out.add(index)
            log.warning(
                "%s replied %s: opted out (Twilio sends them nothing more until "
                "they reply START); not an acknowledgement.",
                verdict.number,
                verdict.body.strip()[:20],
            )
        else:
            log.info(
                "%s replied without their code (%r): not an acknowledgement.",
                verdict.number,
                verdict.body[:40],
            )


class _VoiceWaiter(_Waiter):
    """Voice: a Studio execution per recipient; pressing 1 acknowledges."""

    def prepare(self) -> bool:
        run, context = self.run, self.context
        self.studio = open_client(
            self.config.account,
            context.settings,
            proxy=self.config.proxy,
            pool_size=self.config.max_concurrent,
            log=run.log,
            product=STUDIO,
        )
        self.executions: Dict[str, int] = {}  # execution sid -> index
        self.open: Set[str] = set()
        try:
            self.flow = studio.ensure_flow(self.studio, studio.definition(self.config))
            return True
        except studio.StudioError as exc:
            self.sending.error = TwilioTaskError("Voice acknowledgement: " + str(exc))
        except TwilioTaskError as exc:  # 401, 403, no connection
            self.sending.error = exc
        self.studio.close()
        return False

    def send(self, indices: List[int]) -> None:
        run, config, context = self.run, self.config, self.context
        numbers = [run.results[i].to for i in indices]
        by_number = dict(zip(numbers, indices))

        def start(to: str) -> Reply:
            reply = rounds.write_ahead(
                run.resend,
                to,
                lambda: studio.start(
                    self.studio, self.flow, to, config.sender, config.message or ""
                ),
            )
            if reply.kind == ReplyKind.OK and reply.sid is not None:
                self.paged(by_number[to], reply)
                with self.lock:
                    self.executions[reply.sid] = by_number[to]
                    self.open.add(reply.sid)
            return reply

        dispatcher = Dispatcher(
            start, numbers, config.max_concurrent, run.log, context.settings
        )
        for index, result in zip(indices, context.dispatch(dispatcher)):
            run.results[index] = result.replace(channel=Channel.CALL)
        self.sending.absorb(dispatcher)

    def look(self) -> Optional[Polled]:
        since = self.studio.clock.twilio_time(self.run.started)  # Twilio's clock
        page = studio.executions(self.studio, self.flow, since)
        if page.kind == ReplyKind.RATE_LIMITED:
            return Polled([], True, page.retry_after)
        if page.kind != ReplyKind.OK:
            return Polled([], problem=page.describe_error())
        found = studio.statuses(page)
        with self.lock:
            ended = [sid for sid in self.open if found.get(sid) == "ended"]
        for sid in ended:
            self._read(sid, page)
        return Polled([{"sid": sid} for sid in ended])

    def _read(self, sid: str, page: Reply) -> None:
        """An ended execution: did the person press 1?"""
        reply = studio.context(self.studio, self.flow, sid)
        if reply.kind != ReplyKind.OK:
            return  # read again at the next poll
        with self.lock:
            self.open.discard(sid)
        pressed = studio.digits(reply)
        index = self.executions[sid]
        if pressed == ACK_DIGIT:
            self.acknowledged(index, _ended_at(page, sid), "pressed 1")
        else:
            self.run.log.info(
                "%s's call ended without an acknowledgement (pressed: %s).",
                self.run.results[index].to,
                pressed or "nothing",
            )

    def cleanup(self) -> None:
        """End the executions still active and hang up their calls, concurrently,
        within CLEANUP_BUDGET."""
        with self.lock:
            pending = list(self.open)
        if pending:
            self.run.log.info(
                "Ending %d Studio execution(s) still active.", len(pending)
            )
            crew = Crew("ue-twilio-ack-cleanup")
            work = iter(pending)
            lock = threading.Lock()

            def end_some() -> None:
                while True:
                    with lock:
                        sid = next(work, None)
                    if sid is None:
                        return
                    self._end(sid)

            crew.start(min(self.config.max_concurrent, len(pending)), end_some)
            crew.idle.wait(CLEANUP_BUDGET)
        self.studio.close()

    def _end(self, sid: str) -> None:
        log, to = self.run.log, self.run.results[self.executions[sid]].to
        try:
            ended = studio.end(self.studio, self.flow, sid)
            call = studio.call_sid(studio.context(self.studio, self.flow, sid))
            hung = (
                self.context.client.update("Calls", call, {"Status": "completed"})
                if call
                else None
            )
        except Exception as exc:  # noqa: BLE001 - the clean-up must not fail the run
            log.warning(
                "Could not end %s's execution %s: %s", to, sid, type(exc).__name__
            )
            return
        if ended.kind != ReplyKind.OK:
            log.warning(
                "Could not end %s's execution %s: %s", to, sid, ended.describe_error()
            )
        elif hung is not None:
            log.info("Ended %s's execution %s and hung up %s.", to, sid, call)


def _ended_at(page: Reply, sid: str) -> Optional[float]:
    for row in (page.body or {}).get("executions") or []:
        if isinstance(row, dict) and row.get("sid") == sid:
            return epoch(row.get("date_updated"))
    return None


def _notify(context: Context, run: Run, state: Acknowledgement) -> None:
    """One SMS (WhatsApp for WhatsApp pages) to each other paged recipient."""
    config = run.config
    acker = run.results[state.by].to if state.by is not None else ""
    others = sorted(state.paged - state.opted_out - {state.by})
    numbers = [run.results[i].to for i in others]
    if not numbers:
        return
    text = "Acknowledged by {} at {}: {}".format(
        acker, _iso(state.at), (config.message or "")[:100]
    )
    notice = dataclasses.replace(
        sms_config(config, numbers),
        action=f.WHATSAPP if config.action == f.WHATSAPP else f.SMS,
        message=text,
        wait_for_acknowledgement=False,
    )
    run.log.info("Notify On Acknowledgement: texting %d recipient(s).", len(numbers))
    notice_run = Run(notice, ResendState(notice, {}, run.log), run.log, None)
    rounds.send(context, notice_run)
    queued = sum(1 for r in notice_run.results if r.status == Status.QUEUED)
    run.log.info("Notify On Acknowledgement: %d of %d queued.", queued, len(numbers))


def _iso(moment: Optional[float]) -> Optional[str]:
    if moment is None:
        return None
    stamp = datetime.fromtimestamp(moment, tz=timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def mark_entries(run: Run, entries: List[Dict[str, Any]]) -> None:
    """Each recipient entry gains ``paged`` and ``acknowledged`` (and
    ``opted_out`` when they replied STOP)."""
    state = run.acknowledgement
    if state is None:
        return
    index = {to: i for i, to in enumerate(run.config.recipients)}
    for entry in entries:
        position = index.get(str(entry.get("to")))
        if position is None:
            continue
        entry["paged"] = position in state.paged
        entry["acknowledged"] = position == state.by
        if position in state.opted_out:
            entry["opted_out"] = True


def ack_facts(run: Run) -> Optional[AckFacts]:
    """What output/verdict.py decides 0 or 23 on; None when not waiting."""
    state = run.acknowledgement
    if state is None:
        return None
    return AckFacts(
        state.by is not None, len(state.paged), run.config.acknowledgement_timeout
    )
