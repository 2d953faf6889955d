"""Unit tests of ``kitaru_mcp.calls``."""
