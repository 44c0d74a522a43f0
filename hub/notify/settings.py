"""Notifier settings from the environment (prefix ``SMARTSCHOOL_NOTIFY_``) or ``.env``.

Each channel is configured by a URL and a secret; a channel without a URL is off and its
messages stay pending (visible in the API) until it is configured.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
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
