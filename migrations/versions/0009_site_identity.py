"""site_identity: 联盟标识 (the alliance name and logo in every page header, app/identity.py)

Revision ID: 0009_site_identity
Revises: 0008_outbox_retries
Create Date: 2026-12-01 18:01:58.596862

"""
from alembic import op
import sqlalchemy as sa


revision = '0009_site_identity'
down_revision = '0008_outbox_retries'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('site_identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alliance_name', sa.String(length=40), nullable=False),
    sa.Column('logo_path', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade():
    op.drop_table('site_identity')
