"""Warnings and forecasts (issue 15): each rule a pure function of what was stored.

No database, no clock: the runner (hub/warnings/runner.py) reads, these decide, and
tests/unit/test_warnings_rules.py holds them to tables of cases. A rule returns the
figures it decided on (a JSON-able dict, kept with the warning and shown on the page) when
its condition holds, and None when it does not.

What counts as a day of data: attendance rules look only at school days on which the
school's gates recorded anyone at all. A school day with no passage at the whole school
is an outage (or a day before the system was installed), not a day every pupil missed.

The definitions, and why:

* ``chronic_absence``: a pupil absent (excused or not) on 10 % or more of the school's
  last 30 school days, counted over the days with data; at least ``CHRONIC_MIN_DAYS`` of
  them, or one absence in three days would flag a pupil. The national guidance on
  chronic absence counts excused days too: a child ill one day in ten still misses
  one lesson in ten.
* ``rising_absence``: a class's "week" is its last five school days with data, its
  baseline the four such weeks before. The week is rising when its absence rate is above
  the baseline's mean plus two standard deviations (a week this far out happens by
  chance about once in forty weeks for a stable class) AND it has at least
  ``RISING_MIN_EXTRA`` more pupil-days of absence than the baseline rate predicts. The
  second test stops a class with a flat baseline (standard deviation near zero) from
  being flagged for one absence; six is more than one pupil's whole week, which is
  the chronic-absence rule's business, not a class's.
* ``lateness``: a pupil late on three or more days within the last 14 calendar days
  (two school weeks), the day of the run's data included.
* ``lamp_end_of_life``: the day a projector lamp reaches its rated hours at its recent
  daily use (hours gained over the last ``LAMP_WINDOW_DAYS`` calendar days, weekends
  included, divided by the days), flagged when that day is within 30 days. Readings
  from before the lamp's last replacement (hours going down) are not its lamp's.
* ``repeat_fault``: the same alarm type raised three or more times for the same asset
  within 30 days. Lamp wear is the forecast's business, and a device going offline or
  silent is most often the school's power or network (it would flag every device of a
  school at once), so those alarm types are not faults here.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final, Literal, get_args

from hub.attendance.calendar import SchoolCalendar
from hub.equipment.rules import DEVICE_OFFLINE, LAMP_LIFE, NO_DATA, PROJECTOR_ERROR
from hub.notify.alarm_rules import Contact, reachable

Kind = Literal["chronic_absence", "rising_absence", "lateness", "lamp_end_of_life",
               "repeat_fault"]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
# Kinds that name pupils or classes (registers: hub/access.py PERSON_ROLES) and kinds
# about equipment (every role of the school).
ATTENDANCE_KINDS: Final[frozenset[str]] = frozenset(
    ("chronic_absence", "rising_absence", "lateness"))
EQUIPMENT_KINDS: Final[frozenset[str]] = frozenset(("lamp_end_of_life", "repeat_fault"))

Detail = dict[str, Any]

CHRONIC_WINDOW: Final = 30  # school days
CHRONIC_SHARE_PERCENT: Final = 10
CHRONIC_MIN_DAYS: Final = 10

WEEK_DAYS: Final = 5  # school days in a "week"
BASELINE_WEEKS: Final = 4
BASELINE_MIN_WEEKS: Final = 3
RISING_SD: Final = 2.0
RISING_MIN_EXTRA: Final = 6.0  # pupil-days of absence above what the baseline predicts

LATENESS_WINDOW: Final = timedelta(days=14)
LATENESS_MIN: Final = 3

LAMP_WINDOW_DAYS: Final = 14
LAMP_MIN_SPAN_DAYS: Final = 3  # fewer days of readings do not make a daily use
LAMP_HORIZON: Final = timedelta(days=30)
# A reading this far below the previous one is a new lamp (a counter reset), not noise.
LAMP_RESET_DROP_H: Final = 1.0

REPEAT_WINDOW: Final = timedelta(days=30)
THRESHOLD_PREFIX: Final = "threshold:"
REPEAT_MIN: Final = 3
NOT_FAULTS: Final[frozenset[str]] = frozenset((LAMP_LIFE, DEVICE_OFFLINE, NO_DATA))

# How far back the calendar is walked for a window of school days: long enough for Tết.
CALENDAR_LOOKBACK: Final = timedelta(days=150)


# -- days ------------------------------------------------------------------------------

def last_school_days(calendar: SchoolCalendar, as_of: date, count: int) -> list[date]:
    """The last ``count`` school days up to ``as_of`` (included), oldest first; fewer when
    the calendar has fewer within CALENDAR_LOOKBACK."""
    found: list[date] = []
    day = as_of
    while len(found) < count and as_of - day <= CALENDAR_LOOKBACK:
        if calendar.is_school_day(day):
            found.append(day)
        day -= timedelta(days=1)
    return found[::-1]


# -- attendance ------------------------------------------------------------------------

def chronic_absence(days: Collection[date], absent: Iterable[date]) -> Detail | None:
    """``days``: the school's days with data among its last 30 school days; ``absent``:
    the days the pupil was absent or excused (others are ignored)."""
    counted = set(days)
    if len(counted) < CHRONIC_MIN_DAYS:
        return None
    missed = sorted(counted.intersection(absent))
    # Integers: exactly 10 % (3 of 30) must not fall either side of a float.
    if len(missed) * 100 < CHRONIC_SHARE_PERCENT * len(counted):
        return None
    return {"school_days": len(counted), "absent_days": len(missed),
            "share": round(len(missed) / len(counted), 4),
            "from": min(counted).isoformat(), "to": max(counted).isoformat()}


def week_blocks(days: Sequence[date]) -> list[list[date]]:
    """Days with data, oldest first -> up to 1 + BASELINE_WEEKS blocks of WEEK_DAYS days
    ending with the newest day, oldest block first; an incomplete oldest block is dropped."""
    newest_first = sorted(days, reverse=True)
    blocks = [newest_first[i:i + WEEK_DAYS][::-1]
              for i in range(0, len(newest_first), WEEK_DAYS)][:1 + BASELINE_WEEKS]
    return [b for b in blocks if len(b) == WEEK_DAYS][::-1]


@dataclass(frozen=True, slots=True)
class WeekCount:
    absent: int  # pupil-days absent or excused
    counted: int  # pupil-days on register


def rising_absence(weeks: Sequence[WeekCount]) -> Detail | None:
    """``weeks``: oldest first, the last one this week, the others its baseline."""
    if len(weeks) < 1 + BASELINE_MIN_WEEKS or any(w.counted <= 0 for w in weeks):
        return None
    *baseline, this = weeks
    rates = [w.absent / w.counted for w in baseline]
    mean = statistics.fmean(rates)
    sd = statistics.stdev(rates)
    rate = this.absent / this.counted
    expected = mean * this.counted
    if rate <= mean + RISING_SD * sd or this.absent - expected < RISING_MIN_EXTRA:
        return None
    return {"rate": round(rate, 4), "baseline_mean": round(mean, 4),
            "baseline_sd": round(sd, 4), "absent": this.absent, "counted": this.counted,
            "expected": round(expected, 1), "baseline_weeks": len(baseline)}


def lateness(as_of: date, late: Iterable[date]) -> Detail | None:
    """Late days within the 14 days ending ``as_of`` (both ends included)."""
    first = as_of - LATENESS_WINDOW + timedelta(days=1)
    days = sorted({d for d in late if first <= d <= as_of})
    if len(days) < LATENESS_MIN:
        return None
    return {"lates": len(days), "from": first.isoformat(), "to": as_of.isoformat(),
            "days": [d.isoformat() for d in days]}


# -- equipment -------------------------------------------------------------------------

def current_lamp(readings: Sequence[tuple[date, float]]) -> list[tuple[date, float]]:
    """Daily lamp-hour readings (oldest first) since the lamp's last replacement."""
    start = 0
    for i in range(1, len(readings)):
        if readings[i][1] < readings[i - 1][1] - LAMP_RESET_DROP_H:
            start = i
    return list(readings[start:])


def lamp_end_of_life(as_of: date, rated_hours: int | None,
                     readings: Sequence[tuple[date, float]]) -> Detail | None:
    """``readings``: each day's last lamp-hour reading, oldest first, up to ``as_of``."""
    if not rated_hours or not readings:
        return None
    lamp = current_lamp(sorted(readings))
    last_day, hours = lamp[-1]
    window = [(d, h) for d, h in lamp if (last_day - d).days <= LAMP_WINDOW_DAYS]
    first_day, first_hours = window[0]
    span = (last_day - first_day).days
    use = (hours - first_hours) / span if span >= LAMP_MIN_SPAN_DAYS else None
    if hours >= rated_hours:
        # Already past: the day it got there, at the pace it was going (today if unknown).
        over = math.floor((hours - rated_hours) / use) if use else 0
        due = last_day - timedelta(days=over)
    elif use is None or use <= 0:
        return None
    else:
        due = last_day + timedelta(days=math.ceil((rated_hours - hours) / use))
    if due > as_of + LAMP_HORIZON:
        return None
    return {"lamp_hours": round(hours, 1), "rated_hours": rated_hours,
            "hours_per_day": None if use is None else round(use, 2),
            "due": due.isoformat(), "days_left": (due - as_of).days}


def repeat_fault(as_of: date, alarm_type: str, raised: Iterable[date]) -> Detail | None:
    """``raised``: the local days an alarm of ``alarm_type`` was raised for one subject
    (a day twice when it was raised twice)."""
    if alarm_type in NOT_FAULTS:
        return None
    first = as_of - REPEAT_WINDOW + timedelta(days=1)
    days = sorted(d for d in raised if first <= d <= as_of)
    if len(days) < REPEAT_MIN:
        return None
    return {"alarm_type": alarm_type, "count": len(days), "first": days[0].isoformat(),
            "last": days[-1].isoformat()}


# -- who acts --------------------------------------------------------------------------

def recipients(kind: Kind, school: str, contacts: Iterable[Contact], *,
               homeroom: str | None = None) -> list[Contact]:
    """The reachable accounts a warning goes to, in username order: a pupil's to the
    class's homeroom teacher (their school's admins when the class has no reachable
    teacher account: somebody must act), a class's to the school's admins, equipment's to
    the school's facility managers."""
    pool = [c for c in contacts if c.school == school and reachable(c)]
    if kind in ("chronic_absence", "lateness"):
        chosen = [c for c in pool if c.role == "teacher" and c.username == homeroom]
        if not chosen:
            chosen = [c for c in pool if c.role == "school_admin"]
    elif kind == "rising_absence":
        chosen = [c for c in pool if c.role == "school_admin"]
    else:
        chosen = [c for c in pool if c.role == "facility_manager"]
    return sorted(chosen, key=lambda c: c.username)


def idempotency_key(kind: Kind, subject: str, episode: date, username: str) -> str:
    return f"warning:{kind}:{subject}:{episode.isoformat()}:{username}"


# -- words -----------------------------------------------------------------------------

KIND_NAMES: Final[dict[str, dict[Kind, str]]] = {
    "vi": {"chronic_absence": "Vắng học kéo dài", "rising_absence": "Vắng học tăng bất thường",
           "lateness": "Đi muộn nhiều lần",
           "lamp_end_of_life": "Bóng đèn máy chiếu sắp hết tuổi thọ",
           "repeat_fault": "Lỗi thiết bị lặp lại"},
    "en": {"chronic_absence": "Chronic absence", "rising_absence": "Rising absence",
           "lateness": "Lateness pattern", "lamp_end_of_life": "Projector lamp end of life",
           "repeat_fault": "Repeat fault"},
}


def _vi_date(text: str) -> str:
    return date.fromisoformat(text).strftime("%d/%m/%Y")


def describe(kind: Kind, detail: Detail, lang: Literal["vi", "en"] = "vi") -> str:
    """One sentence of what was found, from the figures the rule kept."""
    d = detail
    if kind == "chronic_absence":
        pct = round(100 * float(d["share"]))
        if lang == "en":
            return (f"absent {d['absent_days']} of the last {d['school_days']} school days "
                    f"({pct} %)")
        return f"vắng {d['absent_days']}/{d['school_days']} ngày học gần nhất ({pct} %)"
    if kind == "rising_absence":
        rate, mean = round(100 * float(d["rate"]), 1), round(100 * float(d["baseline_mean"]), 1)
        if lang == "en":
            return (f"absence {rate} % this week ({d['absent']} pupil-days) against "
                    f"{mean} % over the previous {d['baseline_weeks']} weeks")
        return (f"tỉ lệ vắng tuần này {rate} % ({d['absent']} lượt) so với {mean} % "
                f"của {d['baseline_weeks']} tuần trước")
    if kind == "lateness":
        if lang == "en":
            return f"late {d['lates']} times between {d['from']} and {d['to']}"
        return f"đi muộn {d['lates']} lần từ {_vi_date(d['from'])} đến {_vi_date(d['to'])}"
    if kind == "lamp_end_of_life":
        use = d.get("hours_per_day")
        hours = f"{float(d['lamp_hours']):g}"
        if lang == "en":
            pace = f" at {use} h a day" if use is not None else ""
            return (f"lamp {hours} of {d['rated_hours']} rated hours{pace}: "
                    f"reaches its rated life on {d['due']}")
        pace = f", dùng {use} giờ/ngày" if use is not None else ""
        return (f"bóng đèn {hours}/{d['rated_hours']} giờ{pace}: hết tuổi thọ "
                f"ngày {_vi_date(d['due'])}")
    fault = _fault_name(str(d["alarm_type"]), lang)
    if lang == "en":
        return f"{fault} raised {d['count']} times since {d['first']}"
    return f"{fault} lặp lại {d['count']} lần từ {_vi_date(d['first'])}"


def _fault_name(alarm_type: str, lang: Literal["vi", "en"]) -> str:
    """An alarm type in words (hub/equipment/rules.py names them)."""
    if alarm_type == PROJECTOR_ERROR:
        return "projector error" if lang == "en" else "lỗi máy chiếu"
    if alarm_type.startswith(THRESHOLD_PREFIX):
        metric = alarm_type[len(THRESHOLD_PREFIX):]
        return f"{metric} out of range" if lang == "en" else f"{metric} vượt ngưỡng"
    return alarm_type if lang == "en" else f"lỗi {alarm_type}"


def render(kind: Kind, *, school: str, who: str, detail: Detail) -> str:
    """The Vietnamese message a recipient gets; ``who`` names the pupil, class or asset."""
    return (f"Cảnh báo {KIND_NAMES['vi'][kind].lower()} tại trường {school}: {who} - "
            f"{describe(kind, detail, 'vi')}.")
