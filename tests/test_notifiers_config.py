"""The notifiers: config entries: the union is generated from NOTIFIERS, and bad entries get clear messages."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from alerts.notifiers import NOTIFIERS
from alerts.notifiers.config import SEVERITIES, NotifierConfig
from alerts.notifiers.email import EmailSettings

NOTIFIER: TypeAdapter[Any] = TypeAdapter(NotifierConfig)

# The smallest valid entry of each kind; a new kind adds one line here (test_every_kind_has_a_minimal_entry).
MINIMAL: dict[str, dict[str, Any]] = {
    "alertmanager": {"url": "http://127.0.0.1:9093"},
    "webhook": {"url": "https://127.0.0.1:8443/hook"},
    "email": {"from": "giaoban@example.org", "smtp": {"host": "127.0.0.1"}},
    "telegram": {"bot_token": {"env": "TG_TOKEN"}},
    "zalo": {
        "app_id": "1234567890",
        "secret_key": {"env": "ZALO_SECRET"},
        "refresh_token": {"env": "ZALO_REFRESH"},
        "state_file": "/var/lib/giaoban/zalo.json",
    },
}


def entry(kind: str, **changes: Any) -> dict[str, Any]:
    return {"id": "n1", "kind": kind, **MINIMAL[kind], **changes}


def messages(data: dict[str, Any]) -> list[str]:
    """Each validation error as 'loc: message', the way the config loader shows them."""
    with pytest.raises(ValidationError) as caught:
        NOTIFIER.validate_python(data)
    return [".".join(str(p) for p in error["loc"]) + ": " + error["msg"] for error in caught.value.errors()]


def test_every_kind_has_a_minimal_entry() -> None:
    """The table below must follow the registry, or a new kind would go untested here."""
    assert set(MINIMAL) == set(NOTIFIERS)


@pytest.mark.parametrize("kind", sorted(NOTIFIERS))
def test_every_kind_is_a_notifier_kind(kind: str) -> None:
    """A registered kind validates into an object its own send() takes (an instance of its settings model)."""
    notifier: Any = NOTIFIER.validate_python(entry(kind))
    assert notifier.kind == kind and notifier.id == "n1"
    assert isinstance(notifier, NOTIFIERS[kind].settings)
    assert list(notifier.severities) == list(SEVERITIES)  # routing by severity: everything unless narrowed


def test_no_other_kind_validates() -> None:
    """The union's tags are exactly the registry's, and an unknown kind is refused naming the known ones."""
    with pytest.raises(ValidationError) as caught:
        NOTIFIER.validate_python({"id": "n1", "kind": "sms", "url": "http://127.0.0.1:1"})
    (error,) = caught.value.errors()
    assert error["type"] == "union_tag_invalid"
    tags = {tag.strip().strip("'") for tag in str(error["ctx"]["expected_tags"]).split(",")}
    assert tags == set(NOTIFIERS)
    assert "'sms'" in error["msg"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            {"id": "am", "kind": "alertmanager", "url": "http://127.0.0.1:9093", "urls": ["http://127.0.0.1:9093/"]},
            "alertmanager: Value error, list each Alertmanager once (url and urls together)",
            id="alertmanager-member-twice",
        ),
        pytest.param(
            {"id": "am", "kind": "alertmanager"},
            "alertmanager: Value error, give url (one Alertmanager) or urls (every member of a cluster)",
            id="missing-url",
        ),
        pytest.param(
            entry("webhook", url="ops.example/hook"),
            "webhook.url: Value error, 'ops.example/hook' is not a URL; write http://HOST[:PORT][/PATH] or https://...",
            id="url-without-scheme",
        ),
        pytest.param(
            entry("telegram", bot_token="123456:AAH-inline"),
            "telegram.bot_token: Value error, write a secret as {env: NAME} or {file: PATH}, never the value itself",
            id="inline-secret",
        ),
        pytest.param(
            entry("webhook", secret={"env": "A", "file": "/run/b"}),
            "webhook.secret: Value error, a secret needs exactly one of env: NAME or file: PATH",
            id="secret-env-and-file",
        ),
        pytest.param(
            entry("webhook", severity=["critical"]),
            "webhook.severity: Extra inputs are not permitted",
            id="unknown-key",
        ),
        pytest.param(
            entry("webhook", severities=["critical", "page"]),
            "webhook.severities.1: Input should be 'critical', 'warning' or 'info'",
            id="unknown-severity",
        ),
        pytest.param(
            entry("webhook", severities=[]),
            "webhook.severities: List should have at least 1 item after validation, not 0",
            id="no-severity",
        ),
        pytest.param(
            entry("alertmanager", id="Tân Thịnh"),
            "alertmanager.id: Value error, 'Tân Thịnh' is not a valid id; use lower-case letters, digits, '-' and '_' "
            "(e.g. tan-thinh), at most 64 characters, starting and ending with a letter or digit",
            id="bad-id",
        ),
        pytest.param(
            {"id": "mail", "kind": "email", "smtp": {"host": "127.0.0.1"}},
            "email.from: Field required",
            id="email-without-from",
        ),
        pytest.param(
            entry("email", smtp={"host": "127.0.0.1", "tls": True, "starttls": True}),
            "email.smtp: Value error, tls: true (implicit TLS) and starttls: true exclude each other; "
            "set starttls: false",
            id="tls-and-starttls",
        ),
        pytest.param(
            entry("email", to=["admin"]),
            "email.to.0: Value error, 'admin' is not an e-mail address; write giaoban@example.org or "
            "'Giao ban <giaoban@...>'",
            id="bad-address",
        ),
        pytest.param(
            entry("email", smtp={"host": "127.0.0.1", "password": {"env": "P"}}),
            "email.smtp: Value error, password: needs user:",
            id="password-without-user",
        ),
    ],
)
def test_bad_entry_is_refused_with_a_clear_message(data: dict[str, Any], expected: str) -> None:
    """Each mistake a user can make is refused with a message that says what to write instead."""
    assert messages(data) == [expected]


def test_email_port_follows_the_tls_mode() -> None:
    """Implicit TLS alone means port 465 and no STARTTLS; plain submission defaults to 587 with STARTTLS."""
    implicit: Any = NOTIFIER.validate_python(entry("email", smtp={"host": "127.0.0.1", "tls": True}))
    assert (implicit.smtp.effective_port, implicit.smtp.uses_starttls) == (465, False)
    submission: Any = NOTIFIER.validate_python(entry("email"))
    assert (submission.smtp.effective_port, submission.smtp.uses_starttls) == (587, True)


def test_email_from_is_a_python_name_too() -> None:
    """The inventory writes `from:`; code builds the settings with `sender=` (a keyword in Python)."""
    built = EmailSettings(sender="giaoban@example.org", smtp={"host": "127.0.0.1"})  # type: ignore[arg-type]
    assert built.sender == "giaoban@example.org"


def test_telegram_chat_ids_written_as_numbers_become_text() -> None:
    """YAML reads -1001234 as a number; chat ids are compared as text with the technicians' ones."""
    notifier: Any = NOTIFIER.validate_python(entry("telegram", chat_ids=[-1001234, "@ops_channel"]))
    assert notifier.chat_ids == ["-1001234", "@ops_channel"]


def test_severities_narrow_what_a_notifier_carries() -> None:
    """Routing by severity: a notifier for critical alerts only does not carry warnings."""
    notifier: Any = NOTIFIER.validate_python(entry("telegram", severities=["critical"]))
    assert notifier.carries("critical") and not notifier.carries("warning")
