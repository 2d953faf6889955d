"""``python -m kitaru_mcp.codegen [--check]``: regenerate, or prove nothing drifted."""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from .loader import SchemaErrors, load
from .render import render_all

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kitaru_mcp.codegen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if generated files differ")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    parser.add_argument("--schemas", type=Path, help="schemas folder (default: ROOT/schemas)")
    args = parser.parse_args(argv)
    schemas_dir = args.schemas or args.root / "schemas"

    try:
        files = render_all(load(schemas_dir))
    except SchemaErrors as exc:
        print(f"{len(exc.problems)} problem(s) in {schemas_dir}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2

    stale = []
    for relative, text in files.items():
        path = args.root / relative
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current == text:
            continue
        stale.append(relative)
        if args.check:
            diff = difflib.unified_diff(
                current.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"{relative} (committed)",
                tofile=f"{relative} (from schemas)",
                n=1,
            )
            sys.stdout.writelines(list(diff)[:40])
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    if args.check and stale:
        print(f"generated files out of date: {', '.join(stale)}", file=sys.stderr)
        print("run: python -m kitaru_mcp.codegen", file=sys.stderr)
        return 1
    verb = "up to date" if args.check else f"wrote {len(stale)} file(s)"
    print(f"codegen: {len(files)} files, {verb}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
