"""Fetch one package archive from a registry with its ordinary client, into a given folder.

Each function returns the path of the archive it fetched and raises :class:`FetchError` with
one line (the client's own last error line) when the client fails, is missing or hangs.
"""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

TIMEOUT_S = 600
APT_TIMEOUT_S = 120        # the .deb is optional: give up sooner on a slow or absent apt mirror


class FetchError(Exception):
    """A failure the user can act on, shown as one line without a traceback."""


def _last_error_line(text: str) -> str:
    """The line of a client's stderr that says what went wrong (pip's, npm's or apt's)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    noise = ("WARNING: Location", "W: Download is performed unsandboxed")
    lines = [line for line in lines if not line.startswith(noise)]
    for prefix in ("ERROR:", "npm error", "npm ERR!", "E:"):
        found = [line for line in lines if line.startswith(prefix)]
        if found:
            return found[-1] if prefix != "npm error" else " ".join(found[:2])
    return lines[-1] if lines else "no message"


def run_client(cmd: list[str], cwd: Path, what: str,
               timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """Run a registry client quietly; its output is shown only when it fails."""
    if shutil.which(cmd[0]) is None and not Path(cmd[0]).exists():
        raise FetchError(f"{what}: `{cmd[0]}` is not installed")
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise FetchError(f"{what}: no answer in {timeout:.0f}s") from None
    if done.returncode != 0:
        raise FetchError(f"{what} failed: {_last_error_line(done.stderr + done.stdout)}")
    return done


def _only_file(folder: Path, pattern: str, what: str) -> Path:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise FetchError(f"{what}: expected one {pattern} in the download, found {len(found)}")
    return found[0]


def npm_pack(spec: str, dest: Path) -> Path:
    """``npm pack NAME@VERSION`` into a fresh sub-folder of ``dest``: the package's .tgz."""
    folder = dest / spec.replace("/", "_").replace("@", "_")
    folder.mkdir(parents=True, exist_ok=True)
    run_client(["npm", "pack", spec, "--silent"], folder, f"npm pack {spec}")
    return _only_file(folder, "*.tgz", f"npm pack {spec}")


def pip_download(spec: str, dest: Path, *, sdist: bool) -> Path:
    """``pip download --no-deps`` of the sdist (``sdist=True``) or the wheel of ``NAME==VER``.

    ``--no-binary NAME`` rather than ``:all:``: pip still builds an sdist's metadata in an
    isolated environment, and ``:all:`` would build that environment's tools (hatchling and
    its dependencies, setuptools) from source as well: 90 s instead of 4 s without a pip cache.
    """
    folder = dest / spec.replace("=", "_")
    folder.mkdir(parents=True, exist_ok=True)
    name = spec.split("==")[0]
    kind = ["--no-binary", name] if sdist else ["--only-binary", ":all:"]
    run_client([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                "--disable-pip-version-check", *kind, "-d", str(folder), spec],
               folder, f"pip download {spec}")
    return _only_file(folder, "*.tar.gz" if sdist else "*.whl", f"pip download {spec}")


def apt_download(package: str, dest: Path) -> Path:
    """``apt-get download PACKAGE``; runs ``apt-get update`` once first if the lists lack it."""
    folder = dest / f"apt_{package}"
    folder.mkdir(parents=True, exist_ok=True)
    what = f"apt-get download {package}"
    try:
        run_client(["apt-get", "download", package], folder, what, APT_TIMEOUT_S)
    except FetchError as first:
        unknown = any(s in str(first) for s in ("Unable to locate", "no installation candidate",
                                                "Unable to find"))
        if not unknown or not hasattr(os, "geteuid") or os.geteuid() != 0:
            raise
        print(f"  ({package} is not in apt's package lists: running apt-get update once)",
              flush=True)
        run_client(["apt-get", "update", "-qq"], folder, "apt-get update", APT_TIMEOUT_S)
        run_client(["apt-get", "download", package], folder, what, APT_TIMEOUT_S)
    return _only_file(folder, "*.deb", what)


def installed_package_dir(name: str) -> Path | None:
    """The folder of an installed package, found without importing it (gensim imports scipy)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def deb_data_tar(deb: bytes) -> tarfile.TarFile:
    """The ``data.tar.*`` member of a .deb (an ``ar`` archive), opened as a tar file.

    Read here rather than with ``dpkg-deb -x`` so that nothing is unpacked to disk; a zstd
    member (which Python's tarfile cannot read) goes through ``dpkg-deb --fsys-tarfile``.
    """
    if not deb.startswith(b"!<arch>\n"):
        raise FetchError("not a .deb (ar) archive")
    pos = 8
    while pos + 60 <= len(deb):
        header = deb[pos:pos + 60]
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        body = deb[pos + 60:pos + 60 + size]
        if name.startswith("data.tar"):
            if name.endswith(".zst"):
                return _dpkg_fsys_tar(deb)
            return tarfile.open(fileobj=io.BytesIO(body), mode="r:*")
        pos += 60 + size + (size % 2)
    raise FetchError("the .deb has no data.tar member")


def _dpkg_fsys_tar(deb: bytes) -> tarfile.TarFile:
    if shutil.which("dpkg-deb") is None:
        raise FetchError("the .deb is zstd-compressed and dpkg-deb is not installed")
    done = subprocess.run(["dpkg-deb", "--fsys-tarfile", "/dev/stdin"], input=deb,
                          capture_output=True, timeout=TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise FetchError(f"dpkg-deb --fsys-tarfile failed: {done.stderr.decode()[-200:]}")
    return tarfile.open(fileobj=io.BytesIO(done.stdout), mode="r:")
