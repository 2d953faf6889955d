"""``kitaru-mcp install CLIENT`` and ``kitaru-mcp uninstall CLIENT``.

Read the client's file first (whoever writes it): an entry that already
starts this installation the same way is left alone, one of the same name
that starts something else needs ``--force``. Then either the client's own
CLI changes it (when it is on PATH and has an ``mcp add``), or we do: only
our entry changes, every other entry and key stays, the write is atomic,
the file keeps its mode (0600 once it holds an ``--env`` value), and a
backup of the file as it was is left beside it before the first change.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from kitaru_mcp.clients import files, json_config, native, toml_config
from kitaru_mcp.clients.entry import Entry, same_program
from kitaru_mcp.clients.files import ConfigError
from kitaru_mcp.clients.registry import Client

FAILED = 1


@dataclass
class Target:
    """One client's file for one scope, and how to change it."""

    client: Client
    scope: str
    name: str
    home: Path
    project: Path
    use_cli: bool = True

    @property
    def path(self) -> Path:
        return self.client.path(self.scope, self.home, self.project)

    @property
    def fmt(self) -> ModuleType:
        return toml_config if self.client.format == "toml" else json_config

    @property
    def program(self) -> str | None:
        return native.find(self.client.cli) if self.use_cli else None

    def load(self) -> tuple[str | None, Any, Any]:
        """(the file's text, the parsed document, our entry's raw value or None)."""
        text = files.read_text(self.path)
        doc = self.fmt.parse(self.path, text)
        return text, doc, self.fmt.get(self.path, doc, self.client.key, self.name)


def _masked(text: str, entry: Entry | None) -> str:
    for value in entry.env.values() if entry else ():
        if value:
            text = text.replace(value, "***")
    return text


def _diff(path: Path, before: str | None, after: str, entry: Entry | None) -> str:
    lines = difflib.unified_diff(
        (before or "").splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"{path} (now)" if before is not None else "(no file yet)",
        tofile=f"{path} (after)",
    )
    return _masked("".join(lines), entry)


def _existing(target: Target, raw: Any) -> str:
    found = Entry.from_mapping(raw)
    return found.describe() if found else f"{raw!r}"[:300]


def _ensure_folder(target: Target) -> None:
    """Project files may create their folder (.vscode/, .cursor/...); user folders must exist."""
    folder = target.path.parent
    if target.scope == "project" and not folder.exists() and target.project.is_dir():
        try:
            folder.mkdir(parents=False)
        except OSError as exc:
            raise ConfigError(f"cannot create {folder}: {exc.strerror}") from None


def install(target: Target, entry: Entry, force: bool, dry_run: bool, out: TextIO) -> int:
    text, doc, raw = target.load()
    path, client = target.path, target.client
    current = Entry.from_mapping(raw)
    if raw is not None:
        if current == entry:
            print(
                f"{client.title}: '{target.name}' in {path} already starts this installation "
                "this way; nothing changed.",
                file=out,
            )
            return 0
        if not (current and same_program(current.command)) and not force:
            raise ConfigError(
                f"{path} already has a server named '{target.name}' that starts something "
                f"else: {_existing(target, raw)}. Pass --force to replace it, or --name to add "
                "this one beside it."
            )
    target.fmt.put(path, doc, client.key, target.name, entry.as_json(client.typed))
    after = target.fmt.dump(doc)
    program = target.program
    if dry_run:
        print(f"{client.title} ({target.scope}): would change {path}", file=out)
        if program:
            if raw is not None:
                removal = native.remove_argv(client.cli or "", program, target.scope, target.name)
                print(f"would run: {native.shown(removal, None)}", file=out)
            argv = native.add_argv(client.cli or "", program, target.scope, target.name, entry)
            print(f"would run: {native.shown(argv, entry)}", file=out)
        print(_diff(path, text, after, entry), end="", file=out)
        return 0
    _ensure_folder(target)
    backup = files.backup_once(path)
    if program:
        _native_install(target, program, entry, replace=raw is not None)
    else:
        files.write_atomic(path, after, secret=bool(entry.env))
    verb = "Updated" if raw is not None else "Added"
    print(f"{verb} '{target.name}' in {client.title} ({target.scope}): {path}", file=out)
    print(f"  starts: {entry.describe()}", file=out)
    if backup is not None:
        print(f"  backup of the file as it was: {backup}", file=out)
    if entry.env:
        print("  the file holds --env values: it is readable by you only (0600)", file=out)
    step = client.next_step(target.scope)
    if step:
        print(f"  next: {step}", file=out)
    print("  check it with: kitaru-mcp doctor", file=out)
    return 0


def _native_install(target: Target, program: str, entry: Entry, replace: bool) -> None:
    client = target.client
    cli = client.cli or ""
    if replace:
        native.run(native.remove_argv(cli, program, target.scope, target.name), target.project)
    native.run(
        native.add_argv(cli, program, target.scope, target.name, entry), target.project, entry
    )
    _, _, raw = target.load()
    if Entry.from_mapping(raw) != entry:
        raise ConfigError(
            f"{Path(program).name} reported success, but {target.path} does not hold the entry "
            "it was asked to add; run again with --no-cli to edit the file directly"
        )
    if entry.env:
        files.narrow_mode(target.path)


def uninstall(target: Target, force: bool, dry_run: bool, out: TextIO) -> int:
    text, doc, raw = target.load()
    path, client = target.path, target.client
    if raw is None:
        print(
            f"{client.title}: no server named '{target.name}' in {path}; nothing changed.", file=out
        )
        return 0
    current = Entry.from_mapping(raw)
    if not (current and same_program(current.command)) and not force:
        raise ConfigError(
            f"'{target.name}' in {path} starts something else: {_existing(target, raw)}. "
            "Pass --force to remove it anyway."
        )
    target.fmt.remove(path, doc, client.key, target.name)
    after = target.fmt.dump(doc)
    program = target.program
    if dry_run:
        print(f"{client.title} ({target.scope}): would change {path}", file=out)
        if program:
            argv = native.remove_argv(client.cli or "", program, target.scope, target.name)
            print(f"would run: {native.shown(argv, None)}", file=out)
        print(_diff(path, text, after, current), end="", file=out)
        return 0
    backup = files.backup_once(path)
    if program:
        native.run(
            native.remove_argv(client.cli or "", program, target.scope, target.name), target.project
        )
    else:
        files.write_atomic(path, after)
    print(f"Removed '{target.name}' from {client.title} ({target.scope}): {path}", file=out)
    if backup is not None:
        print(f"  backup of the file as it was: {backup}", file=out)
    return 0
