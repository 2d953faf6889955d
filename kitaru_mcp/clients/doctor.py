"""``kitaru-mcp doctor``: what this installation will talk to, and whether it works.

Fast and read-only: it reads Kitaru's configuration file instead of importing
Kitaru, asks a server's ``/health`` (a few seconds at most), runs no flow and
writes nothing. Addresses are shown without credentials; credentials only by
where they come from.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import TextIO

from kitaru_mcp.clients import files, json_config, toml_config
from kitaru_mcp.clients.entry import Entry, same_program, this_command
from kitaru_mcp.clients.files import ConfigError
from kitaru_mcp.clients.registry import CLIENTS
from kitaru_mcp.core.hosts import is_loopback
from kitaru_mcp.gateway import embedded

CREDENTIAL_VARIABLES = (
    "KITARU_API_KEY",
    "ZENML_STORE_API_KEY",
    "ZENML_STORE_API_TOKEN",
    "ZENML_STORE_PASSWORD",
)
PROBE_TIMEOUT_S = 3.0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions() -> Check:
    from kitaru_mcp import __version__

    kitaru, zenml = _version("kitaru"), _version("zenml")
    detail = (
        f"kitaru-mcp {__version__}, Kitaru {kitaru}, ZenML {zenml}, mcp {_version('mcp')}, "
        f"Python {platform.python_version()}"
    )
    ok = kitaru.startswith("0.21.")
    fix = None if ok else "install Kitaru 0.21: pip install -c constraints.txt -e ."
    return Check("versions", ok, detail, fix)


def redact(url: str) -> str:
    """A URL without user, password, query or fragment."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def config_dir() -> Path:
    """Kitaru's configuration folder, by Kitaru's own rule (on macOS not ``~/.config``)."""
    return embedded.config_dir()


def _answers(url: str) -> str | None:
    """None when ``url``/health answers; else why not (never the URL's credentials)."""
    probe = redact(url).rstrip("/") + "/health"
    host = (urllib.parse.urlsplit(probe).hostname or "").lower()
    handlers = [urllib.request.ProxyHandler({})] if is_loopback(host) else []
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(probe, timeout=PROBE_TIMEOUT_S) as got:
            return None if got.status < 500 else f"HTTP {got.status}"
    except urllib.error.HTTPError as exc:
        return None if exc.code < 500 else f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return str(reason)[:200]


def connection() -> list[Check]:
    folder = config_dir()
    url_from = next((name for name in embedded.URL_VARIABLES if os.environ.get(name)), None)
    store = embedded.store_section(embedded.read_config(folder))
    if url_from is None and store.get("type") != "rest":
        default = folder / "local_stores" / "default_zen_store" / "zenml.db"
        database = Path(str(store.get("database") or default))
        if database.exists():
            return [Check("connection", True, f"embedded local store (SQLite) at {database}")]
        return [
            Check(
                "connection",
                True,
                f"embedded local store, to be created at {database} on first use (about 5 s)",
            )
        ]
    url = os.environ[url_from] if url_from else str(store.get("url") or "")
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    kind = "local Kitaru server" if is_loopback(host) else "Kitaru server"
    where = f" (from {url_from})" if url_from else f" (from {folder / 'config.yaml'})"
    checks = []
    problem = _answers(url)
    if problem is None:
        checks.append(Check("connection", True, f"{kind} at {redact(url)}{where}: answers"))
    else:
        fix = (
            "start it with `kitaru login` (or the kitaru_start_local_server tool)"
            if kind.startswith("local")
            else "check the address and that the server is up, then `kitaru login <server>`"
        )
        checks.append(
            Check(
                "connection",
                False,
                f"{kind} at {redact(url)}{where} does not answer: {problem}",
                fix,
            )
        )
    from_env = [name for name in CREDENTIAL_VARIABLES if os.environ.get(name)]
    saved = (folder / "credentials.yaml").exists()
    if from_env or saved:
        source = (
            ", ".join(from_env) if from_env else f"{folder / 'credentials.yaml'} (kitaru login)"
        )
        checks.append(Check("credentials", True, f"present, from {source} (not shown)"))
    elif kind != "local Kitaru server":
        checks.append(
            Check(
                "credentials",
                False,
                "none found for this server",
                "`kitaru login <server>`, or set KITARU_API_KEY",
            )
        )
    return checks


def target_roots() -> Check:
    from kitaru_mcp.core.settings import TARGET_ROOTS_ENV

    raw = os.environ.get(TARGET_ROOTS_ENV, "")
    roots = [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]
    if not roots:
        return Check(
            "target roots",
            True,
            f"{Path.cwd()} (the server's working directory; the client decides it)",
        )
    missing = [str(root) for root in roots if not root.is_dir()]
    detail = ", ".join(str(root) for root in roots)
    if missing:
        return Check(
            "target roots",
            False,
            f"{detail}: not a directory: {', '.join(missing)}",
            f"fix {TARGET_ROOTS_ENV} or --allow-target-root",
        )
    return Check("target roots", True, detail)


def on_path() -> Check:
    found = shutil.which("kitaru-mcp")
    ours = this_command()
    if found is None:
        return Check("PATH", True, f"no kitaru-mcp on PATH; clients start {ours} by its full path")
    if same_program(found):
        return Check("PATH", True, f"kitaru-mcp on PATH is this one ({ours})")
    return Check(
        "PATH",
        False,
        f"kitaru-mcp on PATH is {found}, not this installation ({ours}): another venv, "
        "or Kitaru's own older kitaru-mcp script",
        f"put {Path(ours).parent} first on PATH, or let clients use the full path "
        "(kitaru-mcp install <client> writes it)",
    )


def _entry_in(client_name: str, scope: str, name: str) -> tuple[Path, Entry | None, bool]:
    client = CLIENTS[client_name]
    path = client.path(scope, Path.home(), Path.cwd())
    fmt = toml_config if client.format == "toml" else json_config
    text = files.read_text(path)
    raw = fmt.get(path, fmt.parse(path, text), client.key, name)
    return path, Entry.from_mapping(raw), raw is not None


def clients(name: str = "kitaru") -> list[Check]:
    checks = []
    for client in CLIENTS.values():
        for scope in client.scopes:
            label = f"{client.name} ({scope})"
            try:
                path, entry, present = _entry_in(client.name, scope, name)
            except ConfigError as exc:
                checks.append(Check(label, False, str(exc), "fix the file by hand"))
                continue
            if not present:
                continue
            if entry is None:
                checks.append(
                    Check(
                        label,
                        False,
                        f"'{name}' in {path} has no command",
                        f"kitaru-mcp install {client.name} --force",
                    )
                )
            elif not same_program(entry.command):
                checks.append(
                    Check(
                        label,
                        False,
                        f"'{name}' in {path} starts {entry.command}, not this installation",
                        f"kitaru-mcp install {client.name} --scope {scope} --force",
                    )
                )
            else:
                checks.append(Check(label, True, f"'{name}' in {path} starts this installation"))
    return checks


def numbers() -> Check:
    """The numeric KITARU_MCP_* settings the server would refuse to start with."""
    from kitaru_mcp.core.settings import environment_problems

    problems = environment_problems()
    if not problems:
        return Check("settings", True, "every numeric KITARU_MCP_* setting is usable")
    return Check(
        "settings", False, " ".join(problems), "fix or unset them: the server will not start"
    )


def run_checks() -> list[Check]:
    return [versions(), *connection(), target_roots(), numbers(), on_path(), *clients()]


def main(as_json: bool, out: TextIO) -> int:
    checks = run_checks()
    failed = any(not check.ok for check in checks)
    if as_json:
        payload = {"ok": not failed, "checks": [asdict(check) for check in checks]}
        print(json.dumps(payload, indent=2, ensure_ascii=False), file=out)
    else:
        for check in checks:
            mark = "✓" if check.ok else "✗"
            print(f"{mark} {check.name}: {check.detail}", file=out)
            if check.fix:
                print(f"    fix: {check.fix}", file=out)
        if not any(check.name.endswith(")") for check in checks):
            print("  no assistant has a 'kitaru' entry yet: kitaru-mcp install <client>", file=out)
    return 1 if failed else 0
