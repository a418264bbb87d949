"""Casework: persons, device assignments, zones, the review queue (and its sealed images) and
the webhook outbox."""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add ``persons``, ``assignments``, ``zones``, ``reviews``, ``review_cursors``,
    ``review_images``, ``webhooks`` and ``webhook_outbox``."""
    _people()
    _reviews()
    _webhooks()
    op.create_table(
        "review_images",
        sa.Column("device_id", sa.Text, sa.ForeignKey("devices.device_id"), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("frame", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("captured_at", sa.BigInteger, nullable=False),
        sa.Column("imported_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )


def _people() -> None:
    op.create_table(
        "persons",
        sa.Column("id", ID, sa.Identity(always=True), primary_key=True),
        sa.Column("case_number", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("languages", sa.Text, nullable=False),
        sa.Column("officer", sa.Text),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("case_number", name="persons_case_number_key"),
    )
    op.create_table(
        "assignments",
        sa.Column("id", ID, sa.Identity(always=True), primary_key=True),
        sa.Column("person_id", sa.BigInteger, sa.ForeignKey("persons.id"), nullable=False),
        sa.Column("device_id", sa.Text, sa.ForeignKey("devices.device_id"), nullable=False),
        sa.Column("start_at", sa.BigInteger, nullable=False),
        sa.Column("end_at", sa.BigInteger),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("assignments_person", "assignments", ["person_id", "start_at"])
    op.create_index("assignments_device", "assignments", ["device_id", "start_at"])
    op.create_table(
        "zones",
        sa.Column("id", ID, sa.Identity(always=True), primary_key=True),
        sa.Column("person_id", sa.BigInteger, sa.ForeignKey("persons.id"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("geometry", sa.Text, nullable=False),
        sa.Column("hours", sa.Text, nullable=False),
        sa.Column("timezone", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
    )


def _reviews() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", ID, sa.Identity(always=True), primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("device_id", sa.Text),
        sa.Column("person_id", sa.BigInteger),
        sa.Column("seq", sa.BigInteger),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("decision", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("decided_by", sa.Text),
        sa.Column("decided_at", sa.BigInteger),
        sa.UniqueConstraint("source", name="reviews_source_key"),
    )
    op.create_index("reviews_open", "reviews", ["decided_at", "id"])
    op.create_table(
        "review_cursors",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
    )


def _webhooks() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", ID, sa.Identity(always=True), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("disabled_at", sa.BigInteger),
    )
    op.create_table(
        "webhook_outbox",
        sa.Column("webhook_id", sa.BigInteger, sa.ForeignKey("webhooks.id"), primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_at", sa.BigInteger, nullable=False),
        sa.Column("delivered_at", sa.BigInteger),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("webhook_outbox_due", "webhook_outbox", ["delivered_at", "next_at"])
