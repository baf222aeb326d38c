"""account_event: 账号安全记录 (R18) — contact changes and password resets, old → new masked

Revision ID: 0007_account_events
Revises: 0006_sessions
Create Date: 2026-12-01 16:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0007_account_events"
down_revision = "0006_sessions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "account_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("actor_party", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("old_value", sa.String(length=120), nullable=True),
        sa.Column("new_value", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["ab_user.id"]),
        sa.ForeignKeyConstraint(["student_id"], ["student.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["ab_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("account_event", schema=None) as batch_op:
        batch_op.create_index("ix_account_event_user", ["user_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_account_event_student_id"), ["student_id"], unique=False)
    # Logins still on the ID-derived initial password (marker "initial-password-rule:v1") keep no
    # usable password: their students activate by an SMS code (R18). The marker is not a hash, so
    # nothing accepts it once the rule's check is gone; renaming it makes that explicit.
    op.execute("UPDATE ab_user SET password = '!no-password:activate-by-sms' "
               "WHERE password = 'initial-password-rule:v1'")


def downgrade():
    with op.batch_alter_table("account_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_event_student_id"))
        batch_op.drop_index("ix_account_event_user")
    op.drop_table("account_event")
