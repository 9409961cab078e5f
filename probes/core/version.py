"""The installed giaoban's version (``giaoban_build_info``, the SIP and HTTP User-Agent)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("giaoban")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+unknown"
