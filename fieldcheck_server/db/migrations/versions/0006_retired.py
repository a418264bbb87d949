"""Retired units: ``devices.retired_at``, set when a unit's signed decommissioned record arrives."""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``devices.retired_at``."""
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("retired_at", sa.BigInteger))


def downgrade() -> None:
    """Drop ``devices.retired_at``."""
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("retired_at")
