"""Writing a client's file safely: atomically, keeping its mode, with one backup."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

BACKUP_SUFFIX = ".kitaru-mcp.bak"


class ConfigError(Exception):
    """A problem with a client's file that the user has to fix (exit status 1)."""


def read_text(path: Path) -> str | None:
    """The file's text, or None when it does not exist."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory, not a configuration file") from None
    except PermissionError:
        raise ConfigError(f"{path} cannot be read (permission denied)") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text ({exc.reason}); left unchanged") from None


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + BACKUP_SUFFIX)


def backup_once(path: Path) -> Path | None:
    """Copy the file next to itself before the first change we make; None if nothing to copy."""
    if not path.exists():
        return None
    target = backup_path(path)
    if not target.exists():
        shutil.copy2(path, target)
    return target


def write_atomic(path: Path, text: str, secret: bool = False) -> None:
    """Replace ``path`` with ``text`` in one rename, keeping the old file's mode.

    A new file gets 0644 (0600 when it holds a secret); an existing file that
    holds a secret is narrowed to 0600. The folder must exist and be writable.
    """
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(
            f"the folder {folder} does not exist: is the client installed? "
            "(create the folder to write the file there anyway)"
        )
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"the folder {folder} is not writable (permission denied)")
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    if secret:
        mode = 0o600
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def narrow_mode(path: Path) -> None:
    """0600 for a file a client's CLI wrote with a secret in it."""
    if path.exists():
        os.chmod(path, 0o600)
