"""Unit tests of ``kitaru_mcp.clients``."""
