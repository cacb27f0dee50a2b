"""Explain a network failure in one line a user can act on.

requests/urllib3 report every failure as a nest of wrapped exceptions whose
text names internal objects and, sometimes, URLs with credentials. This module
walks that nest, decides which hop failed (the proxy, the tunnel, or Twilio)
and says what to check, with every credential scrubbed.
"""

from __future__ import annotations

import re
import socket
import ssl
from typing import Iterable, List, Optional, Tuple, Union
from urllib.parse import urlsplit

import requests
from urllib3 import exceptions as u3

from ..exceptions import ProxyTLSError
from ..inputs.proxy import ProxyConfig
from ..redact import Redactor

_TUNNEL = re.compile(r"^Tunnel connection failed:\s*([0-9]{3})\s*([^\r\n]*)")
_SSL_NOISE = re.compile(r"^\[[A-Z_]+: [A-Z_]+\]\s*|\s*\(_ssl\.c:[0-9]+\)$")
_MAX_DEPTH = 12
# Errors that library internals raise and swallow while handling the real one.
_NOISE = (TypeError, AttributeError, KeyError, ImportError)


def describe_connection_error(
    exc: BaseException,
    proxy: Optional[ProxyConfig] = None,
    secrets: Iterable[Optional[str]] = (),
) -> str:
    """One line naming the failed hop and what to check; never a credential.

    ``secrets`` adds values to scrub (e.g. the Twilio auth token); the proxy
    user and password are always scrubbed.
    """
    chain = _chain(exc)
    target = _target(exc)
    via = _ProxyView(proxy, target)
    text = (
        _proxy_tls(chain, via)
        or _tunnel_refused(chain, via, target)
        or _proxy_unreachable(exc, chain, via, target)
        or _api_tls(chain, via, target)
        or _timeout(exc, via, target)
        or _direct_unreachable(chain, via, target)
        or f"Cannot connect to {target}{via.suffix} ({_detail(chain)})"
    )
    return _redactor(proxy, secrets)(text)


class _ProxyView:
    """How to name the proxy in a message: configured, from the environment, or none."""

    def __init__(self, proxy: Optional[ProxyConfig], target: str) -> None:
        self.proxy = proxy
        self.name = proxy.display if proxy is not None else _environment_proxy(target)
        self.suffix = " through the proxy " + self.name if self.name else ""

    @property
    def is_https(self) -> bool:
        return self.proxy is not None and self.proxy.scheme == "https"

    @property
    def bundle(self) -> Optional[str]:
        return self.proxy.ca_bundle if self.proxy is not None else None


def _chain(exc: BaseException) -> List[BaseException]:
    """exc and everything it wraps (args, .reason, __cause__), outermost first."""
    found: List[BaseException] = []
    todo = [exc]
    while todo and len(found) < _MAX_DEPTH:
        current = todo.pop(0)
        if any(current is seen for seen in found):
            continue
        found.append(current)
        inner = list(getattr(current, "args", ()) or ())
        inner += [getattr(current, "reason", None), current.__cause__]
        context = current.__context__
        if not current.__suppress_context__ and not isinstance(context, _NOISE):
            inner.append(context)
        todo.extend(item for item in inner if isinstance(item, BaseException))
    return found


def _first(
    chain: List[BaseException], kinds: Union[type, Tuple[type, ...]]
) -> Optional[BaseException]:
    return next((item for item in chain if isinstance(item, kinds)), None)


def _target(exc: BaseException) -> str:
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None)
    if isinstance(url, str):
        parts = urlsplit(url)
        if parts.hostname:
            default = 443 if parts.scheme == "https" else 80
            return f"{parts.hostname}:{parts.port or default}"
    return "Twilio"


def _environment_proxy(target: str) -> Optional[str]:
    """host:port of an environment proxy requests would use for target, if any."""
    if target == "Twilio":
        return None
    try:
        proxies = requests.utils.get_environ_proxies("https://" + target)
    except Exception:  # noqa: BLE001 - best effort, only used in a message
        return None
    url = proxies.get("https") or proxies.get("all")
    parts = urlsplit(url) if url else None
    if parts is None or not parts.hostname:
        return None
    return f"{parts.hostname}:{parts.port or 80} (from the environment)"


def _ssl_text(error: BaseException) -> str:
    message = getattr(error, "verify_message", None)
    if not message and isinstance(error, ssl.SSLError) and error.args:
        message = str(error.args[-1])
    return _SSL_NOISE.sub("", str(message or error)).strip()


def _certificate_problem(error: BaseException) -> Tuple[str, str]:
    """(kind, detail): kind is expired, hostname, untrusted or tls."""
    detail = _ssl_text(error)
    lowered = detail.lower()
    if "expired" in lowered or "not yet valid" in lowered:
        return "expired", detail
    if "hostname" in lowered or "match" in lowered:
        return "hostname", detail
    if "certificate" in lowered or "issuer" in lowered or "self-signed" in lowered:
        return "untrusted", detail
    return "tls", detail


def _proxy_tls(chain: List[BaseException], via: _ProxyView) -> Optional[str]:
    error = _first(chain, ProxyTLSError)
    if error is None:
        return None
    kind, detail = _certificate_problem(error)
    where = f"TLS to the proxy {via.name} failed"
    if "wrong version number" in detail.lower() or "record layer" in detail.lower():
        return (
            f"{where}: it does not speak TLS on that port ({detail}). For a plain "
            "HTTP proxy choose Proxy Type HTTP with an http:// URL"
        )
    if kind == "untrusted":
        advice = _bundle_advice(via, "the CA that issued the proxy's certificate")
        return f"{where}: its certificate is not trusted ({detail}); {advice}"
    if kind == "expired":
        return (
            f"{where}: the proxy's certificate has expired or is not yet valid "
            f"({detail})"
        )
    if kind == "hostname":
        return (
            f"{where}: the proxy's certificate does not match the host in the "
            f"Proxy URL ({detail})"
        )
    return f"{where} ({detail})"


def _bundle_advice(via: _ProxyView, what: str) -> str:
    if via.bundle:
        return f"add {what} to the Proxy CA Bundle File {via.bundle}"
    if via.proxy is not None:
        return f"set Proxy CA Bundle File to a PEM bundle holding {what}"
    return f"add {what} to the trust store (e.g. REQUESTS_CA_BUNDLE)"


def _tunnel_refused(
    chain: List[BaseException], via: _ProxyView, target: str
) -> Optional[str]:
    for error in chain:
        match = _TUNNEL.match(str(error.args[0]) if error.args else "")
        if match:
            break
    else:
        return None
    code, reason = match.group(1), match.group(2).strip()
    status = f"{code} {reason}".strip()
    proxy = via.name or "in the path"
    if code == "407":
        if via.proxy is not None and via.proxy.user:
            return (
                f"The proxy {proxy} refused the credentials ({status}): check the "
                "user and password of Proxy Credentials"
            )
        return (
            f"The proxy {proxy} requires credentials ({status}): choose a Proxy "
            "Type 'With Credentials' and set Proxy Credentials"
        )
    return (
        f"The proxy {proxy} refused to open a tunnel to {target} ({status}): "
        "check that the proxy allows CONNECT to that host and port"
    )


def _proxy_unreachable(
    exc: BaseException, chain: List[BaseException], via: _ProxyView, target: str
) -> Optional[str]:
    if not isinstance(exc, requests.exceptions.ProxyError) and not (
        via.proxy is not None and isinstance(exc, requests.exceptions.ConnectTimeout)
    ):
        return None
    proxy = via.name or "from the environment"
    if _first(chain, socket.gaierror):
        return f"Cannot resolve the proxy host of {proxy} (DNS): check the Proxy URL"
    if _first(chain, ConnectionRefusedError):
        return (
            f"Cannot connect to the proxy {proxy}: connection refused. Check the Proxy "
            "URL and that the proxy is running"
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout) or _timed_out(chain):
        return (
            f"No answer from the proxy {proxy} within the connect timeout while "
            f"opening a tunnel to {target}: check the Proxy URL, that the proxy is "
            f"reachable from the agent and that it can reach {target}"
        )
    if _first(chain, (ConnectionResetError, u3.ProtocolError)) and not via.is_https:
        return (
            f"The proxy {proxy} closed the connection ({_detail(chain)}). If it "
            "expects TLS, choose an HTTPS Proxy Type with an https:// URL"
        )
    return f"Cannot connect to the proxy {proxy} ({_detail(chain)})"


def _timed_out(chain: List[BaseException]) -> bool:
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 1.26: exclude it.
    return any(
        isinstance(item, (socket.timeout, u3.ConnectTimeoutError))
        and not isinstance(item, u3.NewConnectionError)
        for item in chain
    )


def _api_tls(chain: List[BaseException], via: _ProxyView, target: str) -> Optional[str]:
    error = _first(chain, (ssl.SSLError, ssl.CertificateError, u3.SSLError))
    if error is None:
        return None
    innermost = [
        item for item in chain if isinstance(item, (ssl.SSLError, ssl.CertificateError))
    ]
    kind, detail = _certificate_problem(innermost[-1] if innermost else error)
    if kind == "expired":
        return (
            f"The certificate of {target}{via.suffix} has expired or is not yet "
            f"valid ({detail})"
        )
    if kind == "hostname":
        return (
            f"The certificate of {target}{via.suffix} does not match its host "
            f"name ({detail})"
        )
    if kind == "untrusted":
        if via.name:
            return (
                "The certificate presented for {}{} is not trusted ({}). A "
                "TLS-intercepting proxy re-signs it with its own CA: {}".format(
                    target,
                    via.suffix,
                    detail,
                    _bundle_advice(via, "that CA (and keep the proxy's CA)"),
                )
            )
        return "The certificate of {} is not trusted ({}); {}".format(
            target, detail, _bundle_advice(via, "the CA that issued it")
        )
    return f"TLS to {target}{via.suffix} failed ({detail})"


def _timeout(exc: BaseException, via: _ProxyView, target: str) -> Optional[str]:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"Timed out connecting to {target} (connect timeout)"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"No answer from {target}{via.suffix} within the read timeout"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"Timed out talking to {target}{via.suffix}"
    return None


def _direct_unreachable(
    chain: List[BaseException], via: _ProxyView, target: str
) -> Optional[str]:
    if _first(chain, socket.gaierror):
        host = target.rsplit(":", 1)[0]
        return (
            f"Cannot resolve {host} (DNS){via.suffix}: check the network or the API URL"
        )
    if _first(chain, ConnectionRefusedError):
        return f"Connection to {target} refused{via.suffix}"
    if _first(chain, (ConnectionResetError, u3.ProtocolError)):
        text = (
            f"The connection to {target}{via.suffix} was closed unexpectedly "
            f"({_detail(chain)})"
        )
        if via.proxy is not None and not via.is_https:
            text += ". If the proxy expects TLS, choose an HTTPS Proxy Type"
        return text
    return None


def _detail(chain: List[BaseException]) -> str:
    """The innermost cause, without object reprs or internal file names."""
    innermost = chain[-1]
    text = (
        str(innermost.args[-1])
        if isinstance(innermost, OSError) and innermost.args
        else str(innermost)
    )
    text = re.sub(r"<[^<>]* object at 0x[0-9a-f]+>:?\s*", "", text)
    text = _SSL_NOISE.sub("", text).strip()
    return text or type(innermost).__name__


def _redactor(
    proxy: Optional[ProxyConfig], secrets: Iterable[Optional[str]]
) -> Redactor:
    values = list(secrets)
    pairs = []
    if proxy is not None:
        values.append(proxy.password)
        pairs.append((proxy.user, proxy.password))
    return Redactor(values, pairs)
