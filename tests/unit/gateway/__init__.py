"""Unit tests of ``kitaru_mcp.gateway``."""
