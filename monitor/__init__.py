"""giaoban: readiness monitoring for the briefings of a province and its communes over the TSLCD network.

The floors of the service and what each may import are drawn in docs/architecture.md.
"""

from __future__ import annotations

from probes.core.version import __version__

__all__ = ["__version__"]
