"""stats summary: stats_student, stats_cell, stats_day, the stats_change log and its triggers
(app.summary), and the live agreements' credit-code index

Revision ID: 0012_stats_summary
Revises: 0011_job_market
Create Date: 2026-12-01 22:00:00

The summary starts from a change log naming every graduate and every counted FlowEvent, so it is
complete after the first refresh; `flask stats rebuild` (run by `make migrate`) does it at once.
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_stats_summary'
down_revision = '0011_job_market'
branch_labels = None
depends_on = None


def _dimensions():
    return [sa.Column('graduation_year', sa.Integer(), nullable=False),
            sa.Column('school_id', sa.Integer(), nullable=False),
            sa.Column('department', sa.String(length=100), nullable=False),
            sa.Column('major', sa.String(length=100), nullable=False),
            sa.Column('education', sa.String(length=10), nullable=False),
            sa.Column('gender', sa.String(length=1), nullable=False),
            sa.Column('a_kind', sa.String(length=10), nullable=False),
            sa.Column('a_status', sa.String(length=20), nullable=False),
            sa.Column('work_region', sa.String(length=6), nullable=False),
            sa.Column('nature', sa.String(length=2), nullable=False),
            sa.Column('d_kind', sa.String(length=2), nullable=False),
            sa.Column('d_status', sa.String(length=10), nullable=False)]


DIMENSIONS = ('graduation_year', 'school_id', 'department', 'major', 'education', 'gender', 'a_kind', 'a_status',
              'work_region', 'nature', 'd_kind', 'd_status')


def upgrade():
    op.create_table('stats_student', sa.Column('student_id', sa.Integer(), nullable=False), *_dimensions(),
                    sa.PrimaryKeyConstraint('student_id'))
    op.create_table('stats_cell', sa.Column('id', sa.Integer(), nullable=False), *_dimensions(),
                    sa.Column('n', sa.Integer(), nullable=False), sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint(*DIMENSIONS, name='uq_stats_cell'))
    op.create_index('ix_stats_cell_year_school', 'stats_cell', ['graduation_year', 'school_id'], unique=False)
    op.create_table('stats_day',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('graduation_year', sa.Integer(), nullable=False),
                    sa.Column('school_id', sa.Integer(), nullable=False),
                    sa.Column('day', sa.String(length=10), nullable=False),
                    sa.Column('event', sa.String(length=12), nullable=False),
                    sa.Column('n', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('graduation_year', 'school_id', 'day', 'event', name='uq_stats_day'))
    op.create_table('stats_change',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('student_id', sa.Integer(), nullable=True),
                    sa.Column('flow_event_id', sa.Integer(), nullable=True),
                    sa.Column('created_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                              nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_agreement_live_credit_code', 'agreement', ['employer_credit_code'], unique=False,
                    postgresql_where=sa.text("status IN ('accepted', 'certified')"),
                    sqlite_where=sa.text("status IN ('accepted', 'certified')"))
    from app import summary

    bind = op.get_bind()
    summary.create_triggers(bind)
    op.execute("INSERT INTO stats_change (student_id, created_at) SELECT id, CURRENT_TIMESTAMP FROM student")
    actions = ", ".join(f"'{a}'" for a in summary.DAILY_EVENT)
    op.execute("INSERT INTO stats_change (flow_event_id, created_at) "
               f"SELECT id, CURRENT_TIMESTAMP FROM flow_event WHERE action IN ({actions})")


def downgrade():
    from app import summary

    summary.drop_triggers(op.get_bind())
    op.drop_index('ix_agreement_live_credit_code', table_name='agreement',
                  postgresql_where=sa.text("status IN ('accepted', 'certified')"),
                  sqlite_where=sa.text("status IN ('accepted', 'certified')"))
    op.drop_table('stats_change')
    op.drop_table('stats_day')
    op.drop_index('ix_stats_cell_year_school', table_name='stats_cell')
    op.drop_table('stats_cell')
    op.drop_table('stats_student')
