"""The `giaoban` command (also `python -m monitor`): one module per group of subcommands.

Floor: the top, with the demo; the only floors that compose the service (monitor.app).
"""
