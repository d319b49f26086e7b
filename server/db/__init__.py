"""Storage: SQLAlchemy 2 async models and sessions (SQLite by default, PostgreSQL-ready)."""
