"""Before a meeting: the schedule (meetings, .ics), when checks are due, fresh checks, verdicts, texts, events.

Floor: imports storage, engine and config. ``events`` is what the alert engine may see of it.
"""
