#!/usr/bin/env python3
"""Build ``dist/unv_tmplt_twilio-<version>.zip``, the file users import.

It reproduces the layout of ``uip build -a`` (uip-cli): an outer zip holding
``template.json``, ``template_icon.png`` and ``extension_archive.zip``; the
extension archive is zip-safe, with ``extension.py`` / ``extension.yml`` at its
root, the ``ue_twilio`` package and the runtime dependencies flattened beside
it.  Unlike uip-cli's generic setup.py it resolves the dependencies for
Python 3.7 as pure-Python wheels (one archive for every agent OS and Python
3.7-3.13), refuses compiled files, leaves out the sandbox and the command line
(the ``sandbox/`` and ``cli/`` folders), and is byte-for-byte reproducible
(sorted entries, fixed timestamps and permissions).
``uip build -a`` also works here (setup.py); docs/decisions.md says why this
script stays the build of record.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath
from typing import Dict, Iterable, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "ue_twilio"
TEMPLATES = SRC / "templates"
REQUIREMENTS = ROOT / "requirements.txt"
DEFAULT_DIST = ROOT / "dist"
DEFAULT_WHEELS = ROOT / "build" / "wheels"

MAX_BYTES = 1_500_000
# Universal Extension API level asked for in extension.yml: the lowest one
# whose calls extension.py needs unguarded (docs/decisions.md, "Agent API level").
API_LEVEL = "1.1.0"
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644 << 16
# Dev-machine only, never shipped: the sandbox server and the command line
# (with its demo) are whole folders, __main__.py is ``python -m ue_twilio``
# (the agent imports extension.py, which needs none of them).
DEV_ONLY_FOLDERS = ("cli", "sandbox")
DEV_ONLY_FILES = ("__main__.py",)
NATIVE_SUFFIXES = (".so", ".pyd", ".dll", ".dylib")
# sha256 of every wheel the archive may contain: a changed pin must add its hash
# here (the build prints it), so a tampered or substituted file never ships.
WHEEL_SHA256 = {
    "certifi-2026.10.19.post1-py3-none-any.whl": (
        "1324c476b4811eff41a8bc2122cd0bbd4d9c7234c725446d99ab1612b3a7fdd2"
    ),
    "charset_normalizer-3.5.3-py3-none-any.whl": (
        "96e268b0cbda016ac519513294fcd17032264085b600abaac58b93049477e132"
    ),
    "idna-3.10-py3-none-any.whl": (
        "946d195a0d259cbba61165e88e65941f16e9b36ea6ddb97f00452bae8b1287d3"
    ),
    "requests-2.31.0-py3-none-any.whl": (
        "58cd2187c01e70e6e26505bca751777aa9f2ee0b7f4300988b709f44e013003f"
    ),
    "urllib3-1.26.20-py2.py3-none-any.whl": (
        "0ed14ccfbf1c30a9072c7ca157e4319b70d65f623e91e7b32fadb2853431016e"
    ),
}
PURE_TAG = re.compile(r"-(py3|py2\.py3)-none-any\.whl$")
PIP_TARGET = [
    "--only-binary=:all:",
    "--python-version",
    "3.7",
    "--implementation",
    "py",
    "--abi",
    "none",
    "--platform",
    "any",
]


class BuildError(Exception):
    """A check failed; the message says what to fix."""


# ---------------------------------------------------------------- metadata


def read_version() -> str:
    text = (SRC / PACKAGE / "_version.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.M)
    if not match:
        raise BuildError("no __version__ in src/ue_twilio/_version.py")
    return match.group(1)


def read_extension_yml() -> Dict[str, str]:
    """name/version/api_level/zip_safe of the ``extension:`` block (no YAML dep)."""
    values: Dict[str, str] = {}
    in_block = False
    for line in (SRC / "extension.yml").read_text(encoding="utf-8").splitlines():
        if re.match(r"^\S", line):
            in_block = line.rstrip() == "extension:"
            continue
        match = re.match(r"^\s+(\w+):\s*(.*?)\s*$", line)
        if in_block and match:
            values[match.group(1)] = match.group(2).strip("\"'")
    return values


def check_metadata(version: str, template: dict) -> None:
    yml = read_extension_yml()
    if yml.get("version") != version:
        raise BuildError(
            "src/extension.yml version {!r} != _version.py {!r}".format(
                yml.get("version"), version
            )
        )
    if yml.get("name") != template.get("extension"):
        raise BuildError(
            "extension.yml name {!r} != template.json extension {!r}".format(
                yml.get("name"), template.get("extension")
            )
        )
    if yml.get("api_level") != API_LEVEL:
        raise BuildError(
            "extension.yml asks for api_level {!r}; {} is what agents 7.1+ offer "
            "and every newer call is optional (docs/decisions.md)".format(
                yml.get("api_level"), API_LEVEL
            )
        )
    if "zip_safe" in yml:
        # uip-cli refuses zip_safe below API level 1.4.0, and 1.4.0 would shut
        # out agents 7.1-7.3; the archive runs zipped or extracted alike.
        raise BuildError("extension.yml must not set zip_safe (needs API 1.4.0)")


def load_template() -> Tuple[bytes, dict]:
    """The committed template.json, after checking it matches the generator."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_template
    finally:
        sys.path.pop(0)
    data = (TEMPLATES / "template.json").read_bytes()
    if data.decode("utf-8") != gen_template.render():
        raise BuildError(
            "src/templates/template.json is stale: run python scripts/gen_template.py"
        )
    return data, json.loads(data)


# ---------------------------------------------------------------- our code


def package_files() -> List[Tuple[str, Path]]:
    """(archive name, source path) of the shipped part of the ue_twilio package."""
    base = SRC / PACKAGE
    files = []
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base).as_posix()
        if not path.is_file() or "__pycache__" in rel or rel.endswith(".pyc"):
            continue
        if rel.split("/")[0] in DEV_ONLY_FOLDERS or rel in DEV_ONLY_FILES:
            continue
        files.append(("{}/{}".format(PACKAGE, rel), path))
    return files


def shipped_sources() -> List[Path]:
    """extension.py and the shipped .py files of ue_twilio (for the 3.7 check)."""
    ours = [path for _, path in package_files() if path.suffix == ".py"]
    return [SRC / "extension.py"] + ours


def _imported_modules(source: str, module: str) -> Iterable[str]:
    """Absolute names of everything a module imports (relative ones resolved)."""
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                yield base + "." + alias.name


def dev_only_modules() -> List[str]:
    """Dotted names of what the archive leaves out (a package covers its modules)."""
    names = list(DEV_ONLY_FOLDERS) + [f[: -len(".py")] for f in DEV_ONLY_FILES]
    return ["{}.{}".format(PACKAGE, name) for name in names]


def is_shipped(module: str) -> bool:
    """False for a dev-only module or package of ours and everything inside it."""
    return not any(
        module == banned or module.startswith(banned + ".")
        for banned in dev_only_modules()
    )


def check_no_dev_imports(files: List[Tuple[str, Path]]) -> None:
    """Shipped modules must not import what the archive leaves out."""
    for name, path in files:
        if not name.endswith(".py"):
            continue
        module = name[: -len(".py")].replace("/", ".")
        for imported in _imported_modules(path.read_text(encoding="utf-8"), module):
            if not is_shipped(imported):
                raise BuildError(
                    "{} imports {}, which is not shipped".format(name, imported)
                )


# ---------------------------------------------------------------- dependencies


def read_pins() -> Dict[str, str]:
    """{normalised name: version} from requirements.txt (``name==version`` lines)."""
    pins = {}
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)", line.strip())
        if match:
            pins[_normalise(match.group(1))] = match.group(2)
    return pins


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def download_wheels(cache: Path, offline: bool) -> List[Path]:
    """pip download of the pinned wheels, cache first (hashes: select_wheels)."""
    cache.mkdir(parents=True, exist_ok=True)
    base = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    base += PIP_TARGET + ["-r", str(REQUIREMENTS), "-d", str(cache)]
    local = base + ["--no-index", "--find-links", str(cache)]
    if subprocess.run(local, capture_output=True).returncode != 0:
        if offline:
            raise BuildError("wheels missing from {} and --offline given".format(cache))
        result = subprocess.run(base, capture_output=True, text=True)
        if result.returncode != 0:
            raise BuildError("pip download failed:\n" + result.stderr)
    return select_wheels(cache)


def select_wheels(cache: Path) -> List[Path]:
    """Exactly one pure-Python wheel per pin, at the pinned version."""
    chosen = []
    for name, version in sorted(read_pins().items()):
        prefix = "{}-{}-".format(name, version)
        matches = [
            w for w in sorted(cache.glob("*.whl")) if _normalise_wheel(w) == prefix
        ]
        if not matches:
            raise BuildError("no wheel for {}=={} in {}".format(name, version, cache))
        if not PURE_TAG.search(matches[0].name):
            raise BuildError("{} is not a pure-Python wheel".format(matches[0].name))
        check_hash(matches[0])
        chosen.append(matches[0])
    return chosen


def check_hash(wheel: Path) -> None:
    """The wheel must be the very file reviewed when its pin was chosen."""
    actual = hashlib.sha256(wheel.read_bytes()).hexdigest()
    expected = WHEEL_SHA256.get(wheel.name)
    if expected is None:
        raise BuildError(
            "no sha256 on record for {}: review it, then add "
            '"{}": "{}" to WHEEL_SHA256'.format(wheel.name, wheel.name, actual)
        )
    if actual != expected:
        raise BuildError(
            "{} has sha256 {}, expected {}".format(wheel.name, actual, expected)
        )


def _normalise_wheel(wheel: Path) -> str:
    name, version = wheel.name.split("-")[:2]
    return "{}-{}-".format(_normalise(name), version)


def _skip_dependency_member(name: str) -> bool:
    parts = PurePosixPath(name).parts
    if name.endswith("/") or "__pycache__" in parts or name.endswith((".pyc", ".pyo")):
        return True
    if any(p in ("tests", "test") for p in parts[:-1]):
        return True
    return ".dist-info" in parts[0] or ".data" in parts[0]


def _license_members(wheel: zipfile.ZipFile) -> List[str]:
    return [
        n
        for n in wheel.namelist()
        if ".dist-info/" in n
        and re.search(r"(LICEN[CS]E|NOTICE|COPYING|AUTHORS)", n.split("/")[-1])
    ]


def dependency_entries(wheels: List[Path]) -> Dict[str, bytes]:
    """Flattened contents of the wheels plus their licence texts."""
    entries: Dict[str, bytes] = {}
    for wheel_path in wheels:
        dist = "-".join(wheel_path.name.split("-")[:2])
        with zipfile.ZipFile(wheel_path) as wheel:
            for name in wheel.namelist():
                if name.lower().endswith(NATIVE_SUFFIXES):
                    raise BuildError(
                        "{} contains compiled {}".format(wheel_path.name, name)
                    )
                if not _skip_dependency_member(name):
                    _add(entries, name, wheel.read(name))
            for name in _license_members(wheel):
                rel = name.split(".dist-info/", 1)[1]
                _add(
                    entries,
                    "third_party_licenses/{}/{}".format(dist, rel),
                    wheel.read(name),
                )
    return entries


def _add(entries: Dict[str, bytes], name: str, data: bytes) -> None:
    if name in entries:
        raise BuildError("two files claim {} in the archive".format(name))
    entries[name] = data


# ---------------------------------------------------------------- zips


def write_zip(entries: Dict[str, bytes], compression: int) -> bytes:
    """Deterministic zip: sorted names, fixed date and mode, no directory entries."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = compression
            info.external_attr = FILE_MODE
            info.create_system = 3
            archive.writestr(info, entries[name], compresslevel=9)
    return buffer.getvalue()


def extension_archive(wheels: List[Path]) -> bytes:
    files = package_files()
    if "{}/__init__.py".format(PACKAGE) not in dict(files):
        # zipimport on Python 3.7 cannot import namespace packages.
        raise BuildError("src/{}/__init__.py is missing".format(PACKAGE))
    check_no_dev_imports(files)
    entries = dependency_entries(wheels)
    for top in ("extension.py", "extension.yml"):
        path = SRC / top
        if not path.is_file():
            raise BuildError("src/{} is missing".format(top))
        _add(entries, top, path.read_bytes())
    for name, path in files:
        _add(entries, name, path.read_bytes())
    for name in entries:
        if name.lower().endswith(NATIVE_SUFFIXES):
            raise BuildError("compiled file {} would be shipped".format(name))
    return write_zip(entries, zipfile.ZIP_DEFLATED)


def template_package(template: bytes, archive: bytes) -> bytes:
    """The outer zip, stored (not deflated) as uip-cli writes it."""
    entries = {
        "template.json": template,
        "template_icon.png": (TEMPLATES / "template_icon.png").read_bytes(),
        "extension_archive.zip": archive,
    }
    return write_zip(entries, zipfile.ZIP_STORED)


def build(dist: Path, cache: Path, offline: bool = False) -> Path:
    """Run every check and write the package; returns its path."""
    version = read_version()
    template_bytes, template = load_template()
    check_metadata(version, template)
    archive = extension_archive(download_wheels(cache, offline))
    package = template_package(template_bytes, archive)
    for label, blob in (("extension_archive.zip", archive), ("package", package)):
        if len(blob) >= MAX_BYTES:
            raise BuildError(f"{label} is {len(blob)} bytes (limit {MAX_BYTES})")
    name = "unv_tmplt_{}-{}.zip".format(_template_file_name(template["name"]), version)
    dist.mkdir(parents=True, exist_ok=True)
    out = dist / name
    out.write_bytes(package)
    print(
        f"wrote {out} ({len(package)} bytes, extension_archive.zip "
        f"{len(archive)} bytes, sha256 {hashlib.sha256(package).hexdigest()})"
    )
    return out


def _template_file_name(name: str) -> str:
    """uip-cli's rule: lower case, anything but [a-z0-9_-] becomes '_'."""
    return re.sub(r"[^a-z0-9_\-]", "_", name.strip().lower())


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=DEFAULT_DIST, help="output folder")
    parser.add_argument(
        "--wheel-cache", type=Path, default=DEFAULT_WHEELS, help="pip download cache"
    )
    parser.add_argument(
        "--offline", action="store_true", help="use only wheels already in the cache"
    )
    parser.add_argument(
        "--list-shipped-sources",
        action="store_true",
        help="print the Python files of ours the archive holds, then exit",
    )
    args = parser.parse_args(argv)
    if args.list_shipped_sources:
        for path in shipped_sources():
            print(path.relative_to(ROOT).as_posix())
        return 0
    try:
        build(args.dist, args.wheel_cache, args.offline)
    except BuildError as exc:
        print("build_package: {}".format(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
