"""Secrets: names and ids out, values in (never read back)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kitaru_mcp.gateway.base import GatewayBase

if TYPE_CHECKING:
    from kitaru_mcp.gateway.shapes import SecretSummary


def _summary(secret: Any) -> SecretSummary:
    return {"name": secret.name, "id": str(secret.id), "private": bool(secret.private)}


class SecretsGateway(GatewayBase):
    def list_secrets(self) -> list[SecretSummary]:
        """Every secret's name, id and visibility; values are never fetched."""
        from kitaru.secrets import list_secrets

        self.sync()
        return [_summary(secret) for secret in list_secrets()]

    def create_secret(self, name: str, values: dict[str, str], private: bool) -> SecretSummary:
        """Create a secret; return its name, id and visibility (no values).

        The backend's exception is raised unchanged: the caller rebuilds it
        without the values (its message may quote them).
        """
        from kitaru.secrets import create_secret

        self.sync()
        return _summary(create_secret(name, values, private=private))
