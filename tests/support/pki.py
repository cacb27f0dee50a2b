"""A private test PKI: one CA for the API (sandbox), a separate one for the proxy.

Two CAs on purpose: a bundle that holds only one of them must fail on the
other hop, so tests can prove the bundle is used for both. Files are written
world-readable because squid reads them as user ``proxy``.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Iterable

import trustme

LOCAL_IDENTITIES = ("127.0.0.1", "localhost", "::1")


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class ServerCert:
    """A leaf certificate written as key + chain files (paths as str)."""

    def __init__(self, leaf: trustme.LeafCert, directory: Path, name: str) -> None:
        self.leaf = leaf
        self.certfile = str(directory / (name + ".crt"))
        self.keyfile = str(directory / (name + ".key"))
        self.combined = str(directory / (name + ".pem"))  # key + chain (squid)
        leaf.cert_chain_pems[0].write_to_path(self.certfile)
        for blob in leaf.cert_chain_pems[1:]:
            blob.write_to_path(self.certfile, append=True)
        leaf.private_key_pem.write_to_path(self.keyfile)
        leaf.private_key_and_cert_chain_pem.write_to_path(self.combined)
        for path in (self.certfile, self.keyfile, self.combined):
            os.chmod(path, 0o644)


class TestPKI:
    """API CA + proxy CA, their server certificates, and bundle files."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o755)
        self.api_ca = trustme.CA(organization_unit_name="ue-twilio test API CA")
        self.proxy_ca = trustme.CA(organization_unit_name="ue-twilio test proxy CA")
        self.api = self._issue(self.api_ca, "api", LOCAL_IDENTITIES)
        self.proxy = self._issue(self.proxy_ca, "proxy", LOCAL_IDENTITIES)
        self.api_ca_file = self._write_bundle("api-ca.pem", [self.api_ca])
        self.proxy_ca_file = self._write_bundle("proxy-ca.pem", [self.proxy_ca])
        self.both_ca_file = self._write_bundle(
            "both-ca.pem", [self.proxy_ca, self.api_ca]
        )

    def _issue(
        self, ca: trustme.CA, name: str, identities: Iterable[str], **kwargs
    ) -> ServerCert:
        return ServerCert(ca.issue_cert(*identities, **kwargs), self.directory, name)

    def _write_bundle(self, name: str, cas: Iterable[trustme.CA]) -> str:
        path = self.directory / name
        path.write_bytes(b"".join(ca.cert_pem.bytes() for ca in cas))
        os.chmod(path, 0o644)
        return str(path)

    def expired_cert(self, ca: str = "api") -> ServerCert:
        """A certificate for 127.0.0.1/localhost that expired yesterday."""
        now = _utcnow()
        return self._issue(
            self._ca(ca),
            ca + "-expired",
            LOCAL_IDENTITIES,
            not_before=now - datetime.timedelta(days=30),
            not_after=now - datetime.timedelta(days=1),
        )

    def wrong_host_cert(self, ca: str = "api") -> ServerCert:
        """A valid certificate, but for a host name that is not ours."""
        return self._issue(self._ca(ca), ca + "-wronghost", ("wrong.example.invalid",))

    def _ca(self, which: str) -> trustme.CA:
        return {"api": self.api_ca, "proxy": self.proxy_ca}[which]
