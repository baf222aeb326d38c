"""server-side sessions (user_session), login events and the per-account lockout (issue 16)

Revision ID: 0006_sessions
Revises: 0005_pending_count_index
Create Date: 2026-12-01 16:03:04

"""
from alembic import op
import sqlalchemy as sa


revision = '0006_sessions'
down_revision = '0005_pending_count_index'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_event', schema=None) as batch_op:
        batch_op.create_index('ix_login_event_user', ['user_id', 'created_at'], unique=False)

    op.create_table('user_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('end_reason', sa.String(length=20), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.create_index('ix_user_session_user', ['user_id', 'ended_at'], unique=False)

    with op.batch_alter_table('ab_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('lock_count', sa.Integer(), server_default=sa.text('0'), nullable=False))
    # FAB counted failures without ever locking: the lockout counts from zero, so nobody is locked
    # at the first attempt after the upgrade.
    op.execute("UPDATE ab_user SET fail_login_count = 0 WHERE fail_login_count IS NOT NULL")


def downgrade():
    with op.batch_alter_table('ab_user', schema=None) as batch_op:
        batch_op.drop_column('lock_count')
        batch_op.drop_column('locked_until')

    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index('ix_user_session_user')

    op.drop_table('user_session')
    with op.batch_alter_table('login_event', schema=None) as batch_op:
        batch_op.drop_index('ix_login_event_user')

    op.drop_table('login_event')
