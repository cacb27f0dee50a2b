"""Wait For Delivery: follow a run's queued messages or calls to their final status.

tracking.py's Tracker does the work; this module starts it for a run (one
GET per message or call, or rounds of Twilio's list for many, listing.py)
and gives the Extension Output its delivery counts.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence

from ..engine.listing import Listing, listing_for
from ..inputs import voice
from ..inputs.config import TaskConfig
from ..models import DeliveryReport, Status, count
from ..output.delivery_log import delivery_counts, log_report
from .run import Context, Run, Sending


def track(context: Context, run: Run, sending: Sending) -> Optional[DeliveryReport]:
    """Follow delivery unless disabled, cancelled or stopped by an error."""
    config = run.config
    if not config.wait_for_delivery or sending.error is not None:
        return None
    if sending.cancelled or context.cancel.is_set():
        return None
    queued = count(run.results, Status.QUEUED)
    run.log.info(
        "Waiting up to %d s for the delivery of %d message(s).",
        config.delivery_timeout,
        queued,
    )
    since = context.client.clock.twilio_time(run.started)  # Twilio's clock
    listing = listing_for(context.client, config, since)
    everyone = range(len(run.results))
    report = follow(
        context, run, everyone, float(config.delivery_timeout), listing=listing
    )
    log_report(report, float(config.delivery_timeout), run.log)
    return report


def follow(
    context: Context,
    run: Run,
    indices: Sequence[int],
    timeout: float,
    poll_max: Optional[float] = None,
    listing: Optional[Listing] = None,
) -> DeliveryReport:
    """Follow the queued results at ``indices`` to their final status
    (Tracker), then put the tracker's copies in their place; with a
    ``listing``, many of them by rounds of Twilio's list."""
    # Imported here: a run that does not follow delivery (most large sends)
    # never loads the tracker, and its first request leaves sooner.
    from ..engine.tracking import Tracker, TrackSettings

    config, settings = run.config, context.settings
    resource = "Calls" if config.is_voice else "Messages"
    track_settings = TrackSettings(
        config.is_voice,
        timeout,
        config.max_concurrent,
        poll_first=settings.poll_first,
        poll_max=min(settings.poll_max, poll_max or settings.poll_max),
        answer_problem=voice.answer_problem(config.answering_machine),
        on_progress=lambda: run.offer_tracking(tracker),
    )
    followed = [run.results[i] for i in indices]
    tracker = Tracker(
        lambda sid: context.client.fetch(resource, sid),
        followed,
        track_settings,
        run.log,
        context.cancel,
        listing,
    )
    report = tracker.run()
    for index, result in zip(indices, tracker.results):
        run.results[index] = result
    return report


def delivery_stats(
    config: TaskConfig, report: Optional[DeliveryReport]
) -> Optional[Dict[str, Optional[int]]]:
    """Delivery counts with Wait For Delivery; null when tracking never ran."""
    if not (config.wait_for_delivery or config.chained):
        return None
    if report is None:
        return {"msg_delivered_count": None, "msg_undelivered_count": None}
    return delivery_counts(report)
