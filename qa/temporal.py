"""Time expressions in questions: "in February 2017", "last week", "on March 3, 2017" become date filters.

Relative expressions are read against a reference date: the newest article in the index, since
a news corpus is a snapshot and "last week" means the last week it covers.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from datetime import date, timedelta

from qa.models import Filters

# News of an event is often published after it (a month's trade figures appear the next month), so a
# named day or month also takes in the articles of the days that follow it.
REPORTING_LAG_DAYS = 10

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))

_DAY = re.compile(rf"\b(?:on |of )?({_MONTH_RE})\.? (\d{{1,2}})(?:st|nd|rd|th)?,? (\d{{4}})\b", re.IGNORECASE)
_MONTH_YEAR = re.compile(rf"\b(?:in |during |of |since )?(?:early |late |mid-)?({_MONTH_RE})\.?,? (\d{{4}})\b", re.IGNORECASE)
_MONTH_ONLY = re.compile(rf"\b(?:in|during) ({_MONTH_RE})\b(?! \d)", re.IGNORECASE)
_RELATIVE = re.compile(r"\b(last|this|past) (week|month)\b|\b(yesterday|today)\b", re.IGNORECASE)


def date_filter_for(question: str, reference: date | None) -> Filters | None:
    """A date-range filter for the period the question names, or None when it names none.

    `reference` (the newest article date) resolves relative expressions and a month without a year.
    A named day or month runs on for REPORTING_LAG_DAYS after it.
    """
    if match := _DAY.search(question):
        month, day, year = _MONTHS[match.group(1).lower()], int(match.group(2)), int(match.group(3))
        try:
            when = date(year, month, day)
            return Filters(date_from=when.isoformat(), date_to=(when + timedelta(days=REPORTING_LAG_DAYS)).isoformat())
        except (ValueError, OverflowError):  # no such day, or a year a date cannot hold (0, 9999 plus the lag)
            return None
    if match := _MONTH_YEAR.search(question):
        return _month(int(match.group(2)), _MONTHS[match.group(1).lower()])
    if reference is None:
        return None
    if match := _MONTH_ONLY.search(question):
        month = _MONTHS[match.group(1).lower()]
        if match.group(1).lower() == "may" and not re.search(r"\bin May\b", question):
            return None  # "may" is usually the verb
        year = reference.year if month <= reference.month else reference.year - 1
        return _month(year, month)
    if match := _RELATIVE.search(question):
        word = (match.group(3) or match.group(2)).lower()
        if word in ("today", "yesterday"):
            start = reference - timedelta(days=1 if word == "yesterday" else 0)
            return Filters(date_from=start.isoformat(), date_to=reference.isoformat())
        days = 7 if word == "week" else 31
        return Filters(date_from=(reference - timedelta(days=days)).isoformat(), date_to=reference.isoformat())
    return None


def date_range(dates: Iterable[str]) -> tuple[date, date] | None:
    """The oldest and newest of ISO dates ("" for unknown is skipped); None when none is known."""
    known = [d for d in dates if d]
    return (date.fromisoformat(min(known)), date.fromisoformat(max(known))) if known else None


def names_later_period(question: str, newest: date, period: Filters | None = None) -> bool:
    """Whether the question names a year, or a day or month, after `newest`: a corpus ending then knows only plans for it.

    `period` is the question's own `date_filter_for` when the caller has read it already.
    """
    if any(int(year) > newest.year for year in re.findall(r"\b((?:19|20)\d\d)\b", question)):
        return True
    period = date_filter_for(question, newest) if period is None else period
    return period is not None and period.date_from is not None and period.date_from > newest.isoformat()


def _month(year: int, month: int) -> Filters | None:
    try:
        last = date(year, month, calendar.monthrange(year, month)[1]) + timedelta(days=REPORTING_LAG_DAYS)
    except (ValueError, OverflowError):  # a year a date cannot hold: 0, or 9999 plus the lag
        return None
    return Filters(date_from=date(year, month, 1).isoformat(), date_to=last.isoformat())


def later_mentions(question: str, newest: date, period: Filters | None | bool = True) -> tuple[str, ...]:
    """How the question names a time after `newest`: the later years it names, else the later month's name.

    Evidence written before that time can answer only by speaking of it ("a rise planned for April 2018"):
    a sentence that names none of these tells of something else. `period` is the question's own
    `date_filter_for` (None: it names none) when the caller has read it already; True reads it against `newest`.
    """
    years = tuple(dict.fromkeys(y for y in re.findall(r"\b((?:19|20)\d\d)\b", question) if int(y) > newest.year))
    if years:
        return years
    period = date_filter_for(question, newest) if period is True else period
    if period is None or period.date_from is None or period.date_from <= newest.isoformat():
        return ()
    return (calendar.month_name[date.fromisoformat(period.date_from).month],)
