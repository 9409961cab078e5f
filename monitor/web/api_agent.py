"""GET /api/v1/status/agent: which sites this agent owns and who holds each of its scopes' leases (issue 17).

    {"agent": "hn-1", "scopes": ["ha-noi"], "shard": "0/2", "sites_owned": 63, "sites_total": 3356,
     "leases": [{"scope": "ha-noi:0/2", "sites": 63, "held": true, "holder": "hn-1",
                 "acquired_at": "2026-12-02T07:00:03Z", "expires_at": "2026-12-02T07:20:18Z"}]}

``held`` is this agent's own view (it acts for the scope: alert evaluation, readiness announcements, outbox
delivery); ``holder`` the row as last read from the database (the other agent's name on a standby). On SQLite
the agent holds every scope and the times are null. GET /api/v1/status gives the same per site (``agent``,
``scope``, ``lease_holder``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web
from pydantic import BaseModel, Field

from monitor.config.models import Config
from monitor.engine.ownership import Ownership
from monitor.storage.leases import Leases
from monitor.web.common import json_answer

OWNERSHIP: web.AppKey[Callable[[], Ownership]] = web.AppKey("ownership")
LEASES: web.AppKey[Leases] = web.AppKey("leases", Leases)


class LeaseOut(BaseModel):
    scope: str = Field(description="the lease unit: SCOPE, SCOPE:K/N, or * for the whole inventory")
    sites: int = Field(description="sites of this agent under the unit")
    held: bool = Field(description="this agent holds the lease now and acts for the unit")
    holder: str | None = Field(description="the agent holding it as last read; null when nobody does")
    acquired_at: datetime | None
    expires_at: datetime | None


class AgentOut(BaseModel):
    agent: str
    scopes: list[str] = Field(description="the --scope site ids; empty = the whole inventory")
    shard: str | None = Field(description="K/N of --shard, or null")
    sites_owned: int
    sites_total: int
    leases: list[LeaseOut]


def _utc(moment: float | None) -> datetime | None:
    return datetime.fromtimestamp(moment, UTC) if moment is not None else None


def agent_status(config: Config, ownership: Ownership, leases: Leases) -> AgentOut:
    held = leases.held
    counts = ownership.count_by_unit()
    return AgentOut(
        agent=ownership.spec.agent,
        scopes=list(ownership.spec.scopes),
        shard=str(ownership.spec.shard) if ownership.spec.shard is not None else None,
        sites_owned=len(ownership.lease_of),
        sites_total=len(config.sites),
        leases=[
            LeaseOut(
                scope=info.scope,
                sites=counts.get(info.scope, 0),
                held=info.scope in held,
                holder=info.holder,
                acquired_at=_utc(info.acquired_at),
                expires_at=_utc(info.expires_at),
            )
            for info in leases.status()
        ],
    )


def add_agent_routes(
    app: web.Application, *, config: Callable[[], Config], ownership: Callable[[], Ownership], leases: Leases
) -> None:
    app[OWNERSHIP] = ownership
    app[LEASES] = leases

    async def show(request: web.Request) -> web.Response:
        return json_answer(agent_status(config(), ownership(), leases))

    app.router.add_get("/status/agent", show)
