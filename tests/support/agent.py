"""Run ``extension.py`` the way a Universal Agent does (test helper).

In process (:func:`run_extension`): import ``extension`` from a given
``sys.path`` entry (the source tree or a built ``extension_archive.zip``),
instantiate ``Extension()``, call ``extension_start(fields)`` with STDOUT and
STDERR captured, and optionally call ``extension_cancel()`` from another thread
after a delay, as the agent does when a user cancels the instance.

Isolated (:func:`run_isolated`, :func:`run_isolated_many`): the same in a
fresh ``python -I -S`` whose ``sys.path`` holds only the standard library, the
archive (a zip, imported with zipimport, or the folder it was extracted to)
and the ``universal_extension`` test double (or a copy of it standing in for
an older agent); this file is the child script too.  Must stay importable on
Python 3.7.
"""

import argparse
import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

SUPPORT_DIR = os.path.dirname(os.path.abspath(__file__))
SRC_DIR = os.path.join(os.path.dirname(os.path.dirname(SUPPORT_DIR)), "src")
_OWN_MODULES = ("extension", "ue_twilio")


class AgentRun:
    """``result, stdout, stderr = run`` plus timing facts of the run.

    ``started``/``finished`` are ``time.monotonic()`` values around
    ``extension_start``; ``cancel_times`` holds one ``(monotonic, wall)`` pair
    per ``extension_cancel`` call made.
    """

    def __init__(self, result, stdout, stderr, started, finished, cancels):
        self.result = result
        self.stdout = stdout
        self.stderr = stderr
        self.started = started
        self.finished = finished
        self.cancel_times = cancels

    def __iter__(self):
        return iter((self.result, self.stdout, self.stderr))


def _owned(name):
    return any(name == own or name.startswith(own + ".") for own in _OWN_MODULES)


@contextlib.contextmanager
def _imported_from(path, record=None):
    """Import ``extension`` fresh from ``path``; put sys.modules back afterwards.

    ``record`` (a dict) receives where the main modules came from, before cleanup.
    """
    saved = {n: m for n, m in sys.modules.items() if _owned(n)}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, path)
    sys.path_importer_cache.pop(path, None)
    importlib.invalidate_caches()
    try:
        yield importlib.import_module("extension")
    finally:
        if record is not None:
            record.update(_module_files())
        sys.path.remove(path)
        for name in [n for n in sys.modules if _owned(n)]:
            del sys.modules[name]
        sys.modules.update(saved)


def _canceller(extension, delay, times, done, fired):
    """Call extension_cancel after ``delay`` unless the run ended first."""

    def run():
        if done.wait(delay):
            return
        for _ in range(times):
            fired.append((time.monotonic(), time.time()))
            extension.extension_cancel()

    thread = threading.Thread(target=run, name="agent-cancel", daemon=True)
    thread.start()
    return thread


def _support_on_path():
    if SUPPORT_DIR not in sys.path:
        sys.path.append(SUPPORT_DIR)
    import universal_extension

    return universal_extension


def run_extension(
    fields,
    path=SRC_DIR,
    cancel_after=None,
    cancel_times=1,
    log_level="INFO",
    uip=None,
    capture=True,
    module_files=None,
):
    """Run one task instance; returns an :class:`AgentRun` (unpacks to 3 values).

    ``module_files``: optional dict filled with the ``__file__`` of extension,
    ue_twilio, requests, urllib3 and universal_extension as imported.
    """
    ue = _support_on_path()
    ue.journal.reset()
    ue.set_log_level(log_level)
    ue.set_uip_context(**(uip or {}))
    out, err = io.StringIO(), io.StringIO()
    done, fired = threading.Event(), []
    with _imported_from(path, module_files) as module:
        extension = module.Extension()
        canceller = None
        if cancel_after is not None:
            canceller = _canceller(extension, cancel_after, cancel_times, done, fired)
        started = time.monotonic()
        try:
            if capture:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    result = extension.extension_start(fields)
            else:
                result = extension.extension_start(fields)
        finally:
            finished = time.monotonic()
            done.set()
            if canceller is not None:
                canceller.join(10)
    return AgentRun(result, out.getvalue(), err.getvalue(), started, finished, fired)


def run_command(name, fields, path=SRC_DIR, capture=True, module_files=None):
    """Run the template's dynamic command ``name`` on a fresh Extension."""
    ue = _support_on_path()
    out, err = io.StringIO(), io.StringIO()
    with _imported_from(path, module_files) as module:
        deco = getattr(ue, "deco", None)
        method = deco.find_command(module.Extension(), name) if deco else None
        if method is None:
            raise LookupError("Extension has no dynamic command {!r}".format(name))
        if not capture:
            return method(fields), "", ""
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            result = method(fields)
    return result, out.getvalue(), err.getvalue()


# ------------------------------------------------------------ isolated runs


class IsolatedRun:
    """What a ``python -I -S`` child reported, plus its exit status and streams."""

    def __init__(self, report, stdout, stderr, returncode):
        self.report = report
        self.stdout = stdout
        self.stderr = stderr
        self.returncode = returncode

    @property
    def rc(self):
        return self.report["rc"]

    @property
    def unv_output(self):
        return self.report["unv_output"]


def run_isolated(python, archive, fields, **options):
    """Run the archive once in a fresh isolated interpreter (see run_isolated_many)."""
    return run_isolated_many(python, archive, [fields], **options)[0]


def run_isolated_many(
    python,
    archive,
    fields_list,
    cancel_after=None,
    cancel_times=1,
    log_level="INFO",
    command=None,
    env=None,
    timeout=120,
    double=SUPPORT_DIR,
):
    """One child interpreter, one ``extension_start`` per fields dict, in order.

    ``archive`` is a zip (imported as it is) or a folder; ``double`` is the
    folder holding the ``universal_extension`` package to use.  Returns one
    :class:`IsolatedRun` per fields dict; they share the child's streams.
    """
    with tempfile.TemporaryDirectory(prefix="ue-agent-") as tmp:
        report_file = os.path.join(tmp, "report.json")
        argv = [python, "-I", "-S", os.path.abspath(__file__), "--path", archive]
        argv += ["--path", double, "--report", report_file, "--log-level", log_level]
        for index, fields in enumerate(fields_list):
            fields_file = os.path.join(tmp, "fields-{}.json".format(index))
            with open(fields_file, "w") as handle:
                json.dump(fields, handle)
            argv += ["--fields", fields_file]
        if cancel_after is not None:
            argv += ["--cancel-after", str(cancel_after)]
            argv += ["--cancel-times", str(cancel_times)]
        if command:
            argv += ["--command", command]
        proc = subprocess.run(
            argv, capture_output=True, env=env, timeout=timeout, cwd=tmp
        )
        reports = []
        if os.path.exists(report_file):
            with open(report_file) as handle:
                reports = json.load(handle)
    streams = (
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
        proc.returncode,
    )
    reports += [{}] * (len(fields_list) - len(reports))
    return [IsolatedRun(report, *streams) for report in reports]


def _module_files():
    names = ("extension", "ue_twilio", "requests", "urllib3", "universal_extension")
    files = {}
    for name in names:
        module = sys.modules.get(name)
        files[name] = getattr(module, "__file__", None) if module else None
    return files


def _report(result, ue, extra):
    report = {
        "rc": result.rc,
        "message": result.message,
        "unv_output": result.unv_output,
        "output_fields": result.output_fields,
        "extra": {k: repr(v) for k, v in getattr(result, "extra", {}).items()},
        "ui_updates": ue.journal.calls(),
        "status_updates": ue.journal.status_calls(),
        "ui_latest": ue.journal.latest(),
        "double": {
            "ui": hasattr(ue, "ui"),
            "deco": hasattr(ue, "deco"),
            "file": ue.__file__,
        },
        "python": list(sys.version_info[:3]),
        "sys_path": list(sys.path),
    }
    report.update(extra)
    return report


def _child(argv=None):
    """Entry point inside the isolated interpreter."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--path", action="append", default=[])
    parser.add_argument("--fields", action="append", required=True)
    parser.add_argument("--report", required=True)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--cancel-after", type=float)
    parser.add_argument("--cancel-times", type=int, default=1)
    parser.add_argument("--command")
    args = parser.parse_args(argv)
    script_dir = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != script_dir]
    for path in reversed(args.path):
        sys.path.insert(0, path)
    ue = _support_on_path()
    reports = [_child_run(path, ue, args) for path in args.fields]
    with open(args.report, "w") as handle:
        json.dump(reports, handle)
    return 0


def _child_run(fields_file, ue, args):
    """One extension_start (or dynamic command) in the child; its report."""
    with open(fields_file) as handle:
        fields = json.load(handle)
    archive = args.path[0]
    if args.command:
        files = {}
        result, _, _ = run_command(
            args.command, fields, path=archive, capture=False, module_files=files
        )
        return _report(result, ue, {"files": files})
    run = _run_keeping_modules(fields, archive, args)
    extra = {
        "elapsed": run.finished - run.started,
        "cancel_delays": [t - run.started for t, _ in run.cancel_times],
        "cancel_wall_times": [wall for _, wall in run.cancel_times],
        "returned_after_cancel": (
            run.finished - run.cancel_times[0][0] if run.cancel_times else None
        ),
        "files": run.files,
    }
    return _report(run.result, ue, extra)


def _run_keeping_modules(fields, archive, args):
    """run_extension in the child, noting where each module was imported from."""
    files = {}
    run = run_extension(
        fields,
        path=archive,
        cancel_after=args.cancel_after,
        cancel_times=args.cancel_times,
        log_level=args.log_level,
        capture=False,
        module_files=files,
    )
    run.files = files
    return run


if __name__ == "__main__":
    sys.exit(_child())
