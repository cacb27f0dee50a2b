"""Agents of older API levels: the archive still imports and sends.

``extension.yml`` asks for API level 1.1.0 (agents 7.1+).  Calls that an
older agent's ``universal_extension`` may lack are optional in extension.py.
Each test runs the built archive against a copy of the agent test double with
a part removed, as that agent would lack it, on the oldest agent Python.
"""

from __future__ import annotations

import json
import shutil

import pytest
from build_helpers import require_python

from support import agent, runner

WITHOUT = {
    "ui": ("ui.py",),
    "deco": ("deco",),
    "ui-and-deco": ("ui.py", "deco"),
}


def _older_double(tmp_path, remove=(), hide_logger=False):
    """A copy of the test double without the named parts; returns its folder."""
    root = tmp_path / "older-agent"
    package = root / "universal_extension"
    shutil.copytree(agent.SUPPORT_DIR + "/universal_extension", package)
    for part in remove:
        target = package / part
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
    if hide_logger:
        with (package / "__init__.py").open("a") as handle:
            handle.write("\ndel logger\n")
    return str(root)


def _run_sms(double, extension_archive, sandbox, recipients, rc=0):
    fields = runner.fields_for(sandbox, recipients=recipients)
    run = agent.run_isolated(
        require_python(7),
        str(extension_archive),
        fields,
        env=runner.cli_env(sandbox.url),
        double=double,
    )
    runner.record(run.stdout, run.stderr, json.dumps(run.report))
    assert run.returncode == 0 and run.report, run.stderr
    assert run.report["double"]["file"].startswith(double)
    assert run.rc == rc, run.report["message"]
    return run


@pytest.mark.parametrize("missing", sorted(WITHOUT))
def test_an_agent_without_ui_or_deco_still_runs_the_task(
    missing, extension_archive, sandbox, tmp_path
):
    double = _older_double(tmp_path, WITHOUT[missing])
    run = _run_sms(double, extension_archive, sandbox, "+15558675310, +15558675311")
    assert len(sandbox.creates("Messages.json")) == 2
    assert run.report["double"]["ui"] is ("ui.py" not in WITHOUT[missing])
    assert run.report["double"]["deco"] is ("deco" not in WITHOUT[missing])
    if run.report["double"]["ui"]:
        assert run.report["ui_updates"][-1]["queued_count"] == 2
        assert run.report["status_updates"] == []
    else:  # live fields fall back to update_extension_status (API 1.0.0)
        assert run.report["ui_updates"] == []
        assert run.report["status_updates"][-1]["queued_count"] == 2


def test_an_agent_without_dynamic_commands_offers_no_test_connection(
    extension_archive, sandbox, tmp_path
):
    double = _older_double(tmp_path, WITHOUT["deco"])
    run = agent.run_isolated(
        require_python(7),
        str(extension_archive),
        runner.fields_for(sandbox),
        env=runner.cli_env(sandbox.url),
        double=double,
        command="test_connection",
    )
    assert run.returncode != 0 and "no dynamic command" in run.stderr
    assert sandbox.journal == []


def test_an_agent_without_the_module_logger_logs_to_stderr(
    extension_archive, sandbox, tmp_path
):
    double = _older_double(tmp_path, hide_logger=True)
    run = _run_sms(
        double, extension_archive, sandbox, "+15558675310, +15005550001", rc=21
    )
    assert "+15005550001" in run.stderr  # the failed recipient, logged
