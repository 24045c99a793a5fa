"""Schema migrations (Alembic): the revisions in versions/ build the database the models describe.

`engine.migrations.schema` runs them from an installed package; env.py is Alembic's entry point.
"""
