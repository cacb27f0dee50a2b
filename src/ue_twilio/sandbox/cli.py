"""``ue-twilio sandbox`` / ``python -m ue_twilio.sandbox``: a foreground sandbox.

Prints the URL, the sandbox's (public, sandbox-only) credentials and shell hints,
plus one flushed machine-readable line ``SANDBOX_URL=<url>`` for scripts that
start it as a subprocess; serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import List, NoReturn, Optional, Tuple

from .catalog import load_catalog
from .defaults import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from .faults import FAULT_KINDS, PAGE_FAULT_KINDS, Faults
from .server import Sandbox


def _number(kind, low=None, high=None, low_open=False):
    """An argparse type: ``kind`` within [low, high] (low excluded if low_open),
    refusing nan/inf; the message names the range."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
        too_low = low is not None and (value <= low if low_open else value < low)
        if too_low or (high is not None and value > high):
            bounds = "{}{}..{}".format(
                ">" if low_open else "", low, "" if high is None else high
            )
            raise argparse.ArgumentTypeError(f"{text} is outside {bounds}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


EPILOG = (
    """\
magic To numbers (with any credentials; see the package docstring for all):
  Messages +15005550001 21211, ..02 21612, ..03 21408, ..04 21610, ..09 21614
  Calls    +15005550001 21217, ..02 21214, ..03 21215, ..04 21216
  From     +15005550001 21212 (both); Messages ..07 21606, ..08 21611
  after the 201: +15005550011 message undelivered / call no-answer,
                 +15005550012 message failed / call busy,
                 +15005550013 call answered by a machine,
                 +15005550014 call answered by a person,
                 +15005550015 call answered, detection unsure (unknown);
                 any other: message delivered / call completed (a person)
  coded errors:  +15005551CCCCC create refused with Twilio error CCCCC,
                 +15005552CCCCC message created, then ends with error CCCCC
                 (e.g. +1500555130034, +1500555263016)

catalog (--catalog FILE, JSON; every key optional):
  {"numbers": [{"phone_number": "+18005550100", "sms": true, "voice": false,
                "toll_free_verification": "IN_REVIEW"}],
   "services": [{"friendly_name": "Ops", "a2p_campaign_status": "VERIFIED",
                 "inbound_request_url": "https://example.com/in"}],
   "caller_ids": ["+15550007777"],
   "sms_prices": {"US": "0.0079"}, "voice_prices": {"+1": ["US", "0.0140"]}}

scripted faults (--fault KIND[:COUNT], repeatable; for the next creates):
"""
    + "\n".join(
        f"  {kind:<15} {'created' if created else 'nothing created'}"
        for kind, created in FAULT_KINDS.items()
    )
    + """

page faults (--page-fault KIND[:COUNT]; for the next later pages of a list):
  """
    + ", ".join(PAGE_FAULT_KINDS)
)


USAGE_ERROR = 20  # as every ue-twilio command: 2 means AUTHENTICATION_ERROR


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits 20 like the rest of ue-twilio."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ue-twilio sandbox",
        description="Run a local Twilio-compatible API server (for tests and demos).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=_number(int, 0, 65535), default=0, help="port (0: any free port)"
    )
    parser.add_argument("--certfile", help="PEM certificate: serve HTTPS")
    parser.add_argument("--keyfile", help="PEM private key for --certfile")
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    seconds = _number(float, 0)
    parser.add_argument(
        "--latency", type=seconds, default=0.0, help="seconds per request"
    )
    parser.add_argument(
        "--jitter", type=seconds, default=0.0, help="extra 0..N seconds"
    )
    parser.add_argument(
        "--concurrency-cap",
        type=_number(int, 0),
        help="requests in flight before 429/20429",
    )
    parser.add_argument(
        "--retry-after",
        help="Retry-After header value on 429, sent as given (junk tests clients)",
    )
    parser.add_argument(
        "--error-rate",
        type=_number(float, 0, 1),
        default=0.0,
        help="share (0..1) of creates answered 500/503, nothing created",
    )
    parser.add_argument(
        "--forbidden",
        action="store_true",
        help="answer every authenticated request 403/20403",
    )
    parser.add_argument(
        "--stall-seconds",
        type=seconds,
        default=Faults.stall_seconds,
        help="how long the stall and stall_body faults wait (default %(default)s)",
    )
    parser.add_argument(
        "--clock-offset",
        type=float,
        default=0.0,
        help="seconds Twilio's clock runs ahead (negative: behind) of this host's: "
        "dates and the Date header",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        type=_fault,
        metavar="KIND[:COUNT]",
        help="script a fault for the next COUNT (default 1) creates; see below",
    )
    parser.add_argument(
        "--page-fault",
        action="append",
        default=[],
        type=_page_fault,
        metavar="KIND[:COUNT]",
        help="script a fault for the next COUNT later pages of a list; see below",
    )
    parser.add_argument(
        "--status-interval",
        type=seconds,
        default=0.5,
        help="seconds per status step (0: final at once)",
    )
    parser.add_argument(
        "--reply",
        action="append",
        default=[],
        type=_reply,
        metavar="NUMBER[=TEXT][@SECONDS]",
        help="answer the next message to NUMBER from NUMBER, SECONDS (default 0) "
        "after it was created, with TEXT (default: the code it carried; {code} "
        "stands for it); repeatable",
    )
    parser.add_argument(
        "--press",
        action="append",
        default=[],
        type=_press,
        metavar="NUMBER=DIGIT[@SECONDS]",
        help="press DIGIT on the next Studio call to NUMBER, SECONDS (default 0) "
        "after it started; repeatable",
    )
    parser.add_argument(
        "--unanswered-after",
        type=seconds,
        default=60.0,
        help="seconds a Studio call nobody presses a key on stays active "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--journal", metavar="FILE", help="dump the journal (JSON Lines) on exit"
    )
    parser.add_argument(
        "--catalog",
        metavar="FILE",
        help="JSON: more senders, compliance states and prices (see below)",
    )
    parser.add_argument(
        "--no-journal", action="store_true", help="keep no journal (benchmarks)"
    )
    return parser


def _fault(text: str, kinds=tuple(FAULT_KINDS)) -> Tuple[str, int]:
    kind, _, count = text.partition(":")
    if kind not in kinds:
        raise argparse.ArgumentTypeError(
            "unknown fault {!r}; one of {}".format(kind, ", ".join(kinds))
        )
    return kind, _number(int, 0)(count) if count else 1


def _scripted(text: str) -> Tuple[str, str, float]:
    """NUMBER[=VALUE][@SECONDS] as (number, value, seconds)."""
    head, at, delay = text.rpartition("@") if "@" in text else (text, "", "0")
    number, _, value = head.partition("=")
    if not number.startswith("+") or not number[1:].isdigit():
        raise argparse.ArgumentTypeError(f"not an E.164 number: {number!r}")
    return number, value, _number(float, 0)(delay)


def _reply(text: str) -> Tuple[str, Optional[str], float]:
    number, value, delay = _scripted(text)
    return number, value or None, delay


def _press(text: str) -> Tuple[str, str, float]:
    number, digit, delay = _scripted(text)
    if len(digit) != 1 or digit not in "0123456789*#":
        raise argparse.ArgumentTypeError(f"not one key: {digit!r}")
    return number, digit, delay


def _page_fault(text: str) -> Tuple[str, int]:
    return _fault(text, PAGE_FAULT_KINDS)


def _sandbox(args: argparse.Namespace) -> Sandbox:
    sandbox = Sandbox(
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        host=args.host,
        port=args.port,
        certfile=args.certfile,
        keyfile=args.keyfile,
        status_interval=args.status_interval,
        journal=not args.no_journal,
    )
    faults = sandbox.faults
    faults.latency, faults.jitter = args.latency, args.jitter
    faults.concurrency_cap = args.concurrency_cap
    faults.retry_after = args.retry_after
    faults.error_rate = args.error_rate
    faults.forbidden = args.forbidden
    faults.stall_seconds = args.stall_seconds
    sandbox.clock_offset = args.clock_offset
    for kind, count in args.fault:
        sandbox.script(kind, count)
    for kind, count in args.page_fault:
        sandbox.script_next_pages(kind, count)
    if args.catalog:
        with open(args.catalog, encoding="utf-8") as handle:
            load_catalog(sandbox.catalog, json.load(handle))
    for number, text, delay in args.reply:
        sandbox.script_reply(number, text, delay)
    for number, digit, delay in args.press:
        sandbox.script_press(number, digit, delay)
    sandbox.unanswered_after = args.unanswered_after
    return sandbox


def _announce(sandbox: Sandbox) -> None:
    lines = [
        f"Twilio sandbox listening on {sandbox.url}",
        f"Account SID: {sandbox.account_sid}",
        f"Auth Token:  {sandbox.auth_token}  (sandbox only)",
        f"API Key SID: {sandbox.api_key_sid}  secret: {sandbox.api_key_secret}",
        "",
        f"export UE_TWILIO_API_URL={sandbox.url}",
        f"export TWILIO_ACCOUNT_SID={sandbox.account_sid}",
        f"export TWILIO_AUTH_TOKEN={sandbox.auth_token}",
        "",
        "Press Ctrl+C to stop.",
        f"SANDBOX_URL={sandbox.url}",
    ]
    print("\n".join(lines), flush=True)


def _install_signals(stop: threading.Event) -> dict:
    """Route SIGINT/SIGTERM to ``stop``; returns the handlers to restore."""

    def handler(signum, frame) -> None:
        stop.set()

    previous = {}
    for name in ("SIGINT", "SIGTERM"):
        number = getattr(signal, name, None)
        if number is None:
            continue
        try:
            previous[number] = signal.signal(number, handler)
        except ValueError:  # not the main thread: the caller sets ``stop``
            break
    return previous


def _restore_signals(previous: dict) -> None:
    for number, handler in previous.items():
        signal.signal(number, handler)


def main(argv: List[str] | None = None, stop: threading.Event | None = None) -> int:
    """Serve until SIGINT/SIGTERM (or ``stop`` is set); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.keyfile and not args.certfile:
        parser.error("--keyfile needs --certfile")
    if args.journal and args.no_journal:
        parser.error("--journal and --no-journal exclude each other")
    stop = stop or threading.Event()
    try:
        sandbox = _sandbox(args).start()
    except (OSError, ValueError) as exc:
        print(f"ue-twilio sandbox: cannot start: {exc}", file=sys.stderr)
        return 1
    previous = _install_signals(stop)
    _announce(sandbox)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
        _restore_signals(previous)
        if args.journal:
            count = sandbox.dump_journal(args.journal)
            print(f"journal: {count} requests written to {args.journal}")
    print("Twilio sandbox stopped.", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
