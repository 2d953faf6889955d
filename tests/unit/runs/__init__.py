"""Unit tests of ``kitaru_mcp.runs``."""
