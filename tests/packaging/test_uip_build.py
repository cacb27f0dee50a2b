"""``uip build -a`` (Stonebranch's uip-cli 2.1.x) on a clean copy of the repository.

The copy holds what a clone holds (tracked and not-ignored files); uip-cli
runs from ``.venv-uip`` (``make uip-setup``, part of ``make test``), apart from
the dev venv because it wants urllib3 2.x for itself.  Its package must ship
exactly what ``make package`` ships, and its archive must send an SMS from a
clean interpreter on the oldest agent Python.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import build_package
import pytest
from build_helpers import require_python

from support import agent, runner

REPO = Path(__file__).resolve().parents[2]
UIP = REPO / ".venv-uip" / "bin" / "uip"
NOT_IN_A_CLONE = (".git", ".venv", ".venv-uip", "build", "dist", "3pp", "__pycache__")


def _clean_copy(target: Path) -> None:
    """The files a fresh clone would have (git's view when git is at hand)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
    )
    if listed.returncode != 0:  # not a git checkout: copy, minus build output
        shutil.copytree(REPO, target, ignore=shutil.ignore_patterns(*NOT_IN_A_CLONE))
        return
    for name in listed.stdout.decode().split("\0"):
        source = REPO / name
        if name and source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


@pytest.fixture(scope="module")
def uip_package(tmp_path_factory, built_package) -> Path:
    """dist/package_build/unv_tmplt_*.zip as ``uip build -a`` writes it."""
    if not UIP.exists():
        reason = "{} missing: run make uip-setup".format(UIP)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    clone = tmp_path_factory.mktemp("clone") / "ue-twilio"
    _clean_copy(clone)
    # built_package filled the hash-checked wheel cache: no second download.
    env = dict(os.environ, UE_TWILIO_WHEEL_CACHE=str(build_package.DEFAULT_WHEELS))
    proc = subprocess.run(
        [str(UIP), "build", "-a"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    built = sorted((clone / "dist" / "package_build").glob("unv_tmplt_*.zip"))
    assert len(built) == 1, proc.stdout + proc.stderr
    return built[0]


def _archive(package: Path) -> zipfile.ZipFile:
    with zipfile.ZipFile(package) as outer:
        data = outer.read("extension_archive.zip")
    return zipfile.ZipFile(io.BytesIO(data))


def _contents(archive: zipfile.ZipFile, skip_egg_info: bool = False) -> dict:
    return {
        name: archive.read(name)
        for name in archive.namelist()
        if not name.endswith("/")
        and not (skip_egg_info and name.startswith("EGG-INFO/"))
    }


def test_uip_package_is_named_and_laid_out_like_ours(uip_package, built_package):
    assert uip_package.name == built_package.name
    with zipfile.ZipFile(uip_package) as uip, zipfile.ZipFile(built_package) as ours:
        assert sorted(uip.namelist()) == sorted(ours.namelist())
        for name in ("template.json", "template_icon.png"):
            assert uip.read(name) == ours.read(name), name


def test_uip_archive_ships_the_same_files_as_make_package(uip_package, built_package):
    uip = _contents(_archive(uip_package), skip_egg_info=True)
    ours = _contents(_archive(built_package))
    assert sorted(uip) == sorted(ours)
    assert [name for name in ours if uip[name] != ours[name]] == []
    modules = {name.split("/")[0] for name in ours if name.endswith(".py")}
    assert modules == set(build_package.read_pins()) | {"extension.py", "ue_twilio"}
    assert not [n for n in ours if n.startswith("ue_twilio/sandbox/")]
    assert not [n for n in ours if n.startswith("ue_twilio/cli/")]


def test_uip_archive_sends_an_sms_from_a_clean_interpreter(
    uip_package, sandbox, tmp_path
):
    archive = tmp_path / "extension_archive.zip"
    with zipfile.ZipFile(uip_package) as outer:
        archive.write_bytes(outer.read("extension_archive.zip"))
    fields = runner.fields_for(sandbox, recipients="+15558675310, +15558675311")
    run = agent.run_isolated(
        require_python(7), str(archive), fields, env=runner.cli_env(sandbox.url)
    )
    runner.record(run.stdout, run.stderr, json.dumps(run.report))
    assert run.returncode == 0 and run.report, run.stderr
    assert run.rc == 0, run.report["message"]
    assert run.report["files"]["requests"].startswith(str(archive))
    assert len(sandbox.creates("Messages.json")) == 2
