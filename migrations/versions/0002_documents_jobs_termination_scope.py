"""documents, jobs, exports, termination scope

Revision ID: 0002_documents_jobs
Revises: 0001_initial
Create Date: 2026-11-27 02:53:29.320322

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_documents_jobs'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('agreement_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agreement_id', 'fingerprint', name='uq_agreement_document')
    )
    with op.batch_alter_table('agreement_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_document_agreement_id'), ['agreement_id'], unique=False)

    op.create_table('export_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('what', sa.String(length=50), nullable=False),
    sa.Column('filters', sa.Text(), nullable=True),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('export_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_audit_user_id'), ['user_id'], unique=False)

    op.create_table('job_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=True),
    sa.Column('params', sa.Text(), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('rq_job_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.create_index('ix_job_run_user', ['user_id', 'created_at'], unique=False)

    with op.batch_alter_table('agreement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proof_path', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('check_code', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('content_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('expiry_reminded_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('review_reminded_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('destination', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=False,
                                      server_default=sa.func.current_timestamp()))
        batch_op.add_column(sa.Column('review_reminded_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_destination_school_status', ['school_id', 'status', 'created_at'], unique=False)

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.String(length=500), nullable=True))

    # Termination gets its parties copied from the agreement: add nullable, backfill, then tighten.
    with op.batch_alter_table('termination', schema=None) as batch_op:
        batch_op.add_column(sa.Column('student_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('school_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('employer_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=False,
                                      server_default=sa.func.current_timestamp()))
        batch_op.add_column(sa.Column('reminded_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('review_reminded_at', sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE termination SET "
        "student_id = (SELECT a.student_id FROM agreement a WHERE a.id = termination.agreement_id), "
        "school_id = (SELECT a.school_id FROM agreement a WHERE a.id = termination.agreement_id), "
        "employer_id = (SELECT a.employer_id FROM agreement a WHERE a.id = termination.agreement_id)"
    )
    with op.batch_alter_table('termination', schema=None) as batch_op:
        batch_op.alter_column('student_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('school_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index('ix_termination_employer_status', ['employer_id', 'status', 'created_at'], unique=False)
        batch_op.create_index('ix_termination_school_status', ['school_id', 'status', 'created_at'], unique=False)
        batch_op.create_index('ix_termination_student', ['student_id', 'status'], unique=False)
        batch_op.create_foreign_key('fk_termination_student', 'student', ['student_id'], ['id'])
        batch_op.create_foreign_key('fk_termination_employer', 'employer', ['employer_id'], ['id'])
        batch_op.create_foreign_key('fk_termination_school', 'school', ['school_id'], ['id'])

    # ### end Alembic commands ###


def downgrade():
    with op.batch_alter_table('termination', schema=None) as batch_op:
        batch_op.drop_constraint('fk_termination_school', type_='foreignkey')
        batch_op.drop_constraint('fk_termination_employer', type_='foreignkey')
        batch_op.drop_constraint('fk_termination_student', type_='foreignkey')
        batch_op.drop_index('ix_termination_student')
        batch_op.drop_index('ix_termination_school_status')
        batch_op.drop_index('ix_termination_employer_status')
        batch_op.drop_column('review_reminded_at')
        batch_op.drop_column('reminded_at')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('employer_id')
        batch_op.drop_column('school_id')
        batch_op.drop_column('student_id')

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('last_error')
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('attempts')

    with op.batch_alter_table('destination', schema=None) as batch_op:
        batch_op.drop_index('ix_destination_school_status')
        batch_op.drop_column('review_reminded_at')
        batch_op.drop_column('updated_at')

    with op.batch_alter_table('agreement', schema=None) as batch_op:
        batch_op.drop_column('review_reminded_at')
        batch_op.drop_column('expiry_reminded_at')
        batch_op.drop_column('content_hash')
        batch_op.drop_column('check_code')
        batch_op.drop_column('proof_path')

    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.drop_index('ix_job_run_user')

    op.drop_table('job_run')
    with op.batch_alter_table('export_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_audit_user_id'))

    op.drop_table('export_audit')
    with op.batch_alter_table('agreement_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_document_agreement_id'))

    op.drop_table('agreement_document')
    # ### end Alembic commands ###
