"""Unit tests of ``kitaru_mcp.handlers``."""
