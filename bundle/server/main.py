"""The MCP Bundle's entry point: run kitaru-mcp from the environment uv made for the bundle."""

from kitaru_mcp.cli import main

raise SystemExit(main())
