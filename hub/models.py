"""The base of every model the API answers with. No FastAPI here.

The read, report and equipment modules build their rows on it as well as hub/api, so a
row goes out as it was read: frozen, never changed on its way to the response.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    model_config = ConfigDict(frozen=True)
