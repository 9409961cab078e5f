"""HTTP on one aiohttp port: /metrics, /probe, /-/ health, the JSON API under /api/v1 and the readiness board.

Floor: beside metrics and dashboards, below the app; sees the running service through ``view.ServiceView``.
"""
