"""The proxy and trust store, pinned on the ``requests`` session.

Why a module of its own: the proxy settings must win over the environment
(``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE`` ...), the CA bundle must
be the trust store for both TLS hops (agent -> HTTPS proxy, and agent -> Twilio
inside the CONNECT tunnel), credentials may hold any character, and the proxy
password must never be printed. ``prepare_session`` enforces all of that on a
``requests.Session`` so callers cannot get it half right.
"""

from __future__ import annotations

import base64
import ssl
from typing import Any, Dict, Mapping, Optional, Tuple, Union
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import HTTPAdapter

from ..exceptions import ProxyTLSError
from ..inputs.proxy import ProxyConfig


class _ProxyHopContext(ssl.SSLContext):
    """SSLContext for the agent -> HTTPS proxy hop only; tags its failures.

    urllib3 1.26 omits server_hostname for an IP-address proxy and then does
    not match the name itself when given a context, so the context supplies
    the proxy's host: the certificate is always checked against it.
    """

    proxy_hostname: Optional[str] = None

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        if kwargs.get("server_hostname") is None and len(args) < 5:
            kwargs["server_hostname"] = self.proxy_hostname
        try:
            return super().wrap_socket(*args, **kwargs)
        except ProxyTLSError:
            raise
        except ssl.SSLError as exc:
            tagged = ProxyTLSError(*exc.args)
            for attr in ("reason", "library", "verify_code", "verify_message"):
                if hasattr(exc, attr):
                    setattr(tagged, attr, getattr(exc, attr))
            raise tagged from exc


def _default_ca_file() -> str:
    # The same store requests uses for verify=True (certifi, unzipped if needed);
    # types-requests declares requests.certs empty.
    where = requests.certs.where()  # type: ignore[attr-defined]
    return requests.utils.extract_zipped_paths(where)


def proxy_ssl_context(proxy: ProxyConfig) -> ssl.SSLContext:
    """Verifying context for the TLS hop to an HTTPS proxy: bundle or default store."""
    context = _ProxyHopContext(ssl.PROTOCOL_TLS_CLIENT)
    context.proxy_hostname = proxy.host.strip("[]")
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.options |= ssl.OP_NO_COMPRESSION
    try:
        context.minimum_version = ssl.TLSVersion.TLSv1_2
    except (AttributeError, ValueError):  # Python linked to OpenSSL < 1.1.0g
        context.options |= getattr(ssl, "OP_NO_TLSv1", 0) | getattr(
            ssl, "OP_NO_TLSv1_1", 0
        )
    context.load_verify_locations(cafile=proxy.ca_bundle or _default_ca_file())
    return context


_Path = Union[bytes, str]


class ProxyAdapter(HTTPAdapter):
    """HTTPAdapter that pins the configured proxy and trust store on every request.

    - ``proxies`` and ``verify`` are forced per request, so neither session
      defaults nor environment variables can redirect or weaken them;
    - Proxy-Authorization is UTF-8 Basic (requests would use Latin-1 and fail
      on other characters);
    - the HTTPS-proxy hop uses a verifying context whose errors are tagged.
    """

    def __init__(self, proxy: Optional[ProxyConfig], **kwargs: Any) -> None:
        self._proxy = proxy
        self._forced = proxy.requests_kwargs() if proxy is not None else {}
        self._proxy_context = (
            proxy_ssl_context(proxy)
            if proxy is not None and proxy.scheme == "https"
            else None
        )
        super().__init__(**kwargs)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Union[None, float, Tuple[float, float], Tuple[float, None]] = None,
        verify: Union[bool, str] = True,
        cert: Union[None, _Path, Tuple[_Path, _Path]] = None,
        proxies: Optional[Mapping[str, str]] = None,
    ) -> requests.Response:
        if self._forced:
            proxies, verify = self._forced["proxies"], self._forced["verify"]
        return super().send(
            request,
            stream=stream,
            timeout=timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        if self._proxy_context is not None and proxy.lower().startswith("https:"):
            proxy_kwargs.setdefault("proxy_ssl_context", self._proxy_context)
        return super().proxy_manager_for(proxy, **proxy_kwargs)

    def proxy_headers(self, proxy: str) -> Dict[str, str]:
        parts = urlsplit(proxy)
        if parts.username is None:
            return {}
        user = unquote(parts.username)
        password = unquote(parts.password or "")
        token = base64.b64encode((user + ":" + password).encode("utf-8"))
        return {"Proxy-Authorization": "Basic " + token.decode("ascii")}


# The phases of a run each use a crew of at most Max Concurrent Requests
# workers (sending, reconciliation, delivery tracking, hang-up on cancel, SMS
# fallback), and a phase left on a cancel may still have requests in flight
# (late workers) while the next one starts. A pool kept for fewer
# connections than that makes urllib3 discard connections with a "Connection
# pool is full" warning. Headroom costs nothing: connections are only opened
# when needed, the size only bounds how many are kept.
OVERLAPPING_CREWS = 5


def pool_maxsize(pool_size: int) -> int:
    """Connections kept per host for Max Concurrent Requests ``pool_size``."""
    return max(1, pool_size) * OVERLAPPING_CREWS


def prepare_session(
    session: requests.Session,
    proxy: Optional[ProxyConfig],
    pool_size: int,
    max_retries: int = 0,
) -> ProxyAdapter:
    """Mount a ProxyAdapter on ``session`` for both schemes, sized for ``pool_size``.

    With a proxy, ``trust_env`` is switched off as well: environment proxy and
    CA variables no longer apply. Without one the environment keeps working
    as requests documents it (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE ...).
    """
    adapter = ProxyAdapter(
        proxy,
        pool_connections=4,
        pool_maxsize=pool_maxsize(pool_size),
        max_retries=max_retries,
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if proxy is not None:
        session.trust_env = False
    return adapter
