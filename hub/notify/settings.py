"""Notifier settings from the environment (prefix ``SMARTSCHOOL_NOTIFY_``) or ``.env``.

Each channel is configured by a URL and a secret; a channel without a URL is off and its
messages stay pending (visible in the API) until it is configured.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SMARTSCHOOL_NOTIFY_", env_file=".env", extra="ignore", frozen=True
    )

    webhook_url: str | None = Field(default=None, description="Generic webhook: POST JSON here")
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key of the webhook signature: "
        "X-Smartschool-Signature = sha256=<hex of HMAC(secret, timestamp + '.' + body)>, "
        "the timestamp being the X-Smartschool-Timestamp header"
    )
    zalo_url: str | None = Field(default=None, description="Zalo OA-style message API URL")
    zalo_token: SecretStr | None = Field(default=None, description="Zalo OA access token")
    sms_url: str | None = Field(default=None, description="SMS gateway URL")
    sms_key: SecretStr | None = Field(default=None, description="SMS gateway API key")
    timeout_s: float = Field(default=10.0, gt=0, le=120, description="HTTP timeout per send")
    max_attempts: int = Field(default=8, ge=1, le=100,
                              description="Sends before a message is marked failed")
    backoff_base_s: float = Field(default=5.0, ge=0, le=3600,
                                  description="First retry delay; doubles per attempt")
    backoff_max_s: float = Field(default=1800.0, ge=0, le=86400,
                                 description="Longest retry delay")
    poll_interval_s: float = Field(default=2.0, gt=0, le=300,
                                   description="Worker idle poll interval")
    batch_size: int = Field(default=50, ge=1, le=1000, description="Messages claimed per poll")
    # Alarm dispatch (issue #13): hub/notify/alarm_rules.py says who and when.
    alarm_escalate_after_s: float = Field(
        default=900.0, gt=0, le=7 * 86400,
        description="A major or critical alarm still unacknowledged this long after it "
        "was raised goes to the district (district admins, control room)")
    alarm_max_age_s: float = Field(
        default=86400.0, gt=0, le=30 * 86400,
        description="Alarms raised longer ago than this are not sent at all (a hub back "
        "from days off does not wake anyone for old news); longer than the escalation")

    @model_validator(mode="after")
    def _escalation_within_age(self) -> Self:
        if self.alarm_max_age_s <= self.alarm_escalate_after_s:
            raise ValueError("alarm_max_age_s must be longer than alarm_escalate_after_s, "
                             "or no alarm would ever escalate")
        return self
