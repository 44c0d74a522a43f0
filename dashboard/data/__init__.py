"""Every read the dashboard pages make, one module per page, mirroring dashboard.pages.

district: the wall's snapshot and its short cache; school: a school's day, a class
register, export tables; equipment: assets, open alarms, a metric chart, and the alarm
acknowledge and clear, under the API's own rule. Each reads through the hub code the API
answers with, so a page and /api/v1 never disagree.
"""

from hub.db import Conn

# The connection type the pages hand to the data functions; pages import no hub module.
__all__ = ["Conn"]
