# pysnmp ships no type information.
# mypy: disable-error-code="import-untyped"
"""The one boundary where pysnmp's errors become reason codes: errorIndication and errorStatus → ProbeFailed.

    RequestTimedOut                         TIMEOUT         v1/v2c: "wrong community or agent down?" (agents
                                                            drop an unknown community without a word)
    UnknownUserName                         PERMISSION      usmStatsUnknownUserNames
    WrongDigest, Authentication*            PERMISSION      wrong auth_key or auth protocol (usmStatsWrongDigests)
    DecryptionError                         PERMISSION      wrong priv_key or priv protocol (usmStatsDecryptionErrors)
    UnsupportedSecurityLevel                PERMISSION      usmStatsUnsupportedSecLevels
    errorStatus authorizationError/noAccess PERMISSION      the agent's view refuses the read
    UnknownEngineID, NotInTimeWindow        PROTOCOL_ERROR  after pysnmp's own re-discovery failed
    any other indication or errorStatus     PROTOCOL_ERROR  named

A wrong priv_key with AES is silence too (net-snmp drops what it cannot decrypt); probes/snmp/poller.py tells
it apart from a dead agent by asking for the engine ID.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pysnmp.proto import errind

from probes.core.result import ProbeFailed, Reason

if TYPE_CHECKING:
    from probes.snmp.session import Credentials, Oid

NO_SUCH_NAME, TOO_BIG = 2, 1  # error-status values the requests handle themselves (SNMPv1 GET, splitting)
# RFC 3416 §3 error-status names, for messages.
_STATUS_NAMES = [
    "noError",
    "tooBig",
    "noSuchName",
    "badValue",
    "readOnly",
    "genErr",
    "noAccess",
    "wrongType",
    "wrongLength",
    "wrongEncoding",
    "wrongValue",
    "noCreation",
    "inconsistentValue",
    "resourceUnavailable",
    "commitFailed",
    "undoFailed",
    "authorizationError",
    "notWritable",
    "inconsistentName",
]


def failure_of(
    indication: Any, status: int, index: int, oids: Sequence[Oid], *, who: str, creds: Credentials
) -> ProbeFailed:
    """The one boundary: pysnmp's errorIndication / errorStatus → reason code and a sentence."""
    if isinstance(indication, errind.RequestTimedOut):
        why = "wrong community or agent down?" if creds.version != "3" else "agent down or UDP blocked?"
        return ProbeFailed(Reason.TIMEOUT, f"no answer from {who}: {why}")
    if isinstance(indication, errind.UnknownUserName):
        return ProbeFailed(
            Reason.PERMISSION, f"{who} does not know SNMPv3 user {creds.user!r} (usmStatsUnknownUserNames)"
        )
    if isinstance(indication, errind.WrongDigest | errind.AuthenticationFailure | errind.AuthenticationError):
        return ProbeFailed(
            Reason.PERMISSION,
            f"{who} rejects the authentication of user {creds.user!r}: wrong auth_key or auth protocol "
            f"({creds.auth}) (usmStatsWrongDigests)",
        )
    if isinstance(indication, errind.DecryptionError):
        return ProbeFailed(
            Reason.PERMISSION,
            f"{who} cannot decrypt our requests: wrong priv_key or priv protocol ({creds.priv}) "
            "(usmStatsDecryptionErrors)",
        )
    if isinstance(indication, errind.UnsupportedSecurityLevel):
        return ProbeFailed(
            Reason.PERMISSION,
            f"{who} does not allow {creds.level()} for user {creds.user!r} (usmStatsUnsupportedSecLevels)",
        )
    if isinstance(indication, errind.UnknownCommunityName):
        return ProbeFailed(Reason.PERMISSION, f"{who} does not accept the community")
    if isinstance(indication, errind.UnknownEngineID | errind.NotInTimeWindow):
        return ProbeFailed(
            Reason.PROTOCOL_ERROR,
            f"{who} keeps rejecting our SNMPv3 engine ID or time ({indication}); if the agent was re-installed, "
            "its new engine ID is learnt within 5 minutes (pysnmp's engine ID cache)",
        )
    if indication:
        return ProbeFailed(Reason.PROTOCOL_ERROR, f"SNMP error talking to {who}: {indication}")
    name = _STATUS_NAMES[status] if 0 <= status < len(_STATUS_NAMES) else f"error-status {status}"
    at = f" at {'.'.join(map(str, oids[index - 1]))}" if 0 < index <= len(oids) else ""
    if name in ("authorizationError", "noAccess"):
        return ProbeFailed(
            Reason.PERMISSION, f"{who} refused access ({name}{at}): its view does not let this community/user read it"
        )
    return ProbeFailed(Reason.PROTOCOL_ERROR, f"{who} answered {name}{at}")
