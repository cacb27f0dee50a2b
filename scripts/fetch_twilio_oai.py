"""Fetch Twilio's OpenAPI descriptions for the test suite's conformance checks.

Twilio publishes them in its npm package ``@twilio/cli-core`` (MIT licence).
This script runs ``npm pack`` for the pinned version, checks the tarball's
sha256, and extracts the v2010, Messaging v1, Pricing v1/v2 and Studio v2
descriptions plus the licence into ``.cache/twilio-oai/`` (git-ignored).
Idempotent: when every extracted file is present with its pinned sha256,
nothing is downloaded.

Usage: python scripts/fetch_twilio_oai.py [--dest DIR]
Exit 0 when the files are in place, 1 with a one-line reason otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@twilio/cli-core"
VERSION = "9.0.0"
TARBALL_SHA256 = "9fef3d7234dbce63ff3005a422f46fcf7e3486b369f852f61b3ede41097e5667"
MEMBER_DIR = "package/src/services/twilio-api/"
# extracted name -> (member in the tarball, sha256)
FILES = {
    "twilio_api_v2010.json": (
        MEMBER_DIR + "twilio_api_v2010.json",
        "170b3ccd0f891416840083d72f1795b1499b14a18d4873fd2b39f47ef84642d6",
    ),
    "twilio_messaging_v1.json": (
        MEMBER_DIR + "twilio_messaging_v1.json",
        "611c6fde586347615039a7d8c87a4b10d39c6d8566b7d1a691353ef995aaa473",
    ),
    "twilio_pricing_v1.json": (
        MEMBER_DIR + "twilio_pricing_v1.json",
        "ab11459a2a35c3cf0862265aeec1a05e0471a74a7ae4e7cc66a15eabd774e21b",
    ),
    "twilio_pricing_v2.json": (
        MEMBER_DIR + "twilio_pricing_v2.json",
        "5f6cd2972bd77516708b86cbe3b4bfb6ffe381fb7b918d5815bb5d25d939b83b",
    ),
    "twilio_studio_v2.json": (
        MEMBER_DIR + "twilio_studio_v2.json",
        "c384dd0ef33198d3b592beaf9c1d095c338063969ab4ce92ddc5c2242c4677a3",
    ),
    "LICENSE": (
        "package/LICENSE",
        "495b1233ab516313937ac49d8ab77aa56d5245dc874b82f4bb479663a6adbdbb",
    ),
}
REPO = Path(__file__).resolve().parents[1]
DEFAULT_DEST = REPO / ".cache" / "twilio-oai"


class FetchError(Exception):
    """A reason to stop, printed as one line."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def up_to_date(dest: Path) -> bool:
    """True when every file is present with its pinned hash."""
    return all(
        (dest / name).is_file() and sha256(dest / name) == digest
        for name, (_, digest) in FILES.items()
    )


def npm_pack(workdir: Path) -> Path:
    """Download the pinned tarball with the npm client; returns its path."""
    npm = shutil.which("npm")
    if npm is None:
        raise FetchError("npm not found: install Node.js/npm (apt-get install npm)")
    spec = f"{PACKAGE}@{VERSION}"
    done = subprocess.run(
        [npm, "pack", spec, "--ignore-scripts", "--silent"],
        cwd=str(workdir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    names = [line for line in done.stdout.splitlines() if line.endswith(".tgz")]
    if done.returncode != 0 or not names:
        reason = (done.stderr.strip().splitlines() or ["no tarball written"])[-1]
        raise FetchError(f"npm pack {spec} failed: {reason}")
    return workdir / names[-1]


def extract(tarball: Path, dest: Path) -> None:
    """Check the tarball's hash, then write each file (atomically) into dest."""
    found = sha256(tarball)
    if found != TARBALL_SHA256:
        raise FetchError(
            f"{tarball.name}: sha256 {found} is not the pinned {TARBALL_SHA256}"
        )
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(str(tarball), "r:gz") as archive:
        for name, (member, digest) in FILES.items():
            source = archive.extractfile(member)
            if source is None:
                raise FetchError(f"{member} is not a file in {tarball.name}")
            temporary = dest / (name + ".part")
            with open(temporary, "wb") as handle:
                shutil.copyfileobj(source, handle)
            if sha256(temporary) != digest:
                temporary.unlink()
                raise FetchError(f"{member}: sha256 is not the pinned one")
            temporary.replace(dest / name)


def fetch(dest: Path) -> bool:
    """Make dest hold the pinned files; True when something was downloaded."""
    if up_to_date(dest):
        return False
    with tempfile.TemporaryDirectory(prefix="twilio-oai-") as workdir:
        extract(npm_pack(Path(workdir)), dest)
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    args = parser.parse_args(argv)
    try:
        downloaded = fetch(args.dest)
    except (FetchError, OSError, subprocess.SubprocessError, tarfile.TarError) as exc:
        print(f"fetch_twilio_oai: {exc}", file=sys.stderr)
        return 1
    state = "fetched" if downloaded else "up to date"
    print(f"Twilio OpenAPI ({PACKAGE}@{VERSION}) {state} in {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
