"""Unit tests of ``kitaru_mcp.surface``."""
