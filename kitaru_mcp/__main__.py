"""``python -m kitaru_mcp``: the same as the ``kitaru-mcp`` command."""

from kitaru_mcp.cli import main

raise SystemExit(main())
