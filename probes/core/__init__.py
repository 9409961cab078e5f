"""The kernel every probe stands on: results, reasons, settings, units, secrets, ids, the version, the context.

It imports nothing else of the project (the import contract in pyproject.toml, docs/architecture.md).
"""
