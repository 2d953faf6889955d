"""Secrets: names and ids out, values in (never read back)."""

from __future__ import annotations

from typing import Any

from kitaru_mcp.gateway.base import GatewayBase


def _summary(secret: Any) -> dict[str, Any]:
    return {"name": secret.name, "id": str(secret.id), "private": bool(secret.private)}


class SecretsGateway(GatewayBase):
    def list_secrets(self) -> list[dict[str, Any]]:
        """Every secret's name, id and visibility; values are never fetched."""
        from kitaru.secrets import list_secrets

        self.sync()
        return [_summary(secret) for secret in list_secrets()]

    def create_secret(self, name: str, values: dict[str, str], private: bool) -> dict[str, Any]:
        """Create a secret; return its name, id and visibility (no values).

        The backend's exception is raised unchanged: the caller rebuilds it
        without the values (its message may quote them).
        """
        from kitaru.secrets import create_secret

        self.sync()
        return _summary(create_secret(name, values, private=private))
