"""What runs the probes: the targets derived from the inventory, the scheduler, and the live state they fill.

Floor: imports monitor.config and probes.
"""
