"""No operator route answers 5xx, whatever an authenticated caller sends: hypothesis draws query
values, path ids and JSON bodies for every operator operation in the app's own OpenAPI spec."""

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_server.db import migrate
from fieldcheck_server.db.engine import Database, open_database
from fieldcheck_server.domain.roles import Role
from tests.fieldcheck_server.operator_client import BASE_URL, bearer, operator_app

junk = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=80),
)
#: Path ids: mostly integers, often beyond what a 64-bit column holds.
ids = st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.text(max_size=20))
bodies = st.one_of(junk, st.dictionaries(
    st.sampled_from(["device_id", "public_key", "label", "x"]), junk, max_size=4))


@pytest.fixture(scope="module")
def admin(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[TestClient, dict[str, str], dict[str, Any]]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "server.db"
    db = open_database(f"sqlite:///{path}")
    migrate.upgrade(db)
    client = TestClient(operator_app(db, ManualClock()), base_url=BASE_URL,
                        raise_server_exceptions=False)
    spec = client.get("/openapi.json").json()
    return client, bearer(db, Role.ADMIN), spec


def _operations() -> list[tuple[str, str]]:
    spec = operator_app(Database(create_engine("sqlite://"), "memory"), ManualClock()).openapi()
    return sorted((method.upper(), path) for path, ops in spec["paths"].items()
                  if path.startswith("/api/v1/") for method in ops)


@pytest.mark.parametrize(("method", "path"), _operations())
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_operator_route_answers_5xx(
    admin: tuple[TestClient, dict[str, str], dict[str, Any]], method: str, path: str,
    data: st.DataObject,
) -> None:
    client, headers, spec = admin
    op = spec["paths"][path][method.lower()]
    query, url = {}, path
    for param in op.get("parameters", []):
        value = data.draw(ids if param["in"] == "path" else junk, label=param["name"])
        if param["in"] == "path":
            url = url.replace("{" + param["name"] + "}", quote(str(value), safe=""))
        elif param["in"] == "query" and value is not None:
            query[param["name"]] = str(value)
    body = data.draw(bodies, label="body") if "requestBody" in op else None
    answer = client.request(method, url, params=query, headers=headers,
                            json=body if "requestBody" in op else None)
    assert answer.status_code < 500, (method, url, query, body, answer.text[:300])
