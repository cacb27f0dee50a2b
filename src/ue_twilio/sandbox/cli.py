"""``ue-twilio sandbox`` / ``python -m ue_twilio.sandbox``: a foreground sandbox.

Prints the URL, the sandbox's (public, sandbox-only) credentials and shell hints,
plus one flushed machine-readable line ``SANDBOX_URL=<url>`` for scripts that
start it as a subprocess; serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import List

from .defaults import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from .server import Sandbox


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ue-twilio sandbox",
        description="Run a local Twilio-compatible API server (for tests and demos).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument("--certfile", help="PEM certificate: serve HTTPS")
    parser.add_argument("--keyfile", help="PEM private key for --certfile")
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds per request"
    )
    parser.add_argument("--jitter", type=float, default=0.0, help="extra 0..N seconds")
    parser.add_argument(
        "--concurrency-cap", type=int, help="requests in flight before 429/20429"
    )
    parser.add_argument("--retry-after", help="Retry-After header value on 429")
    parser.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        help="share of creates answered 500/503",
    )
    parser.add_argument(
        "--status-interval", type=float, default=0.5, help="seconds per status step"
    )
    parser.add_argument(
        "--journal", metavar="FILE", help="dump the journal (JSON Lines) on exit"
    )
    parser.add_argument(
        "--no-journal", action="store_true", help="keep no journal (benchmarks)"
    )
    return parser


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
