"""Pure builders, one module per page, mirroring dashboard.pages: rows in, Dash
components, Plotly figures or export files out.

district: totals, school tiles, the gate-event feed, the arrivals chart, and the colours
and KPI cells the other pages reuse; school: header, KPIs, late and absent lists, the
class register, export tables and files; equipment: KPIs, the asset table, the alarm list
with its buttons, the metric chart. Each page's view type (SchoolView, EquipmentView) is
defined beside its builders and filled by the matching dashboard.data module.
"""
