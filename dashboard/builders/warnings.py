"""The warnings page (issue 15), pure: a tile per kind with its open count, then the open
warnings, newest first. The kinds' names and sentences are hub/warnings/rules.py's, the
same the staff's messages are written from."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from dash import html
from dash.development.base_component import Component

from dashboard.i18n import Lang, t
from hub.warnings.read import WarningPublic, WarningRunPublic
from hub.warnings.rules import KIND_NAMES, Kind, describe


def kind_name(kind: str, lang: Lang) -> str:
    return KIND_NAMES[lang].get(kind, kind)  # type: ignore[call-overload,no-any-return]


def computed_line(run: WarningRunPublic | None, lang: Lang, tz: ZoneInfo) -> str:
    if run is None:
        return t(lang, "warn_never")
    at = run.finished_at.astimezone(tz).strftime("%H:%M %d/%m/%Y")
    return t(lang, "warn_computed").format(at=at, as_of=run.as_of.strftime("%d/%m/%Y"))


def build_tiles(counts: dict[Kind, int], lang: Lang) -> list[Component]:
    return [html.Div([html.Div(str(n), className="warn-count"),
                      html.Div(kind_name(k, lang), className="warn-kind")],
                     className=f"warn-tile warn-{k}" + (" warn-zero" if not n else ""),
                     id=f"warn-tile-{k}")
            for k, n in counts.items()]


def who(row: WarningPublic) -> str:
    """The pupil (with the class), the class, or the asset a warning is about."""
    if row.student_name:
        return f"{row.student_name} ({row.class_name})" if row.class_name else row.student_name
    if row.kind == "rising_absence" and row.class_name:
        return row.class_name
    return row.asset_tag or row.subject


def build_table(rows: Sequence[WarningPublic], lang: Lang, tz: ZoneInfo, *,
                total: int) -> Component:
    if not rows:
        return html.P(t(lang, "warn_none"), className="warn-none", id="warn-none")
    head = html.Tr([html.Th(t(lang, k)) for k in
                    ("warn_col_kind", "warn_col_school", "warn_col_who", "warn_col_what",
                     "warn_col_opened")])
    body = [html.Tr([html.Td(kind_name(r.kind, lang), className="warn-kind-cell"),
                     html.Td(r.school_name, title=r.school), html.Td(who(r)),
                     html.Td(describe(r.kind, r.detail, lang)),  # type: ignore[arg-type]
                     html.Td(r.opened_at.astimezone(tz).strftime("%d/%m/%Y"))],
                    className=f"warn-row warn-row-{r.kind}")
            for r in rows]
    parts: list[Component] = [html.Table([html.Thead(head), html.Tbody(body)],
                                          className="kpi-table warn-table",
                                          id="warn-table")]
    if total > len(rows):
        parts.append(html.P(t(lang, "warn_more").format(shown=len(rows), total=total),
                            className="warn-more"))
    return html.Div(parts)


def kind_options(kinds: Sequence[str], lang: Lang) -> list[dict[str, str]]:
    """The filter's choices: all, then each kind the viewer may see."""
    return [{"label": t(lang, "warn_all_kinds"), "value": ""}] + [
        {"label": kind_name(k, lang), "value": k} for k in kinds]
