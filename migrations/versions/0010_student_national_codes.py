"""student national codes: 考生号, 民族, 政治面貌, 专业代码, 生源所在地 from the national 生源 layout

Revision ID: 0010_student_national_codes
Revises: 0009_site_identity
Create Date: 2026-12-01 21:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010_student_national_codes'
down_revision = '0009_site_identity'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('student') as batch:
        batch.add_column(sa.Column('exam_no', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('ethnicity', sa.String(length=2), nullable=True))
        batch.add_column(sa.Column('political', sa.String(length=2), nullable=True))
        batch.add_column(sa.Column('major_code', sa.String(length=12), nullable=True))
        batch.add_column(sa.Column('origin_region', sa.String(length=6), nullable=True))


def downgrade():
    with op.batch_alter_table('student') as batch:
        for column in ('origin_region', 'major_code', 'political', 'ethnicity', 'exam_no'):
            batch.drop_column(column)
