"""The proxy fields, validated into a ProxyConfig; nothing else.

Strict on purpose: a proxy URL requests would silently reinterpret is
refused, the CA bundle must hold certificates before any request, and no
message ever contains the proxy password. How the proxy is used lives in
``transport/adapter.py`` (``prepare_session``), how it is echoed in
``echo.py``.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union
from urllib.parse import quote

from ..exceptions import ValidationError
from ..redact import MASK
from .fields import BY_NAME, CREDENTIAL_PROXY_TYPES, HTTPS_PROXY_TYPES
from .files import Cancel, read_regular_file
from .readers import is_empty, label, read_choice, read_credential, read_text

_URL = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<netloc>[^/?#]*)(?P<rest>.*)$"
)
_HOST_PORT = re.compile(r"^(?P<host>\[[^\]]*\]|[^:\[\]]*)(?::(?P<port>[^:]*))?$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
MAX_BUNDLE_BYTES = 5 * 1000 * 1000  # a full public CA bundle is ~250 kB


@dataclass(frozen=True, repr=False)
class ProxyConfig:
    """A validated proxy; immutable, and its repr never shows the password.

    ``host`` and ``port`` come from ``url`` (ValueError if it has none).
    """

    proxy_type: str
    url: str
    ca_bundle: Optional[str] = None
    user: Optional[str] = None
    password: Optional[str] = None
    host: str = field(init=False, compare=False)
    port: int = field(init=False, compare=False)

    def __post_init__(self) -> None:
        _, host, port = split_proxy_url(self.url)
        object.__setattr__(self, "host", host)
        object.__setattr__(self, "port", port)

    def __repr__(self) -> str:
        user = MASK if self.user else None
        return (
            f"ProxyConfig(type={self.proxy_type}, proxy={self.display}, "
            f"ca_bundle={self.ca_bundle!r}, user={user})"
        )

    @property
    def scheme(self) -> str:
        return "https" if self.proxy_type in HTTPS_PROXY_TYPES else "http"

    @property
    def display(self) -> str:
        """``host:port`` for logs and messages; never carries credentials."""
        return f"{self.host}:{self.port}"

    def proxy_url(self) -> str:
        """The URL handed to requests, credentials percent-encoded. Never log it."""
        auth = ""
        if self.user is not None:
            auth = quote(self.user, safe="")
            if self.password is not None:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        return f"{self.scheme}://{auth}{self.display}"

    def verify(self) -> Union[str, bool]:
        """``verify`` for requests: the bundle path, else True (default store)."""
        return self.ca_bundle if self.ca_bundle else True

    def requests_kwargs(self) -> Dict[str, Any]:
        url = self.proxy_url()
        return {"proxies": {"http": url, "https": url}, "verify": self.verify()}


def split_proxy_url(url: str) -> Tuple[str, str, int]:
    """(scheme, host, port) of ``scheme://host:port``; ValueError(problem) if not.

    Stricter than ``urlsplit`` on purpose: a proxy URL that requests would
    silently reinterpret (no port, a path, embedded credentials) is refused.
    """
    if re.search(r"\s", url):
        raise ValueError("must not contain spaces")
    match = _URL.match(url)
    if not match:
        raise ValueError("must look like http://host:port or https://host:port")
    scheme = match.group("scheme").lower()
    if scheme not in ("http", "https"):
        raise ValueError(
            f"must start with http:// or https:// (got {ascii(scheme)[1:-1][:12]}://)"
        )
    netloc, rest = match.group("netloc"), match.group("rest")
    if "@" in netloc:
        raise ValueError(
            "must not contain a user name or password; use Proxy Credentials"
        )
    if rest not in ("", "/"):
        raise ValueError("must be only scheme://host:port, without a path or query")
    host, port = _split_host_port(netloc)
    return scheme, host, port


def _split_host_port(netloc: str) -> Tuple[str, int]:
    match = _HOST_PORT.match(netloc)
    if not match or not match.group("host"):
        raise ValueError("has no host; expected scheme://host:port")
    host, port = match.group("host"), match.group("port")
    _check_host(host)
    if port is None or port == "":
        raise ValueError(
            "needs an explicit port, e.g. {}:3128".format("scheme://" + host)
        )
    if not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ValueError("has an invalid port; expected a number 1-65535")
    return host.lower(), int(port)


def _check_host(host: str) -> None:
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError("has an invalid IPv6 address in brackets") from None
        return
    if re.match(r"^[0-9.]+$", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ValueError("has an invalid IPv4 address") from None
        return
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or not all(_LABEL.match(part) for part in labels):
        raise ValueError("has an invalid host name")


def _proxy_type_text(proxy_type: str) -> str:
    return dict(BY_NAME["proxy_type"].choices).get(proxy_type, proxy_type)


def _parse_url(raw: Mapping[str, Any], proxy_type: str) -> str:
    url = read_text(raw, "proxy")
    url = url.strip() if url else url
    if not url:
        raise ValidationError(
            label("proxy"),
            f"is required when Proxy Type is {_proxy_type_text(proxy_type)}",
        )
    try:
        scheme, _, _ = split_proxy_url(url)
    except ValueError as exc:
        raise ValidationError(label("proxy"), str(exc)) from None
    wanted = "https" if proxy_type in HTTPS_PROXY_TYPES else "http"
    if scheme != wanted:
        type_text = _proxy_type_text(proxy_type)
        problem = f"must start with {wanted}:// for Proxy Type {type_text}"
        problem += f" (got {scheme}://)"
        raise ValidationError(label("proxy"), problem)
    return url


def _parse_bundle(raw: Mapping[str, Any], cancelled: Cancel = None) -> Optional[str]:
    """The bundle applies to every proxy type: with an HTTP proxy it is still the
    trust store for TLS to Twilio inside the tunnel (TLS-intercepting proxies)."""
    path = read_text(raw, "proxy_ca_bundle_file")
    path = path.strip() if path else path
    if not path:
        return None
    check_bundle(path, cancelled)
    return path


def check_bundle(path: str, cancelled: Cancel = None) -> None:
    """Refuse a bundle that cannot serve as a trust store, before any request.

    requests and ssl read the file later, unbounded and blocking: the checks
    on what it is (a regular file of at most MAX_BUNDLE_BYTES) happen here.
    """
    name = label("proxy_ca_bundle_file")
    data = read_regular_file(path, name, MAX_BUNDLE_BYTES, cancelled)
    text = data.decode("ascii", "replace")
    problem = f"file {path} holds no PEM certificates"
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ValidationError(name, problem)
    try:
        ssl.create_default_context().load_verify_locations(cadata=text)
    except (ssl.SSLError, OSError, ValueError):
        raise ValidationError(name, problem) from None


def _parse_credentials(
    raw: Mapping[str, Any], proxy_type: str
) -> Tuple[Optional[str], Optional[str]]:
    if proxy_type not in CREDENTIAL_PROXY_TYPES:
        return None, None
    user, password = read_credential(raw, "proxy_credentials")
    name = label("proxy_credentials")
    needed = f"required for Proxy Type {_proxy_type_text(proxy_type)}"
    if user is None and password is None:
        raise ValidationError(name, "user and password are " + needed)
    if user is None:
        raise ValidationError(name, "the user is " + needed)
    if password is None:
        raise ValidationError(name, "the password is " + needed)
    if ":" in user:
        raise ValidationError(name, "the user must not contain ':' (Basic auth)")
    return user, password


def parse_proxy(
    raw_fields: Mapping[str, Any], cancelled: Cancel = None
) -> Optional[ProxyConfig]:
    """The proxy to use, or None for a direct connection.

    Raises ValidationError (exit 20) for every rule of the proxy fields; the
    message never contains the proxy password.
    """
    proxy_type = read_choice(raw_fields, "proxy_type")
    if proxy_type is None:
        return None
    url = _parse_url(raw_fields, proxy_type)
    bundle = _parse_bundle(raw_fields, cancelled)
    user, password = _parse_credentials(raw_fields, proxy_type)
    return ProxyConfig(proxy_type, url, bundle, user, password)


def ignored_proxy_notices(raw_fields: Mapping[str, Any]) -> List[str]:
    """A Proxy without a Proxy Type (a fields file can say so, the form cannot)
    is not used: say so rather than connect directly without a word.

    For fields ``parse_proxy`` accepted."""
    if not is_empty(raw_fields.get("proxy_type")):
        return []
    url = raw_fields.get("proxy")
    if not (isinstance(url, str) and url.strip()):
        return []
    return [
        "Proxy: ignored because Proxy Type is empty; the task connects to "
        "Twilio directly. Choose a Proxy Type to use the proxy."
    ]
