"""The running service composed: inventory, shared probe clients, scheduler, alerting, readiness, HTTP, signals.

Floor: imported only by the command line and the demo.
"""
