"""``python -m kitaru_mcp.runs.runner (--job FILE | --template)``: one runner, or the template.

The command line's only job: ``--job`` runs one job (``kitaru_mcp.runs.runner``),
``--template`` serves forks of a warmed-up process (``kitaru_mcp.runs.template``),
which in turn runs each job as a cold runner would.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--template"]:
        from kitaru_mcp.runs import template

        return template.serve()
    if len(argv) != 2 or argv[0] != "--job":
        print("usage: python -m kitaru_mcp.runs.runner (--job FILE | --template)", file=sys.stderr)
        return 2
    from kitaru_mcp.runs.runner import read_job, run_job

    return run_job(read_job(Path(argv[1])))


if __name__ == "__main__":
    sys.exit(main())
