"""The importable package: layout, contents, reproducibility, size, refusals."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path

import build_package
import pytest

from ue_twilio._version import __version__

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
DEPENDENCIES = ("certifi", "charset_normalizer", "idna", "requests", "urllib3")
EXPECTED_TOP = set(DEPENDENCIES) | {
    "extension.py",
    "extension.yml",
    "ue_twilio",
    "third_party_licenses",
}


def _names(path_or_bytes) -> list:
    source = (
        io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    )
    with zipfile.ZipFile(source) as archive:
        return archive.namelist()


@pytest.fixture(scope="module")
def archive_names(extension_archive) -> list:
    return _names(extension_archive)


def test_package_name_and_layout(built_package):
    assert built_package.name == "unv_tmplt_twilio-{}.zip".format(__version__)
    with zipfile.ZipFile(built_package) as package:
        assert sorted(package.namelist()) == [
            "extension_archive.zip",
            "template.json",
            "template_icon.png",
        ]
        assert (
            package.read("template.json")
            == (SRC / "templates" / "template.json").read_bytes()
        )
        assert (
            package.read("template_icon.png")
            == (SRC / "templates" / "template_icon.png").read_bytes()
        )


def test_archive_root_holds_entry_point_package_and_flattened_dependencies(
    archive_names,
):
    assert {name.split("/")[0] for name in archive_names} == EXPECTED_TOP
    assert "extension.py" in archive_names and "extension.yml" in archive_names
    assert "ue_twilio/__init__.py" in archive_names
    for dependency in DEPENDENCIES:
        assert "{}/__init__.py".format(dependency) in archive_names
    assert "certifi/cacert.pem" in archive_names


def test_archive_holds_nothing_compiled_dev_only_or_test(archive_names):
    for name in archive_names:
        lowered = name.lower()
        assert not lowered.endswith((".so", ".pyd", ".dll", ".dylib", ".pyc")), name
        assert "__pycache__" not in name and ".dist-info" not in name, name
        assert "/tests/" not in name and not name.startswith("tests/"), name
        assert not name.endswith("/"), "directory entry {}".format(name)
    ours = [n for n in archive_names if n.startswith("ue_twilio/")]
    for folder in ("sandbox", "cli"):
        assert not [n for n in ours if n.startswith("ue_twilio/{}/".format(folder))]
    assert "ue_twilio/__main__.py" not in ours


def test_shipped_sources_are_the_repository_files(extension_archive, archive_names):
    with zipfile.ZipFile(extension_archive) as archive:
        for name in archive_names:
            if name.startswith("ue_twilio/") or name in (
                "extension.py",
                "extension.yml",
            ):
                assert archive.read(name) == (SRC / name).read_bytes(), name


def test_every_shipped_module_of_ours_is_checked_for_python37(archive_names):
    listed = {p.relative_to(SRC).as_posix() for p in build_package.shipped_sources()}
    shipped = {n for n in archive_names if n.endswith(".py")}
    ours = {n for n in shipped if n.startswith("ue_twilio/") or n == "extension.py"}
    assert listed == ours


def test_extension_yml_agrees_with_version_and_template(extension_archive):
    with zipfile.ZipFile(extension_archive) as archive:
        text = archive.read("extension.yml").decode("utf-8")
    assert re.search(
        r'^\s+version:\s*"{}"\s*$'.format(re.escape(__version__)), text, re.M
    )
    assert re.search(r"^\s+name:\s*ue-twilio\s*$", text, re.M)
    assert re.search(
        r'^\s+api_level:\s*"{}"\s*$'.format(re.escape(build_package.API_LEVEL)),
        text,
        re.M,
    )
    assert "zip_safe" not in text  # needs API 1.4.0 (agents 7.4+)
    assert re.search(r'^\s+requires_python:\s*">=3.7"\s*$', text, re.M)


def test_bundled_dependencies_are_the_pinned_versions(extension_archive):
    pins = build_package.read_pins()
    version_files = {
        "requests": ("requests/__version__.py", r"__version__ = \"([^\"]+)\""),
        "urllib3": ("urllib3/_version.py", r"__version__ = \"([^\"]+)\""),
        "idna": ("idna/package_data.py", r"__version__ = \"([^\"]+)\""),
        "charset_normalizer": (
            "charset_normalizer/version.py",
            r"__version__ = \"([^\"]+)\"",
        ),
        "certifi": ("certifi/__init__.py", r"__version__ = \"([^\"]+)\""),
    }
    with zipfile.ZipFile(extension_archive) as archive:
        for name, (path, pattern) in version_files.items():
            text = archive.read(path).decode("utf-8")
            found = re.search(pattern, text)
            assert found, path
            assert pins[name] == found.group(1) or pins[name].startswith(
                found.group(1)
            ), (name, pins[name], found.group(1))
        licences = [
            n for n in archive.namelist() if n.startswith("third_party_licenses/")
        ]
    assert {n.split("/")[1].split("-")[0] for n in licences} == set(DEPENDENCIES)


def test_size_limits(built_package, extension_archive):
    assert built_package.stat().st_size < 1_500_000
    assert extension_archive.stat().st_size < 1_500_000


def test_two_builds_are_identical(tmp_path):
    first = build_package.build(tmp_path / "a", build_package.DEFAULT_WHEELS)
    again = build_package.build(tmp_path / "b", build_package.DEFAULT_WHEELS, True)
    assert _names(again.read_bytes()) == _names(first.read_bytes())
    assert (
        hashlib.sha256(again.read_bytes()).digest()
        == hashlib.sha256(first.read_bytes()).digest()
    )


def test_entries_are_sorted_with_fixed_timestamps(built_package, extension_archive):
    for path in (built_package, extension_archive):
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
        assert [i.filename for i in infos] == sorted(i.filename for i in infos)
        assert {i.date_time for i in infos} == {build_package.FIXED_DATE}


# ------------------------------------------------------------ refusals


def _wheel(tmp_path: Path, name: str, members: dict) -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as wheel:
        for member, data in members.items():
            wheel.writestr(member, data)
    return path


def test_a_compiled_file_in_a_dependency_fails_the_build(tmp_path):
    wheel = _wheel(
        tmp_path,
        "fast-1.0-py3-none-any.whl",
        {"fast/__init__.py": b"", "fast/_speed.cpython-37m-x86_64-linux-gnu.so": b"\0"},
    )
    with pytest.raises(build_package.BuildError, match="compiled"):
        build_package.dependency_entries([wheel])


def test_dependency_metadata_tests_and_bytecode_are_dropped(tmp_path):
    wheel = _wheel(
        tmp_path,
        "lib-1.0-py3-none-any.whl",
        {
            "lib/__init__.py": b"x = 1\n",
            "lib/tests/test_lib.py": b"",
            "lib/__pycache__/__init__.cpython-37.pyc": b"",
            "lib-1.0.dist-info/METADATA": b"",
            "lib-1.0.dist-info/LICENSE": b"MIT",
        },
    )
    entries = build_package.dependency_entries([wheel])
    assert sorted(entries) == [
        "lib/__init__.py",
        "third_party_licenses/lib-1.0/LICENSE",
    ]


def test_a_platform_wheel_is_refused(tmp_path, monkeypatch):
    _wheel(tmp_path, "requests-2.31.0-cp37-cp37m-manylinux1_x86_64.whl", {})
    monkeypatch.setattr(build_package, "read_pins", lambda: {"requests": "2.31.0"})
    with pytest.raises(build_package.BuildError, match="not a pure-Python wheel"):
        build_package.select_wheels(tmp_path)


def test_a_version_mismatch_with_extension_yml_fails_the_build(monkeypatch):
    monkeypatch.setattr(
        build_package,
        "read_extension_yml",
        lambda: {"name": "ue-twilio", "version": "9.9.9", "api_level": "1.1.0"},
    )
    with pytest.raises(build_package.BuildError, match="version"):
        build_package.check_metadata(__version__, {"extension": "ue-twilio"})


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"api_level": "1.4.0"}, "api_level"),
        ({"api_level": "1.1.0", "zip_safe": "true"}, "zip_safe"),
    ],
)
def test_a_higher_api_level_or_zip_safe_fails_the_build(monkeypatch, extra, message):
    yml = dict({"name": "ue-twilio", "version": __version__}, **extra)
    monkeypatch.setattr(build_package, "read_extension_yml", lambda: yml)
    with pytest.raises(build_package.BuildError, match=message):
        build_package.check_metadata(__version__, {"extension": "ue-twilio"})


def test_a_shipped_module_importing_the_sandbox_fails_the_build(tmp_path):
    module = tmp_path / "helper.py"
    module.write_text("from .sandbox import Sandbox\nfrom . import cli\n")
    with pytest.raises(build_package.BuildError, match="ue_twilio.sandbox"):
        build_package.check_no_dev_imports([("ue_twilio/helper.py", module)])


def test_a_substituted_wheel_is_refused(tmp_path, monkeypatch):
    _wheel(tmp_path, "requests-2.31.0-py3-none-any.whl", {"requests/__init__.py": b""})
    monkeypatch.setattr(build_package, "read_pins", lambda: {"requests": "2.31.0"})
    with pytest.raises(build_package.BuildError, match="expected"):
        build_package.select_wheels(tmp_path)


def test_every_pin_has_a_recorded_hash():
    pins = build_package.read_pins()
    recorded = {
        build_package._normalise_wheel(Path(name)): name
        for name in build_package.WHEEL_SHA256
    }
    for name, version in pins.items():
        assert "{}-{}-".format(name, version) in recorded, name
    assert len(recorded) == len(pins)
