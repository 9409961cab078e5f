"""What the web floor sees of the running service: a Protocol, so that web never imports the app that composes it.

monitor/app/service.py's Service satisfies it; tests may hand the routes anything of the same shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from monitor.config.models import Config
    from monitor.engine.state import State
    from monitor.storage.database import Storage
    from probes.core.context import ProbeContext


class Exposition(Protocol):
    def render(self) -> bytes: ...

    def render_parts(self) -> list[bytes]: ...


class ServiceView(Protocol):
    """The running service as the routes and the board read it."""

    @property
    def config(self) -> Config: ...

    @property
    def ctx(self) -> ProbeContext: ...

    @property
    def storage(self) -> Storage: ...

    @property
    def state(self) -> State: ...

    @property
    def exposition(self) -> Exposition: ...

    @property
    def ready(self) -> bool: ...

    def problems(self) -> list[str]:
        """Why alerting cannot run now, one sentence each; empty when it can."""
        ...

    def degraded(self) -> list[str]:
        """What runs in a degraded way though alerting can run (the centre unreachable, the spool used)."""
        ...

    async def reload(self) -> list[str]:
        """Re-read the inventory; the problems, or an empty list when it took effect."""
        ...
