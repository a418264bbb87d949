"""The load bench at a tiny size: real `server run`, signed HTTPS uploads, every record verified."""

import pytest

from host_tools.bench import load
from tests.fieldcheck_server import pgcluster


def test_every_record_of_every_unit_arrives_verified_while_the_fleet_is_read() -> None:
    size = load.LoadSize(devices=5, batches=2, batch_records=4, in_flight=3)
    fleet = load.make_fleet(size)

    result = load.run_one(fleet, size, processes=1)

    assert result.failures == []
    assert fleet.records == 40
    assert result.acked == 40
    assert result.verified == 40
    assert len(result.upload_ms) == 10
    assert result.fleet_ms, "the operator readers read the fleet view during the upload"
    assert load.figures(result)["records_per_s"] > 0


def test_postgresql_is_skipped_with_the_reason_when_no_cluster_can_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pgcluster, "unavailable", lambda: "no PostgreSQL binaries here")

    with load.postgres() as (cluster, why):
        assert cluster is None
        assert why == "no PostgreSQL binaries here"


def test_the_benchs_postgresql_is_durable_as_a_deployment() -> None:
    """The bench measures ingest against PostgreSQL's own durability, not the tests' fsync=off."""
    import psycopg

    from host_tools.bench.load import postgres

    with postgres() as (cluster, why):
        if cluster is None:
            pytest.skip(f"no PostgreSQL here: {why}")
        with psycopg.connect(cluster.url("postgres")) as connection:
            settings = {name: connection.execute(f"SHOW {name}".encode()).fetchone()[0]
                        for name in ("fsync", "synchronous_commit", "full_page_writes")}
    assert settings == {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
