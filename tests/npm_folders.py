"""The suite's Node folders, each installed by npm once and shared by the xdist workers.

Every folder's ``package.json`` pins its packages to exact versions. ``ensure``
installs a folder under a file lock of its own, so two workers (or the
prefetch) never run npm in one folder at once, and returns once every pin is
in ``node_modules``. ``prefetch`` starts those installs in a background process
when a session collects a ``node`` test: the downloads then overlap the tests
that run first instead of holding up a worker (run as a script, this file is
that process, given the session's folder).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Folder:
    path: Path
    pins_key: str = "dependencies"  # which table of package.json holds the pins

    def pins(self) -> dict[str, str]:
        return json.loads((self.path / "package.json").read_text())[self.pins_key]

    def installed(self, package: str) -> str | None:
        manifest = self.path / "node_modules" / package / "package.json"
        if not manifest.exists():
            return None
        return str(json.loads(manifest.read_text()).get("version"))

    def stale(self) -> list[str]:
        return [name for name, version in self.pins().items() if self.installed(name) != version]

    def command(self, npm: str) -> list[str]:
        flags = ["--no-audit", "--no-fund", "--loglevel=error"]
        if (self.path / "package-lock.json").exists():  # committed lock: install exactly it
            return [npm, "ci", *flags]
        return [npm, "install", "--no-package-lock", *flags]


FOLDERS = {
    "clients": Folder(ROOT / "tests" / "clients"),
    "conformance": Folder(ROOT / "tests" / "conformance"),
    "ts_client": Folder(ROOT / "tests" / "ts_client"),
    "app": Folder(ROOT / "app", "devDependencies"),
}


def ensure(name: str, timeout_s: float = 900) -> str:
    """Install folder ``name`` if any pin is missing; '' when done, else why not."""
    folder = FOLDERS[name]
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not on PATH"
    with open(folder.path / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if folder.stale():
            out = subprocess.run(
                folder.command(npm),
                cwd=folder.path,
                capture_output=True,
                text=True,
                timeout=timeout_s,
            )
            if out.returncode != 0:
                return f"npm install in {folder.path} failed:\n{out.stdout}\n{out.stderr}"
    missing = folder.stale()
    return f"not at the pinned versions in {folder.path}: {missing}" if missing else ""


def prefetch(flag_dir: str) -> None:
    """Start installing every folder in the background, once per session (``flag_dir``
    is the session's own temporary folder, shared by its workers)."""
    if shutil.which("npm") is None or not any(folder.stale() for folder in FOLDERS.values()):
        return
    try:
        os.close(os.open(Path(flag_dir) / "npm-prefetch", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return  # another worker started it
    with open(Path(flag_dir) / "npm-prefetch.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, __file__, flag_dir],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (Path(flag_dir) / "npm-prefetch.pid").write_text(str(process.pid))


def stop_prefetch(flag_dir: str) -> None:
    """End a prefetch still running when the session ends (npm and its children too);
    a half-done folder is installed again by the next ``ensure``."""
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        os.killpg(int((Path(flag_dir) / "npm-prefetch.pid").read_text()), signal.SIGKILL)


if __name__ == "__main__":
    with ThreadPoolExecutor(len(FOLDERS)) as pool:
        for name, why in zip(FOLDERS, pool.map(ensure, FOLDERS), strict=True):
            print(f"{name}: {why or 'installed'}", flush=True)
    # Done: nothing is left for stop_prefetch to end (and the pid may be reused).
    (Path(sys.argv[1]) / "npm-prefetch.pid").unlink(missing_ok=True)
