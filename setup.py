#!/usr/bin/env python
"""Two builds from one file: ``pip install -e .`` and uip-cli's ``uip build``.

uip-cli (Stonebranch's extension tool, 2.1.x) imports this file to read
``version_info`` (the uip setup.py format it implements) and then runs, from
the repository root::

    python setup.py clean --all install_deps
    python setup.py clean --all bdist_egg --dist-dir <tmp>

``install_deps`` fills ``3pp/`` with the pinned dependencies of
requirements.txt as scripts/build_package.py resolves them (pure-Python wheels
for Python 3.7, sha256-checked), so that one archive serves every agent.
``bdist_egg`` writes the extension archive (an egg named ``.zip``):
``extension.py`` and ``extension.yml`` at the root, the shipped part of
``ue_twilio`` (without its ``sandbox/`` and ``cli/`` folders) and the packages
of ``3pp/`` beside it.

Every other command is pip's (PEP 517 through setuptools): the whole
``ue_twilio`` package from ``src/``; the metadata and the ``ue-twilio``
console script come from pyproject.toml.  ``uip upgrade`` would replace this
file with uip-cli's generic one: don't run it (docs/install.md).
"""

import os
import shutil
import sys

from setuptools import find_packages, setup
from setuptools.command.bdist_egg import bdist_egg as _bdist_egg
from setuptools.command.build_py import build_py as _build_py

try:
    from setuptools import Command
except ImportError:  # setuptools < 60
    from distutils.cmd import Command

ROOT = os.path.dirname(os.path.abspath(__file__))
SRC = "src"
THIRD_PARTY = "3pp"
PACKAGE = "ue_twilio"
UIP_COMMANDS = ("install_deps", "bdist_egg")
LICENSES = "third_party_licenses"


def version_info():
    """The uip-cli setup.py format this file implements (uip-cli reads it)."""
    return "1.4.0"


def _build_package():
    """scripts/build_package.py: the one place that resolves and checks wheels."""
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    try:
        import build_package
    finally:
        sys.path.pop(0)
    return build_package


class install_deps(Command):
    """uip-cli step 1: the pinned pure-Python dependencies, unpacked into 3pp/."""

    description = "put the requirements.txt dependencies (Python 3.7 wheels) in 3pp/"
    user_options = [
        ("reinstall-deps", "f", "delete 3pp/ first (it is always rebuilt)"),
        ("stable-abi", "b", "accepted for uip-cli; every dependency is pure Python"),
    ]
    boolean_options = ["reinstall-deps", "stable-abi"]

    def initialize_options(self):
        self.reinstall_deps = False
        self.stable_abi = False

    def finalize_options(self):
        pass

    def run(self):
        build_package = _build_package()
        cache = os.environ.get("UE_TWILIO_WHEEL_CACHE") or build_package.DEFAULT_WHEELS
        try:
            wheels = build_package.download_wheels(build_package.Path(cache), False)
            entries = build_package.dependency_entries(wheels)
        except build_package.BuildError as exc:
            raise SystemExit("install_deps: {}".format(exc)) from exc
        target = os.path.join(ROOT, THIRD_PARTY)
        shutil.rmtree(target, ignore_errors=True)
        for name, data in entries.items():
            path = os.path.join(target, *name.split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(data)
        print(
            "install_deps: {} files from {} wheels in {}".format(
                len(entries), len(wheels), THIRD_PARTY
            )
        )


class build_py(_build_py):
    """Leave out the modules the agent never runs (build_package's rule)."""

    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        shipped = _build_package().is_shipped
        return [m for m in modules if shipped(m[0] + "." + m[1])]


class bdist_egg(_bdist_egg):
    """uip-cli step 2: the extension archive, an egg named ``.zip``."""

    def finalize_options(self):
        super().finalize_options()
        self.egg_output = os.path.splitext(self.egg_output)[0] + ".zip"

    def run(self):
        if not os.path.isdir(os.path.join(ROOT, THIRD_PARTY)):
            raise SystemExit("bdist_egg: no 3pp/ folder: run install_deps first")
        super().run()


def _third_party_packages():
    return find_packages(THIRD_PARTY) if os.path.isdir(THIRD_PARTY) else []


def _license_files():
    """(archive folder, [files]) for each dependency's licence texts."""
    base = os.path.join(THIRD_PARTY, LICENSES)
    result = []
    for folder, _, files in sorted(os.walk(base)):
        if files:
            rel = os.path.relpath(folder, THIRD_PARTY).replace(os.sep, "/")
            result.append((rel, sorted(os.path.join(folder, f) for f in files)))
    return result


def uip_options():
    """setup() arguments for uip-cli's commands (zip-safe extension archive)."""
    ours = find_packages(SRC, include=[PACKAGE, PACKAGE + ".*"])
    ours = [p for p in ours if _build_package().is_shipped(p)]
    theirs = _third_party_packages()
    package_dir = {"": SRC}
    package_dir.update({p: "/".join([THIRD_PARTY] + p.split(".")) for p in theirs})
    return {
        "zip_safe": True,
        "package_dir": package_dir,
        "packages": ours + theirs,
        "py_modules": ["extension"],
        "package_data": {p: ["*"] for p in theirs},
        "data_files": [("", [os.path.join(SRC, "extension.yml")])] + _license_files(),
        "cmdclass": {
            "install_deps": install_deps,
            "build_py": build_py,
            "bdist_egg": bdist_egg,
        },
    }


def pip_options():
    """setup() arguments for pip (editable or wheel install of ue_twilio)."""
    return {
        "package_dir": {"": SRC},
        "packages": find_packages(SRC, include=[PACKAGE, PACKAGE + ".*"]),
    }


def main():
    os.chdir(ROOT)
    uip = any(command in sys.argv[1:] for command in UIP_COMMANDS)
    options = uip_options() if uip else pip_options()
    setup(**options)


if __name__ == "__main__":
    main()
