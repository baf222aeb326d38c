"""employer lists from their indexes: 待应约 count, signed agreements in order; logins by party
(load test findings)

Revision ID: 0005_pending_count_index
Revises: 0004_list_indexes
Create Date: 2026-11-27 06:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005_pending_count_index'
down_revision = '0004_list_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agreement', schema=None) as batch_op:
        batch_op.create_index('ix_agreement_employer_pending', ['employer_id', 'expires_at'], unique=False,
                              postgresql_include=['kind'], postgresql_where=sa.text("status = 'pending'"),
                              sqlite_where=sa.text("status = 'pending'"))
        for name, column in (('ix_agreement_employer_signed_sent', 'sent_at'),
                             ('ix_agreement_employer_signed_certified', 'certified_at')):
            batch_op.create_index(name, ['employer_id', column, 'id'], unique=False,
                                  postgresql_where=sa.text("status IN ('certified', 'terminated')"),
                                  sqlite_where=sa.text("status IN ('certified', 'terminated')"))
    with op.batch_alter_table('ab_user', schema=None) as batch_op:
        batch_op.create_index('ix_ab_user_employer_id', ['employer_id'], unique=False)
        batch_op.create_index('ix_ab_user_school_id', ['school_id'], unique=False)


def downgrade():
    with op.batch_alter_table('ab_user', schema=None) as batch_op:
        batch_op.drop_index('ix_ab_user_school_id')
        batch_op.drop_index('ix_ab_user_employer_id')
    with op.batch_alter_table('agreement', schema=None) as batch_op:
        batch_op.drop_index('ix_agreement_employer_signed_certified')
        batch_op.drop_index('ix_agreement_employer_signed_sent')
        batch_op.drop_index('ix_agreement_employer_pending')
