"""kitaru-mcp: a schema-first MCP server for Kitaru executions."""

__version__ = "0.1.0"
