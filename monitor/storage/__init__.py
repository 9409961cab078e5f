"""The database: one async engine on SQLite or PostgreSQL, its tables and migrations, history, queries, retention.

Floor: imports the engine (targets, results) and the config.
"""
