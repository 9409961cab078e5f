"""The service's exceptions, one hierarchy.

    GiaobanError
     ├── ConfigError          the inventory cannot be used (exit 2); carries every problem at once
     └── UsageError           a command line or API request that cannot be acted on (exit 2 / HTTP 400)

Faults of the things probed are never exceptions: they are ProbeResult values with a Reason.
"""

from __future__ import annotations


class GiaobanError(Exception):
    pass


class UsageError(GiaobanError):
    pass
