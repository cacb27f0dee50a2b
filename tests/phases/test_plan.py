"""Dry run (``dry_run`` / ``--dry-run``): validate, check the Sender, count
segments, look up prices; not one create request, the ledger untouched."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from support.runner import fields_for, run_cli
from ue_twilio.sandbox.resources import num_segments

# A GSM-7 text of two segments (over 160 characters).
TWO_SEGMENTS = "Nightly load failed on node 7; the warehouse is stale. " * 3
COUNTRIES = {"US": "+1555{:07d}", "CA": "+1416{:07d}", "GB": "+447700{:06d}",
             "GR": "+30691{:07d}"}  # fmt: skip


def _recipients(count: int):
    """``count`` numbers spread over COUNTRIES, with each one's country."""
    patterns = list(COUNTRIES.items())
    return [
        (patterns[i % len(patterns)][0], patterns[i % len(patterns)][1].format(i))
        for i in range(count)
    ]


def _file(tmp_path: Path, numbers) -> str:
    path = tmp_path / "recipients.txt"
    path.write_text("\n".join(numbers) + "\n", encoding="utf-8")
    return str(path)


def _expected_sms_cost(box, recipients, text: str) -> Decimal:
    """The sandbox's configured prices × the sandbox's own segment count."""
    segments = num_segments(text)
    return sum(
        (
            Decimal(box.catalog.compliance.sms_price(iso)) * segments
            for iso, _ in recipients
        ),
        Decimal(0),
    )


def test_a_dry_run_of_1000_sends_nothing_and_costs_prices_times_segments(
    sandbox, tmp_path
):
    recipients = _recipients(1000)
    fields = fields_for(
        sandbox,
        recipients="",
        recipient_source=["recipient_list_file"],
        recipient_list_file=_file(tmp_path, [n for _, n in recipients]),
        message=TWO_SEGMENTS,
        dry_run=True,
    )
    run = run_cli(fields, sandbox.url)
    assert run.rc == 0, run.stderr
    assert [e for e in sandbox.journal if e.method != "GET"] == []
    assert sandbox.creates() == [] and sandbox.creates("Calls.json") == []
    plan = run.output["result"]["plan"]
    segments = num_segments(TWO_SEGMENTS)
    assert plan["recipients"] == 1000 and plan["segments"] == 1000 * segments
    assert Decimal(plan["estimated_cost"]) == _expected_sms_cost(
        sandbox, recipients, TWO_SEGMENTS
    )
    assert plan["currency"] == "USD" and plan["unpriced_recipients"] == 0
    for iso in COUNTRIES:
        entry = plan["by_country"][iso]
        assert entry["recipients"] == 250 and entry["segments"] == 250 * segments
        price = Decimal(sandbox.catalog.compliance.sms_price(iso))
        assert Decimal(entry["price"]) == price
        assert Decimal(entry["cost"]) == price * 250 * segments
    priced = [e for e in sandbox.journal if e.path.startswith("/v1/Messaging/")]
    assert sorted(e.path[-2:] for e in priced) == sorted(COUNTRIES)  # once each
    out = run.output
    assert out["changed"] is False and out["result"]["dry_run"] is True
    assert out["invocation"]["fields"]["dry_run"] is True
    assert out["status_description"].startswith("SUCCESS: Dry run: 1000 recipient(s)")


def test_an_unknown_price_is_null_with_a_reason_never_a_failure(sandbox):
    sandbox.catalog.compliance.set_sms_price("GB", None)
    fields = fields_for(
        sandbox, recipients="+15558675310,+447700900123,+999555", dry_run=True
    )
    run = run_cli(fields, sandbox.url)
    assert run.rc == 0, run.stderr
    plan = run.output["result"]["plan"]
    gb, unknown = plan["by_country"]["GB"], plan["by_country"]["unknown"]
    assert gb["price"] is None and gb["cost"] is None and "GB" in gb["reason"]
    assert unknown["price"] is None and unknown["reason"]
    assert plan["unpriced_recipients"] == 2
    us_price = Decimal(sandbox.catalog.compliance.sms_price("US"))
    assert Decimal(plan["estimated_cost"]) == us_price
    assert sandbox.creates() == []


def test_the_option_dry_run_leaves_the_ledger_untouched(sandbox, tmp_path):
    state = tmp_path / "state.json"
    fields = fields_for(sandbox, resend_policy=["unsent_only"])
    run = run_cli(fields, sandbox.url, "--state-file", str(state), "--dry-run")
    assert run.rc == 0, run.stderr
    assert not state.exists() and not Path(str(state) + ".lock").exists()
    real = run_cli(fields, sandbox.url, "--state-file", str(state))
    assert real.rc == 0 and len(sandbox.creates()) == 1
    before = state.read_bytes()
    again = run_cli(fields, sandbox.url, "--state-file", str(state), "--dry-run")
    assert again.rc == 0 and state.read_bytes() == before
    assert len(sandbox.creates()) == 1


def test_a_voice_dry_run_prices_each_number_per_minute(sandbox):
    numbers = ["+15558675310", "+15558675311", "+447700900123"]
    fields = fields_for(
        sandbox,
        action="voice_message",
        recipients=",".join(numbers),
        dry_run=True,
    )
    run = run_cli(fields, sandbox.url)
    assert run.rc == 0, run.stderr
    plan = run.output["result"]["plan"]
    prices = [Decimal(sandbox.catalog.compliance.voice_price(n)[2]) for n in numbers]
    assert Decimal(plan["estimated_cost"]) == sum(prices, Decimal(0))
    assert plan["by_country"]["US"]["minutes"] == 2
    lookups = [e for e in sandbox.journal if e.path.startswith("/v2/Voice/Numbers/")]
    assert len(lookups) == 3
    assert {e.params["OriginationNumber"][0] for e in lookups} == {"+15005550006"}
    assert sandbox.creates("Calls.json") == []


def test_whatsapp_has_no_price_and_still_succeeds(sandbox):
    fields = fields_for(sandbox, action="whatsapp_message", dry_run=True)
    run = run_cli(fields, sandbox.url)
    assert run.rc == 0
    plan = run.output["result"]["plan"]
    assert plan["estimated_cost"] is None
    assert "WhatsApp" in plan["by_country"]["US"]["reason"]
    assert "no price known" in run.output["status_description"]


def test_a_sender_that_is_not_the_accounts_fails_the_dry_run(sandbox):
    fields = fields_for(sandbox, sender="+15550001234", dry_run=True)
    run = run_cli(fields, sandbox.url)
    assert run.rc == 20
    assert (
        "Sender: +15550001234 is not a phone number" in run.output["status_description"]
    )
    assert sandbox.creates() == []
