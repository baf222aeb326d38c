"""api keys (issue 21): api_key, api_idempotency, flow_event.api_key_id

Revision ID: 0013_api_keys
Revises: 0012_stats_summary
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0013_api_keys'
down_revision = '0012_stats_summary'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'api_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('party', sa.String(length=10), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=True),
        sa.Column('employer_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('scopes', sa.String(length=300), nullable=False),
        sa.Column('ip_allow', sa.String(length=500), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.Column('last_used_ip', sa.String(length=45), nullable=True),
        sa.ForeignKeyConstraint(['employer_id'], ['employer.id']),
        sa.ForeignKeyConstraint(['revoked_by_id'], ['ab_user.id']),
        sa.ForeignKeyConstraint(['school_id'], ['school.id']),
        sa.ForeignKeyConstraint(['user_id'], ['ab_user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('prefix'),
    )
    op.create_index('ix_api_key_party', 'api_key', ['party', 'school_id', 'employer_id'], unique=False)
    op.create_table(
        'api_idempotency',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('api_key_id', sa.Integer(), nullable=False),
        sa.Column('idem_key', sa.String(length=100), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['api_key_id'], ['api_key.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('api_key_id', 'idem_key', name='uq_api_idempotency'),
    )
    with op.batch_alter_table('flow_event') as batch:
        batch.add_column(sa.Column('api_key_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_flow_event_api_key_id', 'api_key', ['api_key_id'], ['id'])


def downgrade():
    with op.batch_alter_table('flow_event') as batch:
        batch.drop_constraint('fk_flow_event_api_key_id', type_='foreignkey')
        batch.drop_column('api_key_id')
    op.drop_table('api_idempotency')
    op.drop_index('ix_api_key_party', table_name='api_key')
    op.drop_table('api_key')
