"""Unit tests of ``kitaru_mcp.core``."""
