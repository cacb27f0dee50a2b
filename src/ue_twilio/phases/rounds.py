"""The sending rounds of a run: send, settle lost answers, resend at most once.

A round sends to its recipients at once (dispatcher.py). A recipient whose
answer was lost is looked up at Twilio (reconcile.py): found, it is queued;
absent on two looks, it is sent once more in the next round; otherwise it
stays UNKNOWN and is never resent. A rerun with Resend Policy 'unsent_only'
first settles the same way whom an earlier run may have sent to: every
request is journaled before it leaves (ledger/state.py), so after a kill
those are the recipients still "in flight".
"""

from __future__ import annotations

import time
from typing import Callable, List, Optional, Sequence

from ..engine.dispatcher import Dispatcher, Hooks
from ..engine.params import request_builder
from ..engine.reconcile import ABSENT, LookupPlan, Reconciler, match_for
from ..exceptions import RUN_WIDE_ERRORS
from ..ledger.state import ResendState
from ..models import RecipientResult, Reply, ReplyKind, Status
from .run import Context, Run, Sending

# How often a recipient whose answer was lost, and whom Twilio has no record
# of, is sent again within one run.
MAX_RESENDS = 1


def send(
    context: Context,
    run: Run,
    indices: Optional[Sequence[int]] = None,
    sending: Optional[Sending] = None,
) -> Sending:
    """Send, then settle every lost answer at Twilio; resend what is absent.

    A recipient is sent at most 1 + MAX_RESENDS times, and sent again only
    after two looks at Twilio's list found nothing it could have created.
    """
    sending = sending or Sending()
    cancel = context.cancel
    if indices is None:
        indices = settle_earlier(context, run)
    for round_number in range(MAX_RESENDS + 1):
        _round(context, run, indices, sending)
        if sending.stopped or cancel.is_set():
            break
        absent = _reconcile(context, run, indices)
        if not absent:
            break
        if round_number == MAX_RESENDS:
            run.give_up(absent, MAX_RESENDS + 1)
            break
        run.log.info(
            "Sending once more to %d recipient(s) that Twilio has no record of.",
            len(absent),
        )
        run.forget(absent)
        indices = absent
    sending.cancelled = sending.cancelled or cancel.is_set()
    run.resend.sync()  # the end of a phase: the journal reaches the disk
    return sending


def _round(
    context: Context, run: Run, indices: Sequence[int], sending: Sending
) -> None:
    resource, build = request_builder(run.config, run.text_for)
    resend = run.resend
    on_queued = run.on_queued  # Wait For Acknowledgement: who was paged, when

    calls = run.calls if run.config.is_voice else None  # to hang up on cancel

    def send(to: str) -> Reply:
        reply = write_ahead(
            resend, to, lambda: context.client.create(resource, build(to))
        )
        if reply.kind == ReplyKind.OK:
            if calls is not None:
                calls.add(reply.sid, to)
            if on_queued is not None:
                on_queued(to, reply)
        return reply

    def settle(position: int, result: RecipientResult) -> None:
        # At once, so the placeholder goes as soon as its result exists
        # (100,000 recipients must not be held twice).
        run.results[indices[position]] = result

    base = run.counts_outside(indices)
    dispatcher = Dispatcher(
        send,
        [run.config.recipients[i] for i in indices],
        run.config.max_concurrent,
        run.log,
        context.settings,
        Hooks(lambda p: run.offer(base[0] + p.queued, base[1] + p.failed), settle),
    )
    for index, result in zip(indices, context.dispatch(dispatcher)):
        run.results[index] = result
        if result.status == Status.UNKNOWN:
            resend.mark_unknown(result.to)
    sending.absorb(dispatcher)


def write_ahead(resend: ResendState, to: str, request: Callable[[], Reply]) -> Reply:
    """One request with the ledger around it: the intent is journaled before
    it leaves (a kill from then on leaves ``to`` in flight), the outcome after
    (queued; unsent when Twilio surely created nothing; a lost answer stays in
    flight, to be looked up)."""
    resend.intent(to)
    try:
        reply = request()
    except RUN_WIDE_ERRORS:  # never left, or refused: nothing created
        resend.mark_unsent(to)
        raise
    if reply.kind == ReplyKind.OK:
        resend.mark_queued(to)
    elif reply.kind != ReplyKind.UNKNOWN:  # 429 or refused: nothing created
        resend.mark_unsent(to)
    return reply


def settle_earlier(context: Context, run: Run) -> Sequence[int]:
    """Before anything is sent: look up whom an earlier run may have sent to
    (in flight or unknown when it ended); every order, call chains too.

    Returns the recipients to send to, in order: those pending plus those
    Twilio has no record of. Found: skipped like any recipient that run
    queued. A failed lookup: stays unknown and is not sent (it may exist).
    """
    earlier = run.resend.unknown_indices()
    if not earlier:
        return run.pending
    absent: List[int] = []
    if not context.cancel.is_set():
        run.log.info(
            "Resend Policy: asking Twilio about %d recipient(s) an earlier run may "
            "have sent to.",
            len(earlier),
        )
        verdicts = _reconciler(context, run, run.resend.unknown_since).settle(
            [run.config.recipients[i] for i in earlier]
        )
        absent = run.settle_earlier(earlier, verdicts)
        run.resend.sync()
    return sorted([*run.pending, *absent]) if absent else run.pending


def _reconciler(context: Context, run: Run, since: Callable[[], float]) -> Reconciler:
    """Lookups since ``since`` (Twilio's clock); a cancel ends them at once."""
    settings = context.settings
    plan = LookupPlan(
        time.monotonic() + settings.reconcile_delay + settings.reconcile_budget,
        run.config.max_concurrent,
        (settings.reconcile_delay, settings.reconcile_recheck),
    )
    return Reconciler(
        context.client,
        run.config,
        match_for(run.config, since, run.text_for),
        context.cancel,
        plan,
    )


def _reconcile(context: Context, run: Run, indices: Sequence[int]) -> List[int]:
    """Look up this round's lost answers; return the UNKNOWN ones surely absent.

    Queued recipients whose 201 carried no readable SID are looked up too,
    for their SID only (delivery tracking needs it); they are never resent.
    """
    unknown = [i for i in indices if run.results[i].needs_lookup]
    if not unknown:
        return []
    run.log.info(
        "Asking Twilio about %d recipient(s) whose answer was lost.", len(unknown)
    )
    clock = context.client.clock
    verdicts = _reconciler(context, run, lambda: clock.twilio_time(run.started)).settle(
        [run.config.recipients[i] for i in unknown]
    )
    run.apply(unknown, verdicts)
    return [
        i
        for i, v in zip(unknown, verdicts)
        if v.state == ABSENT and run.results[i].status == Status.UNKNOWN
    ]
