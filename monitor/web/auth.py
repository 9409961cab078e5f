"""Bearer-token check for every write (POST/DELETE): constant-time, token from {env:} or {file:} only."""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from probes.core.secrets import Secret, SecretUnavailable

log = logging.getLogger(__name__)


def check_token(request: web.Request, secret: Secret | None) -> web.Response | None:
    """None if the request carries the configured bearer token; else the JSON response to send."""
    if secret is None:
        return web.json_response(
            {"error": "writes are disabled: set api.token ({env: NAME} or {file: PATH}) in the config"}, status=403
        )
    try:
        expected = secret.reveal().encode()
    except SecretUnavailable as exc:
        log.error("api.token cannot be read: %s", exc)
        return web.json_response({"error": "the API token is configured but cannot be read; see the log"}, status=503)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # aiohttp decodes header bytes as latin-1: encoding back gives the bytes sent, which a UTF-8 token is.
    try:
        given_bytes = given.strip().encode("latin-1")
    except UnicodeEncodeError:
        given_bytes = b""
    if scheme.lower() != "bearer" or not given_bytes or not hmac.compare_digest(given_bytes, expected):
        return web.json_response(
            {"error": "missing or wrong bearer token"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="giaoban"'},
        )
    return None
