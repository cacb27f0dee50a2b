"""The built archive on every agent Python, imported from the zip and extracted.

An agent runs the extension archive straight from the zip (``zip_safe``, API
1.4.0+) or from the folder it extracted it to; the agent's Python may be any
3.7-3.13.  One isolated child per Python x mode sends an SMS to two numbers
and a voice call to one through the sandbox, as two task instances.
"""

from __future__ import annotations

import json
import os
import subprocess
import zipfile

import build_helpers
import pytest
from build_helpers import every_agent_python, require_python

from support import agent, runner

MODES = ("zip", "folder")
OWN_AND_BUNDLED = ("extension", "ue_twilio", "requests", "urllib3")


def _archive(mode, extension_archive, extracted_archive):
    return str(extension_archive if mode == "zip" else extracted_archive)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("minor", every_agent_python())
def test_sms_and_voice_on_every_agent_python(
    minor, mode, extension_archive, extracted_archive, sandbox
):
    python = require_python(minor)
    archive = _archive(mode, extension_archive, extracted_archive)
    sms = runner.fields_for(sandbox, recipients="+15558675310, +15558675311")
    voice = runner.fields_for(
        sandbox,
        action="voice_message",
        recipients="+15558675312",
        nested=False,
        answer_timeout=30,
        call_max_duration=60,
    )
    runs = agent.run_isolated_many(
        python, archive, [sms, voice], env=runner.cli_env(sandbox.url)
    )
    for run in runs:
        runner.record(run.stdout, run.stderr, json.dumps(run.report))
        assert run.returncode == 0 and run.report, run.stderr
        assert run.report["python"][:2] == [3, minor]
        assert run.rc == 0, run.report["message"]
        assert json.loads(run.unv_output)["status_description"].startswith("SUCCESS")
        for module in OWN_AND_BUNDLED:
            assert run.report["files"][module].startswith(archive + os.sep), module
    assert runs[0].report["ui_latest"]["queued_count"] == 2
    assert runs[1].report["ui_latest"]["queued_count"] == 1
    assert len(sandbox.creates("Messages.json")) == 2
    assert len(sandbox.creates("Calls.json")) == 1


def test_a_missing_agent_python_fails_under_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(build_helpers, "PYENV_VERSIONS", tmp_path)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="3.9"):
        build_helpers.require_python(9)
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="3.9"):
        build_helpers.require_python(9)


IMPORT_ALL = """
import importlib, json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
failed = {}
for name in json.loads(sys.argv[3]):
    try:
        module = importlib.import_module(name)
        if not module.__file__.startswith(sys.argv[1]):
            failed[name] = "imported from " + module.__file__
    except Exception as exc:
        failed[name] = "%s: %s" % (type(exc).__name__, exc)
import certifi, ssl
ssl.create_default_context(cafile=certifi.where())
print(json.dumps(failed))
"""


def shipped_modules(names):
    """Importable names of the archive's own modules plus its dependencies."""
    modules = ["extension"]
    for name in names:
        if name.startswith("ue_twilio/") and name.endswith(".py"):
            module = name[: -len(".py")].replace("/", ".")
            modules.append(
                module[: -len(".__init__")] if module.endswith("__init__") else module
            )
    return modules + ["requests", "urllib3", "idna", "charset_normalizer", "certifi"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("minor", every_agent_python())
def test_every_shipped_module_imports(
    minor, mode, extension_archive, extracted_archive
):
    python = require_python(minor)
    archive = _archive(mode, extension_archive, extracted_archive)
    with zipfile.ZipFile(extension_archive) as handle:
        modules = shipped_modules(handle.namelist())
    proc = subprocess.run(
        [python, "-I", "-S", "-B", "-c", IMPORT_ALL, archive, agent.SUPPORT_DIR]
        + [json.dumps(modules)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {}
