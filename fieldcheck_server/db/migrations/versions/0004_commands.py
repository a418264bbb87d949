"""Signed commands queued for units: pending until delivered in an upload answer, then answered."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``commands``."""
    op.create_table(
        "commands",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("device_id", sa.Text, sa.ForeignKey("devices.device_id"), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("cose", sa.LargeBinary, nullable=False),
        sa.Column("issued_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("delivered_at", sa.BigInteger),
        sa.Column("answered_at", sa.BigInteger),
        sa.Column("outcome", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("answer_seq", sa.BigInteger),
        sa.UniqueConstraint("device_id", "seq", name="commands_device_id_seq_key"),
    )
