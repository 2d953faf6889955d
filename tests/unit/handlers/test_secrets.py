"""handlers.secrets on a fake gateway: values go in and never come out, not even in errors."""

from __future__ import annotations

import json

import pytest
from kitaru_mcp.generated import models
from kitaru_mcp.handlers import secrets

from kitaru_mcp.core.errors import BackendUnavailable, Conflict, Internal, InvalidArgument
from unit.fakes_admin import FakeAdminGateway, raised

pytestmark = pytest.mark.unit

VALUE = "kmcp-0f9e8d7c6b5a-value"


@pytest.fixture
def admin() -> FakeAdminGateway:
    return FakeAdminGateway()


def _create(gw, name="api", values=None, private=False) -> models.SecretSummary:
    """Built without the model's own checks: the handler's must hold on their own."""
    params = models.KitaruSecretsCreateInput.model_construct(
        name=name, values=values or {"API_KEY": VALUE}, private=private
    )
    return secrets.create_secret(gw, params)


def test_create_returns_key_names_only(admin) -> None:
    created = _create(admin, values={"B_KEY": VALUE, "A_PORT": 8080, "C_ON": True})
    assert created.keys == ["A_PORT", "B_KEY", "C_ON"] and created.private is False
    assert VALUE not in created.model_dump_json()
    assert admin.secrets["api"]["values"] == {"B_KEY": VALUE, "A_PORT": "8080", "C_ON": "true"}


def test_list_filters_by_name_and_never_shows_values(admin) -> None:
    _create(admin, name="prod-db")
    _create(admin, name="staging-db", private=True)
    _create(admin, name="other")
    listed = secrets.list_secrets(admin, models.KitaruSecretsListInput(name_contains="DB"))
    assert [s.name for s in listed.secrets] == ["prod-db", "staging-db"]
    assert listed.total == 2 and listed.secrets[1].private is True
    assert VALUE not in listed.model_dump_json()
    assert all(s.keys is None for s in listed.secrets)


def test_bad_keys_and_values_are_named_without_the_value(admin) -> None:
    bad_key = raised(InvalidArgument, _create, admin, values={"1BAD": VALUE})
    assert bad_key.field == "values.1BAD" and VALUE not in bad_key.message
    nested = raised(InvalidArgument, _create, admin, values={"K": {"n": VALUE}})
    assert nested.field == "values.K" and VALUE not in nested.message
    blank = raised(InvalidArgument, _create, admin, values={"K": ""})
    assert blank.field == "values.K"
    assert "create_secret" not in admin.names()


class EntityExistsError(Exception):
    pass


class ValidationError(Exception):
    pass


def test_backend_failures_are_rebuilt_without_the_value(admin) -> None:
    admin.secret_error = EntityExistsError(f"secret api already exists with {VALUE}")
    exists = raised(Conflict, _create, admin)
    assert exists.field == "name" and VALUE not in exists.message
    assert exists.__cause__ is None and exists.__context__ is None

    admin.secret_error = ValidationError(f"value {VALUE} too long")
    invalid = raised(InvalidArgument, _create, admin)
    assert invalid.message == "value *** too long" and invalid.field == "values"

    admin.secret_error = RuntimeError(f"boom {VALUE}")
    other = raised(Internal, _create, admin)
    assert VALUE not in json.dumps(other.to_dict())

    admin.secret_error = BackendUnavailable("cannot reach http://127.0.0.1:9: refused.")
    down = raised(BackendUnavailable, _create, admin)
    assert down.message.startswith("cannot reach")
