"""``python -m kitaru_mcp.codegen [--check] [--release]``: regenerate, or prove nothing drifted.

Both also compare the contract with the last released one
(``contract/released.json``): a breaking change without a new major
``contract_version`` fails ``--check`` and is reported when regenerating.
``--release`` records the current contract as the released one.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path

from .compat import check_files, explain
from .handlers import check_handlers
from .loader import SchemaErrors, load
from .render import render_all

ROOT = Path(__file__).resolve().parent.parent
RELEASED = Path("contract") / "released.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kitaru_mcp.codegen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if generated files differ")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    parser.add_argument("--schemas", type=Path, help="schemas folder (default: ROOT/schemas)")
    parser.add_argument(
        "--release",
        action="store_true",
        help=f"after generating, record the contract as released ({RELEASED})",
    )
    args = parser.parse_args(argv)
    schemas_dir = args.schemas or args.root / "schemas"

    try:
        schemas = load(schemas_dir)
        handlers = args.root / "handlers"
        if handlers.is_dir():
            problems = check_handlers(schemas, handlers)
            if problems:
                raise SchemaErrors(problems)
        readme = args.root / "README.md"
        files = render_all(schemas, readme.read_text(encoding="utf-8") if readme.exists() else None)
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
    if not _compatible(
        args.root, files["generated/contract.json"], strict=args.check or args.release
    ):
        return 1
    if args.release:
        (args.root / RELEASED).parent.mkdir(parents=True, exist_ok=True)
        (args.root / RELEASED).write_text(files["generated/contract.json"], encoding="utf-8")
        print(f"codegen: recorded the contract as released in {RELEASED}", file=sys.stderr)
    verb = "up to date" if args.check else f"wrote {len(stale)} file(s)"
    print(f"codegen: {len(files)} files, {verb}", file=sys.stderr)
    return 0


def _compatible(root: Path, contract_text: str, *, strict: bool) -> bool:
    """Compare with the released contract; False only when ``strict`` and it breaks."""
    problems, report = check_files(root / RELEASED, json.loads(contract_text))
    if report is None:
        print(f"codegen: no {RELEASED}, breaking-change check skipped", file=sys.stderr)
        return True
    if problems:
        for line in explain(problems, report, str(RELEASED)):
            print(line, file=sys.stderr)
        return not strict
    if report.breaking:
        print(
            f"codegen: {len(report.breaking)} breaking change(s) since contract "
            f"{report.released_version}, allowed by the new major {report.current_version}",
            file=sys.stderr,
        )
    return True


if __name__ == "__main__":
    sys.exit(main())
