"""A local Zalo: the OA API's message/cs and the OAuth v4 token refresh, in the shapes Zalo documents.

    server = ZaloServer(); await server.start()      # 127.0.0.1, a free port; server.url is both base URLs

    POST /v3.0/oa/message/cs   header access_token; {"recipient": {"user_id": U}, "message": {"text": T}}
        → {"error": 0, "message": "Success", "data": {"message_id": ..., "user_id": U}}
        → {"error": -216, "message": "Access token is invalid"}          (unknown or expired token)
    POST /v4/oa/access_token   header secret_key; form refresh_token, app_id, grant_type=refresh_token
        → {"access_token": ..., "refresh_token": ..., "expires_in": "90000"}
        → {"error": -14014, "error_name": "Invalid refresh token", ...}  (a refresh token is single-use)

Sources of the shapes: alerts/notifiers/zalo.py's docstring. Behaviours per user id: ``fail[user]`` says what
the next requests for that user get ("502", "-32", "429", "-230", "hang"); ``accepted`` lists every message
Zalo would have shown a follower, so a duplicate is visible as a second entry.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from typing import Any

from aiohttp import web

from tests.peers import free_port

APP_ID = "3105000000000000001"
SECRET_KEY = "app-secret-never-shown"
FIRST_REFRESH = "RT-0-first-refresh-token"


class ZaloServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.refresh_token = FIRST_REFRESH  # the one refresh token Zalo accepts now
        self.access_tokens: set[str] = set()  # valid access tokens
        self.accepted: list[tuple[str, str]] = []  # (user id, text) of every message a follower got
        self.refreshes: list[dict[str, str]] = []  # forms of every refresh request
        self.refused_tokens: list[str] = []
        self.fail: dict[str, list[str]] = {}  # user id → behaviours for its next requests, in order
        self.hold_accepted = False  # accept the next message, then answer only when released
        self.held = asyncio.Event()
        self.release = asyncio.Event()
        self._serial = itertools.count(1)  # message ids
        self._generation = itertools.count(1)  # token pairs: AT-n / RT-n
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def expire_access_tokens(self) -> None:
        """Every access token handed out so far stops working (Zalo's 25 h lifetime, or a revocation)."""
        self.access_tokens.clear()

    def counts(self) -> Counter[tuple[str, str]]:
        return Counter(self.accepted)

    async def message_cs(self, request: web.Request) -> web.StreamResponse:
        token = request.headers.get("access_token", "")
        body = await request.json()
        user, text = str(body["recipient"]["user_id"]), str(body["message"]["text"])
        behaviours = self.fail.get(user)
        behaviour = behaviours.pop(0) if behaviours else "ok"
        if behaviour == "hang":
            await asyncio.sleep(3600)
        if behaviour == "502":
            return web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")
        if behaviour == "429":
            return web.Response(status=429, text="slow down", headers={"Retry-After": "7"})
        if token not in self.access_tokens:
            self.refused_tokens.append(token)
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        if behaviour == "-32":
            return web.json_response({"error": -32, "message": "Request exceeded limit per minute"})
        if behaviour == "-230":
            return web.json_response({"error": -230, "message": "User has not interacted with the OA in 7 days"})
        self.accepted.append((user, text))
        if self.hold_accepted:
            self.hold_accepted = False
            self.held.set()
            await self.release.wait()
        data = {"message_id": f"m{next(self._serial)}", "user_id": user}
        return web.json_response({"error": 0, "message": "Success", "data": data})

    async def access_token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.refreshes.append({k: str(v) for k, v in form.items()})
        if request.headers.get("secret_key") != SECRET_KEY:
            return self._oauth_error(-14003, "Invalid secret key")
        if form.get("app_id") != APP_ID or form.get("grant_type") != "refresh_token":
            return self._oauth_error(-14001, "Invalid parameter")
        if form.get("refresh_token") != self.refresh_token:
            return self._oauth_error(-14014, "Invalid refresh token")
        serial = next(self._generation)
        access = f"AT-{serial}"
        self.refresh_token = f"RT-{serial}"  # the old one is retired: single use
        self.access_tokens.add(access)
        return web.json_response({"access_token": access, "refresh_token": self.refresh_token, "expires_in": "90000"})

    @staticmethod
    def _oauth_error(code: int, name: str) -> web.Response:
        body: dict[str, Any] = {"error": code, "error_name": name, "error_reason": name, "error_description": name}
        return web.json_response(body)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v3.0/oa/message/cs", self.message_cs)
        app.router.add_post("/v4/oa/access_token", self.access_token)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()
