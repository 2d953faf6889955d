"""Unit tests of ``kitaru_mcp.observe``."""
