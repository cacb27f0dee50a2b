"""CPU cost of the secret scrub (issue 20: every run of 8 characters of a
secret is masked): the Extension Output of 100,000 recipients, and 100,000
DEBUG trace lines, with an auth token and a proxy password. Best of several
runs, process CPU time. Run: .venv/bin/python benchmarks/redact_cost.py"""

from __future__ import annotations

import time

from ue_twilio.inputs.proxy import ProxyConfig
from ue_twilio.redact import redactor_for, scrub_tree

PROXY = ProxyConfig(
    "HTTP_WITH_CREDENTIALS",
    "http://127.0.0.1:3128",
    user="alice",
    password="Winter@2026!Sn0wFall",
)
REDACTOR = redactor_for("AC" + "1" * 32, "9f8e7d6c5b4a39281706f5e4d3c2b1a0", PROXY)
LINE = (
    "DEBUG API POST https://api.twilio.com/2010-04-01/Accounts/"
    "AC11111111111111111111111111111111/Messages.json -> 201 code - 12 ms"
)


def _entry(index: int) -> dict:
    return {
        "to": "+1555{:07d}".format(index),
        "status": "queued",
        "sid": "SM{:032x}".format(index),
        "error_code": None,
        "error_message": None,
    }


def output_cost(tree: dict) -> float:
    start = time.process_time()
    scrub_tree(tree, REDACTOR)
    return time.process_time() - start


def lines_cost() -> float:
    start = time.process_time()
    for _ in range(100000):
        REDACTOR(LINE)
    return time.process_time() - start


def main() -> None:
    tree = {"recipients": [_entry(i) for i in range(100000)]}
    output = min(output_cost(tree) for _ in range(5))
    lines = min(lines_cost() for _ in range(3))
    text = "scrub of 100,000 entries: {:.3f} s CPU; 100,000 log lines: {:.3f} s CPU"
    print(text.format(output, lines))


if __name__ == "__main__":
    main()
