"""Refusals of unauthenticated callers: a count and a digest per source and code, not the body."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the ``refusals`` table."""
    op.create_table(
        "refusals",
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("claimed_device", sa.Text),
        sa.Column("last_digest", sa.LargeBinary, nullable=False),
        sa.Column("first_at", sa.BigInteger, nullable=False),
        sa.Column("last_at", sa.BigInteger, nullable=False),
        sa.Column("alerted_at", sa.BigInteger),
    )
