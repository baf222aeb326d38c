"""notification: retries by time (next_attempt_at, retry_until), digests (sent_in), claimed_by, waits_for_server, outbox index;
job_run.job_func (重新执行 runs the same function again)

Revision ID: 0008_outbox_retries
Revises: 0007_account_events
Create Date: 2026-12-01 18:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0008_outbox_retries"
down_revision = "0007_account_events"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("retry_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("waits_for_server", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("sent_in", sa.Integer(), nullable=True))
        batch_op.create_index("ix_notification_outbox", ["email_status", "next_attempt_at"], unique=False)
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("job_func", sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_column("job_func")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_outbox")
        batch_op.drop_column("sent_in")
        batch_op.drop_column("waits_for_server")
        batch_op.drop_column("retry_until")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("claimed_by")
