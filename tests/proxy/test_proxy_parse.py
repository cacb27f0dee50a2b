"""The proxy fields: every rule of issue 3, both credential shapes (the echo:
tests/test_echo.py)."""

from __future__ import annotations

import base64
import os

import pytest
from requests.utils import get_auth_from_url

from ue_twilio.exceptions import ValidationError
from ue_twilio.inputs.proxy import ProxyConfig, parse_proxy, split_proxy_url
from ue_twilio.transport.adapter import ProxyAdapter

PASSWORD = "p@ss:w/rd%41 ü€?#&+=;"


def fields(proxy_type, proxy="", bundle="", user=None, password=None, nested=True):
    raw = {"proxy_type": proxy_type, "proxy": proxy, "proxy_ca_bundle_file": bundle}
    if nested:
        raw["proxy_credentials"] = {"user": user, "password": password}
    else:
        raw["proxy_credentials.user"] = user
        raw["proxy_credentials.password"] = password
    return raw


def problem(raw) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        parse_proxy(raw)
    assert info.value.exit_code == 20
    return info.value


@pytest.mark.parametrize("empty", [None, [], [None], [""], ""])
def test_no_proxy_type_means_direct_even_with_other_proxy_fields(empty):
    raw = fields(empty, "ftp://nonsense", "/no/such/file", "u", "p")
    assert parse_proxy(raw) is None
    assert parse_proxy({}) is None


@pytest.mark.parametrize(
    "proxy_type, url",
    [
        ("HTTP", "http://proxy.example.com:3128"),
        ("HTTP", "http://10.1.2.3:8080/"),
        ("HTTPS", "https://[2001:db8::1]:3129"),
        ("HTTPS", "HTTPS://Proxy.Example.COM:443"),
    ],
)
def test_valid_urls_parse_to_host_and_port(proxy_type, url):
    proxy = parse_proxy(fields([proxy_type], url))
    assert proxy.proxy_type == proxy_type
    assert proxy.url == url
    host, port = proxy.display.rsplit(":", 1)
    assert host == proxy.host and int(port) == proxy.port
    assert proxy.user is None and proxy.password is None


@pytest.mark.parametrize(
    "proxy_type, url, words",
    [
        ("HTTP", "ftp://proxy:21", "http:// or https://"),
        ("HTTP", "socks5://proxy:1080", "http:// or https://"),
        ("HTTP", "proxy.example.com:3128", "http://host:port"),
        ("HTTP", "http://proxy.example.com", "explicit port"),
        ("HTTP", "http://proxy.example.com:", "explicit port"),
        ("HTTP", "http://proxy example.com:3128", "spaces"),
        ("HTTP", "http://proxy.example.com: 3128", "spaces"),
        ("HTTP", "http://proxy:99999", "invalid port"),
        ("HTTP", "http://proxy:80a", "invalid port"),
        ("HTTP", "http://:3128", "no host"),
        ("HTTP", "http://proxy:3128/path", "without a path"),
        ("HTTP", "http://proxy:3128?x=1", "without a path"),
        ("HTTP", "http://bad_host!:3128", "invalid host"),
        ("HTTP", "http://999.1.1.1:3128", "invalid IPv4"),
        ("HTTPS", "https://[zz::1]:3128", "invalid IPv6"),
        ("HTTPS", "https://2001:db8::1:3128", "no host"),
        ("HTTPS", "http://proxy:3128", "must start with https://"),
        ("HTTPS_WITH_CREDENTIALS", "http://proxy:3128", "must start with https://"),
        ("HTTP", "https://proxy:3128", "must start with http://"),
        ("HTTP_WITH_CREDENTIALS", "https://proxy:3128", "must start with http://"),
    ],
)
def test_bad_proxy_urls_are_data_validation_errors(proxy_type, url, words):
    error = problem(fields([proxy_type], url, user="u", password="p"))
    assert error.label == "Proxy"
    assert words in error.problem


def test_proxy_url_is_required_for_every_type():
    for proxy_type in ("HTTP", "HTTPS", "HTTP_WITH_CREDENTIALS"):
        error = problem(fields([proxy_type], "  ", user="u", password="p"))
        assert "required" in error.problem


def test_credentials_inside_the_url_are_refused_without_echoing_them():
    error = problem(fields(["HTTP"], "http://alice:s3cr3t-pw@proxy:3128"))
    assert "Proxy Credentials" in error.problem
    assert "s3cr3t-pw" not in error.status_description


def test_unknown_proxy_type_is_refused():
    error = problem(fields(["SOCKS5"], "http://proxy:1080"))
    assert error.label == "Proxy Type"


@pytest.mark.parametrize("nested", [True, False])
@pytest.mark.parametrize(
    "user, password, words",
    [
        (None, None, "user and password are required"),
        ("alice", None, "password is required"),
        (None, "pw", "user is required"),
        ("al:ice", "pw", "must not contain ':'"),
    ],
)
def test_credential_types_need_user_and_password(nested, user, password, words):
    raw = fields(
        ["HTTPS_WITH_CREDENTIALS"], "https://p:3129", "", user, password, nested
    )
    error = problem(raw)
    assert error.label == "Proxy Credentials"
    assert words in error.problem


@pytest.mark.parametrize("nested", [True, False])
def test_both_credential_shapes_are_read(nested):
    raw = fields(
        ["HTTP_WITH_CREDENTIALS"], "http://p:3128", "", "alice", PASSWORD, nested
    )
    proxy = parse_proxy(raw)
    assert (proxy.user, proxy.password) == ("alice", PASSWORD)


def test_types_without_credentials_ignore_leftover_credentials():
    proxy = parse_proxy(fields(["HTTPS"], "https://p:3129", "", "alice", "pw"))
    assert proxy.user is None and proxy.password is None


def test_bundle_must_exist_be_a_file_and_hold_pem_certificates(tmp_path):
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n")
    for path, words in [
        (str(tmp_path / "missing.pem"), "does not exist"),
        (str(tmp_path), "is not a regular file (it is a directory)"),
        (str(not_pem), "no PEM certificates"),
    ]:
        error = problem(fields(["HTTPS"], "https://p:3129", path))
        assert error.label == "Proxy CA Bundle File"
        assert words in error.problem


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_bundle_is_refused(pki, tmp_path):
    path = tmp_path / "locked.pem"
    path.write_bytes(open(pki.both_ca_file, "rb").read())
    path.chmod(0)
    assert (
        "not readable" in problem(fields(["HTTPS"], "https://p:1", str(path))).problem
    )


@pytest.mark.parametrize("proxy_type", ["HTTP", "HTTPS"])
def test_bundle_applies_to_every_type(pki, proxy_type):
    url = "{}://p:3128".format(proxy_type.lower())
    proxy = parse_proxy(fields([proxy_type], url, pki.both_ca_file))
    assert proxy.ca_bundle == pki.both_ca_file
    assert proxy.verify() == pki.both_ca_file


def test_verify_is_default_store_without_bundle():
    assert parse_proxy(fields(["HTTP"], "http://p:3128")).verify() is True


def test_requests_kwargs_encode_any_credential_characters():
    proxy = ProxyConfig(
        "HTTPS_WITH_CREDENTIALS", "https://Proxy:3129", None, "a b", PASSWORD
    )
    kwargs = proxy.requests_kwargs()
    assert kwargs["verify"] is True
    url = kwargs["proxies"]["https"]
    assert kwargs["proxies"]["http"] == url
    assert url.startswith("https://") and url.endswith("@proxy:3129")
    assert PASSWORD not in url
    assert get_auth_from_url(url) == ("a b", PASSWORD)


def test_adapter_sends_utf8_basic_credentials():
    proxy = ProxyConfig(
        "HTTP_WITH_CREDENTIALS", "http://p:3128", None, "alice", PASSWORD
    )
    headers = ProxyAdapter(proxy).proxy_headers(proxy.proxy_url())
    token = headers["Proxy-Authorization"].split(" ", 1)[1]
    assert base64.b64decode(token).decode("utf-8") == "alice:" + PASSWORD


def test_config_is_immutable_and_never_shows_the_password():
    proxy = ProxyConfig(
        "HTTP_WITH_CREDENTIALS", "http://p:3128", None, "alice", PASSWORD
    )
    with pytest.raises(AttributeError):
        proxy.password = "x"
    for text in (repr(proxy), str(proxy), proxy.display):
        assert PASSWORD not in text and "alice" not in text
    assert proxy.display == "p:3128"


def test_split_proxy_url_returns_scheme_host_port():
    assert split_proxy_url("https://[::1]:3129") == ("https", "[::1]", 3129)
    assert split_proxy_url("http://localhost:1") == ("http", "localhost", 1)
