"""The inventory's ``notifiers:`` entries: a discriminated union on ``kind``, generated from NOTIFIERS.

Every entry has ``id``, ``kind`` and ``severities`` (which alerts it carries; all three by default), plus its
kind's own settings mixed in at the top level::

    notifiers:
      - {id: am, kind: alertmanager, url: "http://alertmanager.example:9093"}
      - {id: am-cluster, kind: alertmanager, urls: ["http://am1.example:9093", "http://am2.example:9093"]}
      - {id: tg, kind: telegram, bot_token: {env: TG_TOKEN}, severities: [critical]}
      - {id: mail, kind: email, from: giaoban@example.org, smtp: {host: mail.example, user: giaoban,
                                                                 password: {env: SMTP_PASS}}}
      - {id: hook, kind: webhook, url: "https://ops.example/hook", secret: {env: HOOK_SECRET}}

A validated entry is an instance of its kind's settings model, so it is passed to that kind's ``send`` as is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from alerts.notifiers import NOTIFIERS
from probes.core.ids import check_id

Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")


class NotifierBase(BaseModel):
    """Fields every notifier has; the kind's own settings are mixed in by _notifier_models()."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: str
    severities: list[Severity] = Field(default_factory=lambda: list(SEVERITIES), min_length=1)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return check_id(value)

    @field_validator("severities")
    @classmethod
    def _once_each(cls, value: list[Severity]) -> list[Severity]:
        if len(set(value)) != len(value):
            raise ValueError("list each severity once")
        return value

    def carries(self, severity: str) -> bool:
        """Whether an alert of ``severity`` goes out through this notifier."""
        return severity in self.severities


def _notifier_models() -> Any:
    models: list[type[BaseModel]] = []
    for kind in NOTIFIERS.values():
        tag: Any = Literal[kind.name]
        name = f"{kind.name.title().replace('-', '').replace('_', '')}Notifier"
        bases: Any = (NotifierBase, kind.settings)
        models.append(create_model(name, __base__=bases, kind=(tag, ...)))
    return Annotated[Union[tuple(models)], Field(discriminator="kind")]  # noqa: UP007


if TYPE_CHECKING:
    NotifierConfig = NotifierBase
else:
    NotifierConfig = _notifier_models()
