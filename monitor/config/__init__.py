"""The inventory: pydantic models (models), YAML loading with FILE:LINE:COL problems (loader), cross-references.

Floor: imports probes and monitor.errors, plus the alert declarations for the `alerts:` and `notifiers:` sections.
"""
