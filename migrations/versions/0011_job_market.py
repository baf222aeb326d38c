"""网上就业市场 (issue 19, R16, R17): job postings, schools hiding them, applications, résumés,
saved postings; FlowEvents of postings and applications; the application an invite-list entry
came from. On PostgreSQL the keyword search uses a pg_trgm GIN index.

Revision ID: 0011_job_market
Revises: 0010_student_national_codes
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_job_market'
down_revision = '0010_student_national_codes'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table('job_posting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employer_id', sa.Integer(), nullable=False),
    sa.Column('employer_name', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('job_category', sa.String(length=50), nullable=False),
    sa.Column('headcount', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('province_code', sa.String(length=6), nullable=False),
    sa.Column('city_code', sa.String(length=6), nullable=False),
    sa.Column('salary_min', sa.Integer(), nullable=False),
    sa.Column('salary_max', sa.Integer(), nullable=False),
    sa.Column('education', sa.String(length=10), nullable=False),
    sa.Column('major', sa.String(length=200), nullable=True),
    sa.Column('major_class', sa.String(length=20), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('closes_at', sa.DateTime(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('contact_name', sa.String(length=50), nullable=False),
    sa.Column('contact_phone', sa.String(length=20), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['employer_id'], ['employer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_job_posting_city', 'job_posting', ['city_code', 'status'], unique=False)
    op.create_index('ix_job_posting_employer', 'job_posting', ['employer_id', 'status', 'id'], unique=False)
    op.create_index('ix_job_posting_open_closes', 'job_posting', ['closes_at'], unique=False,
                    postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))
    op.create_index('ix_job_posting_open_published', 'job_posting', ['published_at'], unique=False,
                    postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))
    op.create_index('ix_job_posting_province', 'job_posting', ['province_code', 'status'], unique=False)
    op.create_index('ix_job_posting_search_trgm', 'job_posting', ['search_text'], unique=False,
                    postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'})
    op.create_table('posting_hide',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('posting_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['posting_id'], ['job_posting.id'], ),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('posting_id', 'school_id', name='uq_posting_hide')
    )
    op.create_index('ix_posting_hide_school', 'posting_hide', ['school_id', 'status'], unique=False)
    op.create_table('job_application',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('posting_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('employer_id', sa.Integer(), nullable=False),
    sa.Column('cover_note', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], ),
    sa.ForeignKeyConstraint(['employer_id'], ['employer.id'], ),
    sa.ForeignKeyConstraint(['posting_id'], ['job_posting.id'], ),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], ),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('posting_id', 'student_id', name='uq_job_application')
    )
    op.create_index('ix_job_application_employer', 'job_application', ['employer_id', 'status'], unique=False)
    op.create_index('ix_job_application_posting', 'job_application', ['posting_id', 'status', 'id'], unique=False)
    op.create_index('ix_job_application_school', 'job_application', ['school_id', 'status'], unique=False)
    op.create_index('ix_job_application_student', 'job_application', ['student_id', 'id'], unique=False)
    op.create_table('resume',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('education', sa.Text(), nullable=True),
    sa.Column('skills', sa.Text(), nullable=True),
    sa.Column('internships', sa.Text(), nullable=True),
    sa.Column('awards', sa.Text(), nullable=True),
    sa.Column('pdf_path', sa.String(length=300), nullable=True),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('student_id')
    )
    op.create_table('posting_favorite',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('posting_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['posting_id'], ['job_posting.id'], ),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('student_id', 'posting_id', name='uq_posting_favorite')
    )
    with op.batch_alter_table('flow_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('posting_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('application_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_flow_event_posting_id', ['posting_id'], unique=False)
        batch_op.create_index('ix_flow_event_application_id', ['application_id'], unique=False)
        batch_op.create_foreign_key('fk_flow_event_posting', 'job_posting', ['posting_id'], ['id'])
        batch_op.create_foreign_key('fk_flow_event_application', 'job_application', ['application_id'], ['id'])
    with op.batch_alter_table('invite_list_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('application_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_invite_list_application', 'job_application', ['application_id'], ['id'])


def downgrade():
    with op.batch_alter_table('invite_list_entry', schema=None) as batch_op:
        batch_op.drop_constraint('fk_invite_list_application', type_='foreignkey')
        batch_op.drop_column('application_id')
    with op.batch_alter_table('flow_event', schema=None) as batch_op:
        batch_op.drop_constraint('fk_flow_event_application', type_='foreignkey')
        batch_op.drop_constraint('fk_flow_event_posting', type_='foreignkey')
        batch_op.drop_index('ix_flow_event_application_id')
        batch_op.drop_index('ix_flow_event_posting_id')
        batch_op.drop_column('application_id')
        batch_op.drop_column('posting_id')
    op.drop_table('posting_favorite')
    op.drop_table('resume')
    op.drop_index('ix_job_application_student', table_name='job_application')
    op.drop_index('ix_job_application_school', table_name='job_application')
    op.drop_index('ix_job_application_posting', table_name='job_application')
    op.drop_index('ix_job_application_employer', table_name='job_application')
    op.drop_table('job_application')
    op.drop_index('ix_posting_hide_school', table_name='posting_hide')
    op.drop_table('posting_hide')
    op.drop_index('ix_job_posting_search_trgm', table_name='job_posting', postgresql_using='gin')
    op.drop_index('ix_job_posting_province', table_name='job_posting')
    op.drop_index('ix_job_posting_open_published', table_name='job_posting')
    op.drop_index('ix_job_posting_open_closes', table_name='job_posting')
    op.drop_index('ix_job_posting_employer', table_name='job_posting')
    op.drop_index('ix_job_posting_city', table_name='job_posting')
    op.drop_table('job_posting')
