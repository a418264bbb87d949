"""The operator JSON API is in the OpenAPI spec beside the device API; the HTML pages are not."""

from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_server.db.engine import Database
from tests.fieldcheck_server.operator_client import BASE_URL, operator_app


def test_the_spec_has_both_apis_and_no_pages(db: Database, clock: ManualClock) -> None:
    with TestClient(operator_app(db, clock), base_url=BASE_URL) as client:
        spec = client.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {"/v1/records", "/v1/health"} <= paths
    assert {"/api/v1/me", "/api/v1/devices", "/api/v1/fleet", "/api/v1/audit",
            "/api/v1/audit/verify"} <= paths
    assert not {p for p in paths if not p.startswith(("/v1/", "/api/v1/"))}, "pages in the spec"
    register = spec["paths"]["/api/v1/devices"]["post"]
    assert register["tags"] == ["operator"]
    assert {"200", "409", "422"} <= set(register["responses"])
    assert {"HTTPBearer", "APIKeyCookie"} <= set(spec["components"]["securitySchemes"])
    assert register["security"] == [{"HTTPBearer": []}, {"APIKeyCookie": []}]
    assert "security" not in spec["paths"]["/v1/records"]["post"]  # device-signed instead
