"""Run a real squid forward proxy on 127.0.0.1 for the proxy tests.

One instance serves four listeners so a single (session-wide) start covers the
whole matrix: plain HTTP and HTTPS (TLS to the proxy), each open or requiring
Basic auth. Squid pitfalls handled here: it drops root to user ``proxy`` (its
files must be readable and its directory writable by that user), it needs
``shutdown_lifetime 0`` to stop quickly, a unique ``-n`` service name per
instance (shared memory segments in /dev/shm are named after it and a stale one
blocks the next start), no ``CONNECT !SSL_ports`` rule, and pinned DNS.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Mapping, NamedTuple, Optional

SQUID = shutil.which("squid") or "/usr/sbin/squid"
HELPER = "/usr/lib/squid/basic_ncsa_auth"
HTPASSWD = shutil.which("htpasswd") or "/usr/bin/htpasswd"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
LISTENERS = ("http", "http_auth", "https", "https_auth")
# The account the tests' squid accepts on the *_auth listeners. The password
# holds every character that breaks naive URL building or Basic auth parsing.
PROXY_USER = "ops robot"
PROXY_PASSWORD = "p@ss:w/rd%41 ü€?#&+=;"
# A second account, for tests that need two distinct logins on one squid.
RELAY_USER = "relay ops"
RELAY_PASSWORD = "r3l:@y/p%40ss w0rd+"
TEST_USERS = {PROXY_USER: PROXY_PASSWORD, RELAY_USER: RELAY_PASSWORD}


class AccessEntry(NamedTuple):
    """One access.log line in our log format."""

    listener: str  # which of LISTENERS received the request
    method: str  # CONNECT for tunnels
    target: str  # host:port for CONNECT, else the absolute URL
    user: str  # authenticated user, "-" when none
    status: str  # e.g. TCP_TUNNEL/200, TCP_DENIED/407


def squid_available() -> bool:
    return os.path.exists(SQUID) and os.path.exists(HELPER) and os.path.exists(HTPASSWD)


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (squid needs explicit port numbers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Squid:
    """A squid process with HTTP/HTTPS listeners, optional Basic auth users."""

    def __init__(
        self,
        proxy_certfile: str,
        workdir: Optional[Path] = None,
        users: Optional[Mapping[str, str]] = None,
        hosts: Optional[Mapping[str, str]] = None,
    ) -> None:
        self._own_workdir = workdir is None
        if workdir is None:
            workdir = Path(tempfile.mkdtemp(prefix="ue-twilio-squid-"))
        self.workdir = Path(workdir)
        self.proxy_certfile = proxy_certfile  # key + chain in one PEM
        self.users = dict(users or {})
        self.hosts = dict(hosts or {})
        self.name = f"uetw{os.getpid()}x{secrets.token_hex(3)}"
        self.ports: Dict[str, int] = {}
        self.process: Optional[subprocess.Popen] = None
        self.access_log = self.workdir / "access.log"
        self.cache_log = self.workdir / "cache.log"

    # -- addresses ------------------------------------------------------------
    def url(self, listener: str) -> str:
        scheme = "https" if listener.startswith("https") else "http"
        return f"{scheme}://127.0.0.1:{self.ports[listener]}"

    @property
    def display(self) -> Dict[str, str]:
        return {name: f"127.0.0.1:{port}" for name, port in self.ports.items()}

    # -- lifecycle ------------------------------------------------------------
    def start(self, attempts: int = 3) -> "Squid":
        """Start and wait (bounded) until every listener accepts connections."""
        last_error = ""
        atexit.register(self.stop)  # an interrupted session must not leave squid
        for _ in range(attempts):
            self._prepare()
            try:
                self._launch()
                return self
            except RuntimeError as exc:  # e.g. a port taken in between
                last_error = str(exc)
                self.stop()
        raise RuntimeError("squid did not start: " + last_error)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT)
        for segment in glob.glob(f"/dev/shm/{self.name}-*"):
            try:
                os.unlink(segment)
            except OSError:
                pass

    def cleanup(self) -> None:
        """Stop, and remove the work directory when this object created it."""
        self.stop()
        if self._own_workdir:
            shutil.rmtree(str(self.workdir), ignore_errors=True)

    def __enter__(self) -> "Squid":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.cleanup()

    def _prepare(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ports = {name: free_port() for name in LISTENERS}
        self.access_log.write_text("")
        self.cache_log.write_text("")
        (self.workdir / "hosts").write_text(self._hosts_text())
        self._write_htpasswd()
        shutil.copyfile(self.proxy_certfile, str(self.workdir / "proxy.pem"))
        (self.workdir / "squid.conf").write_text(self._config())
        self._hand_over_to_proxy_user()

    def _launch(self) -> None:
        with open(str(self.workdir / "squid.out"), "wb") as out:
            self.process = subprocess.Popen(
                [SQUID, "-N", "-n", self.name, "-f", str(self.workdir / "squid.conf")],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=str(self.workdir),
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"exited with {self.process.returncode}: {self.log_tail()}"
                )
            if all(_accepts(port) for port in self.ports.values()):
                return
            time.sleep(0.1)
        raise RuntimeError(f"not listening after {START_TIMEOUT}s: {self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        texts = []
        for path in (self.workdir / "squid.out", self.cache_log):
            if path.exists():
                texts.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return " | ".join(texts)

    # -- files ----------------------------------------------------------------
    def _hosts_text(self) -> str:
        entries = {"localhost": "127.0.0.1"}
        entries.update(self.hosts)
        return "".join(f"{ip} {name}\n" for name, ip in entries.items())

    def _write_htpasswd(self) -> None:
        path = self.workdir / "htpasswd"
        path.write_text("")
        for user, password in self.users.items():
            subprocess.run(
                [HTPASSWD, "-i", "-m", str(path), user],
                input=password.encode("utf-8"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                check=True,
                timeout=10,
            )

    def _hand_over_to_proxy_user(self) -> None:
        """Squid running as root switches to ``proxy``: let that user read/write."""
        if os.geteuid() != 0:
            return
        try:
            entry = pwd.getpwnam("proxy")
        except KeyError:
            return
        os.chmod(str(self.workdir), 0o755)
        for path in [self.workdir] + list(self.workdir.iterdir()):
            os.chown(str(path), entry.pw_uid, entry.pw_gid)
        for parent in self.workdir.parents:
            if parent.stat().st_mode & 0o001 == 0:
                raise RuntimeError(
                    f"squid runs as user proxy and cannot reach {self.workdir}: "
                    f"{parent} is not traversable; use a work directory under /tmp"
                )

    def _config(self) -> str:
        wd = self.workdir
        p = self.ports
        return "\n".join(
            [
                "http_port 127.0.0.1:{} name=http".format(p["http"]),
                "http_port 127.0.0.1:{} name=http_auth".format(p["http_auth"]),
                "https_port 127.0.0.1:{} name=https tls-cert={}".format(
                    p["https"], wd / "proxy.pem"
                ),
                "https_port 127.0.0.1:{} name=https_auth tls-cert={}".format(
                    p["https_auth"], wd / "proxy.pem"
                ),
                "auth_param basic program {} {}".format(HELPER, wd / "htpasswd"),
                "auth_param basic children 2 startup=1 idle=1",
                "auth_param basic realm ue-twilio-test-proxy",
                "auth_param basic credentialsttl 1 seconds",
                "authenticate_ttl 0 seconds",
                "acl auth_listener myportname http_auth https_auth",
                "acl authenticated proxy_auth REQUIRED",
                "http_access deny auth_listener !authenticated",
                "http_access allow localhost",
                "http_access deny all",
                # The user comes last: it may contain spaces.
                "logformat uetw %lp %rm %ru %Ss/%03>Hs %un",
                f"access_log stdio:{self.access_log} logformat=uetw",
                "buffered_logs off",
                f"cache_log {self.cache_log}",
                "cache_store_log none",
                "pid_filename none",
                f"coredump_dir {wd}",
                "cache deny all",
                "cache_mem 4 MB",
                "shutdown_lifetime 0 seconds",
                "dns_nameservers 127.0.0.1",
                "hosts_file {}".format(wd / "hosts"),
                "dns_timeout 2 seconds",
                "connect_timeout 5 seconds",
                "forwarded_for delete",
                "via off",
                "logfile_rotate 0",
                "",
            ]
        )

    # -- evidence -------------------------------------------------------------
    def entries(self) -> List[AccessEntry]:
        """Every request logged so far (squid writes the log unbuffered).

        Connections that never sent a request (the start-up probes, failed TLS
        handshakes to an https listener) are left out.
        """
        by_port = {str(port): name for name, port in self.ports.items()}
        result = []
        for line in self.access_log.read_text(errors="replace").splitlines():
            fields = line.split(None, 4)
            if len(fields) == 5 and fields[1] != "-":  # "-": no request (probe)
                port, method, target, status, user = fields
                listener = by_port.get(port, port)
                result.append(AccessEntry(listener, method, target, user, status))
        return result

    def mark(self) -> int:
        """A position in the log; pass it to ``entries_since``."""
        return len(self.entries())

    def entries_since(
        self, mark: int, expect: int = 1, timeout: float = 5.0
    ) -> List[AccessEntry]:
        """Entries after ``mark``, waiting (bounded) until ``expect`` are logged.

        Squid logs a CONNECT only when the tunnel closes, so the line can trail
        the client's exit slightly; a short extra wait catches any surplus line.
        """
        deadline = time.monotonic() + timeout
        while len(self.entries()) - mark < expect and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)
        return self.entries()[mark:]


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
