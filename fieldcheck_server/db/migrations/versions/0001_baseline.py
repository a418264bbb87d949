"""Baseline: the schema the server had before migrations (devices, records, evidence, nonces).

A database created by that server (``meta.schema_version`` = 1, no ``alembic_version``) is
stamped at this revision instead of running it; see ``fieldcheck_server.db.migrate``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the baseline tables."""
    op.create_table(
        "meta",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "devices",
        sa.Column("device_id", sa.Text, primary_key=True),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("registered_at", sa.BigInteger, nullable=False),
        sa.Column("revoked_at", sa.BigInteger),
    )
    op.create_table(
        "records",
        sa.Column("device_id", sa.Text, sa.ForeignKey("devices.device_id"), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("cose", sa.LargeBinary, nullable=False),
        sa.Column("record_hash", sa.LargeBinary, nullable=False),
        sa.Column("prev_hash", sa.LargeBinary, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("device_time", sa.BigInteger, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", ID, sa.Identity(always=True), primary_key=True),
        sa.Column("device_id", sa.Text),
        sa.Column("seq", sa.BigInteger),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("raw_size", sa.BigInteger, nullable=False),
        sa.Column("digest", sa.LargeBinary, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.UniqueConstraint("code", "digest", name="quarantine_code_digest_key"),
    )
    op.create_index("quarantine_device", "quarantine", ["device_id", "seq"])
    op.create_table(
        "alerts",
        sa.Column("id", ID, sa.Identity(always=True), primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("device_id", sa.Text),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("quarantine_id", sa.BigInteger),
    )
    op.create_table(
        "nonces",
        sa.Column("device_id", sa.Text, primary_key=True),
        sa.Column("nonce", sa.Text, primary_key=True),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("nonces_expiry", "nonces", ["expires_at"])
    op.bulk_insert(
        sa.table("meta", sa.column("key"), sa.column("value")),
        [{"key": "schema_version", "value": "1"}],
    )
