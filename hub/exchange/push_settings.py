"""Push settings from the environment (prefix ``SMARTSCHOOL_EXCHANGE_PUSH_``) or ``.env``.

The endpoints themselves (URL, secret, kinds) are rows of exchange_endpoints, managed
with ``smartschool exchange endpoints ...`` or /api/v1/exchange/endpoints: a receiver is
added without restarting the hub.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.notify.settings import NotifySettings


class PushSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SMARTSCHOOL_EXCHANGE_PUSH_", env_file=".env", extra="ignore", frozen=True
    )

    enabled: bool = Field(default=True, description="Run the push worker in the hub "
                          "process that serves the API")
    daily_grace_min: int = Field(
        default=30, ge=0, le=24 * 60,
        description="A day's attendance aggregates go this long after the latest absent "
        "cutoff of the schools that have school that day")
    monthly_grace_min: int = Field(
        default=60, ge=0, le=7 * 24 * 60,
        description="A month's KPI snapshot goes this long after the month ends "
        "(district time)")
    lookback_days: int = Field(default=3, ge=0, le=60,
                               description="Days before today still pushed when missed")
    lookback_months: int = Field(default=1, ge=1, le=12,
                                 description="Months before this one still pushed when missed")
    timeout_s: float = Field(default=15.0, gt=0, le=120, description="HTTP timeout per try")
    max_attempts: int = Field(default=10, ge=1, le=100,
                              description="Tries before a delivery is given up as dead")
    backoff_base_s: float = Field(default=30.0, ge=0, le=3600,
                                  description="First retry delay; doubles per try")
    backoff_max_s: float = Field(default=3600.0, ge=0, le=86400,
                                 description="Longest retry delay")
    poll_interval_s: float = Field(default=30.0, gt=0, le=3600,
                                   description="How often the worker looks for due pushes")
    batch_size: int = Field(default=20, ge=1, le=500, description="Deliveries claimed per pass")

    @property
    def daily_grace(self) -> timedelta:
        return timedelta(minutes=self.daily_grace_min)

    @property
    def monthly_grace(self) -> timedelta:
        return timedelta(minutes=self.monthly_grace_min)

    def outbox_settings(self) -> NotifySettings:
        """The notification worker's retry settings, set from these: the push is sent by
        that worker's claim, retry and give-up code on a channel of its own."""
        return NotifySettings(
            _env_file=None,
            timeout_s=self.timeout_s, max_attempts=self.max_attempts,
            backoff_base_s=self.backoff_base_s, backoff_max_s=self.backoff_max_s,
            poll_interval_s=self.poll_interval_s, batch_size=self.batch_size,
        )
