"""Input at the edges (issue 20): JSON nested beyond the recursion limit,
NaN and Infinity, a NUL in a path, other scripts' digits, a symbolic link
loop. Each ends in exit 20 naming the field, nothing sent, no traceback."""

from __future__ import annotations

import os

import pytest

from support.runner import fields_for, run_task

TEMPLATE = "HX" + "0" * 32


def _whatsapp(sandbox, variables: str):
    return fields_for(
        sandbox,
        action="whatsapp_message",
        message="",
        content_sid=TEMPLATE,
        content_variables=variables,
    )


def _refused(run, label: str, words: str) -> None:
    status = run.output["status_description"]
    assert run.rc == 20, status
    assert status.startswith("DATA_VALIDATION_ERROR: {}: ".format(label)), status
    assert words in status, status


def test_content_variables_nested_too_deeply_name_the_field(sandbox):
    deep = "[" * 100000 + "]" * 100000
    run = run_task(_whatsapp(sandbox, '{"1": ' + deep + "}"), sandbox.url)
    _refused(run, "Content Variables", "nested too deeply")
    assert sandbox.journal == []


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_content_variables_with_nan_or_infinity_are_not_json(sandbox, constant):
    run = run_task(_whatsapp(sandbox, '{"1": ' + constant + "}"), sandbox.url)
    _refused(run, "Content Variables", "is not valid JSON")
    assert sandbox.journal == []


@pytest.mark.parametrize(
    "field, label",
    [
        ("recipient_list_file", "Recipient List File"),
        ("proxy_ca_bundle_file", "Proxy CA Bundle File"),
    ],
)
def test_a_nul_in_a_path_names_the_field(sandbox, tmp_path, field, label):
    extra = {field: str(tmp_path / "numbers\x00.txt")}
    if field == "proxy_ca_bundle_file":
        extra.update(proxy_type=["HTTP"], proxy="http://127.0.0.1:9")
    run = run_task(fields_for(sandbox, **extra), sandbox.url)
    _refused(run, label, "contains a NUL character")
    assert sandbox.journal == []


@pytest.mark.parametrize("port", ["\u00b2", "\u0663\u0661\u0662\u0668", "\uff13"])
def test_a_proxy_port_in_other_digits_is_refused_in_words(sandbox, port):
    fields = fields_for(sandbox, proxy_type=["HTTP"], proxy="http://proxy:" + port)
    run = run_task(fields, sandbox.url)
    _refused(run, "Proxy", "has an invalid port; expected a number 1-65535")
    assert "invalid literal" not in run.output["status_description"]
    assert sandbox.journal == []


def test_a_symbolic_link_loop_is_named_in_words(sandbox, tmp_path):
    loop = tmp_path / "loop"
    os.symlink(str(loop), str(loop))
    run = run_task(fields_for(sandbox, recipient_list_file=str(loop)), sandbox.url)
    _refused(run, "Recipient List File", "its symbolic links form a loop")
    assert sandbox.journal == []


def test_an_oversized_file_ends_in_one_period(sandbox, tmp_path):
    path = tmp_path / "big"
    with open(str(path), "wb") as handle:
        handle.truncate(20 * 1000 * 1000 + 1)  # sparse: costs no disk
    run = run_task(fields_for(sandbox, recipient_list_file=str(path)), sandbox.url)
    _refused(run, "Recipient List File", "(is it the right file?).")
    assert "?." not in run.output["status_description"].replace("?).", "")
