"""Dates as the schedule counts them: ages in completed months and years, intervals, booklet dates
that give only a year or a month, and their French wording."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from ens.core.pdf import french_date
from ens.vaccination.calendar import Interval

Precision = Literal["year", "month", "day"]

_PARTIAL = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")


@dataclass(frozen=True)
class PartialDate:
    """A booklet date: ``2009``, ``2009-05`` or ``2009-05-12``, with the first and last day it may be."""

    text: str
    precision: Precision
    start: date
    end: date

    @classmethod
    def parse(cls, text: str) -> PartialDate:
        """``ValueError`` when ``text`` is none of the three forms, or not a real day."""
        match = _PARTIAL.fullmatch(text)
        if match is None:
            raise ValueError("expected YYYY, YYYY-MM or YYYY-MM-DD")
        year, month, day = match.groups()
        if month is None:
            return cls(text, "year", date(int(year), 1, 1), date(int(year), 12, 31))
        if day is None:
            first = date(int(year), int(month), 1)
            return cls(text, "month", first, first.replace(day=calendar.monthrange(first.year, first.month)[1]))
        exact = date(int(year), int(month), int(day))
        return cls(text, "day", exact, exact)

    @property
    def exact(self) -> bool:
        return self.precision == "day"

    def french(self) -> str:
        """``12 mai 2009``, ``mai 2009`` or ``2009``."""
        if self.precision == "day":
            return french_date(self.start)
        if self.precision == "month":
            return french_date(self.start).split(" ", 1)[1]
        return self.text


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it has none (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_interval(day: date, interval: Interval) -> date:
    if interval.unit == "days":
        return day + timedelta(days=interval.value)
    if interval.unit == "weeks":
        return day + timedelta(weeks=interval.value)
    if interval.unit == "months":
        return add_months(day, interval.value)
    return add_months(day, 12 * interval.value)


def at_months(birthdate: date, months: int) -> date:
    """The day a child born on ``birthdate`` reaches ``months`` completed months."""
    return add_months(birthdate, months)


def last_day_at_months(birthdate: date, months: int) -> date:
    """The last day of the ``months``-th completed month: ``2 months`` lasts until the day before 3."""
    return add_months(birthdate, months + 1) - timedelta(days=1)


def last_day_at_years(birthdate: date, years: int) -> date:
    """``N ans révolus``: until the day before the (N+1)th birthday (the calendar's convention)."""
    return add_months(birthdate, 12 * (years + 1)) - timedelta(days=1)


def age_in_months(birthdate: date, day: date) -> int:
    """Completed months on ``day``."""
    months = (day.year - birthdate.year) * 12 + day.month - birthdate.month
    if add_months(birthdate, months) > day:
        months -= 1
    return months


def age_words(birthdate: date, day: date) -> str:
    """An age as a parent says it: ``6 semaines``, ``4 mois``, ``2 ans``, ``25 ans``."""
    days = (day - birthdate).days
    months = age_in_months(birthdate, day)
    if months < 2:
        weeks = days // 7
        return f"{weeks} semaine{'s' if weeks > 1 else ''}" if weeks >= 1 else f"{days} jour{'s' if days > 1 else ''}"
    if months < 24:
        return f"{months} mois"
    years = months // 12
    return f"{years} ans"


def months_words(months: int) -> str:
    """``2 mois``, ``18 mois``, ``11 ans``, ``15 ans et 6 mois``."""
    if months < 24:
        return f"{months} mois"
    years, rest = divmod(months, 12)
    return f"{years} ans" + (f" et {rest} mois" if rest else "")


def interval_words(interval: Interval) -> str:
    names = {"days": ("jour", "jours"), "weeks": ("semaine", "semaines"), "months": ("mois", "mois")}
    names["years"] = ("an", "ans")
    one, many = names[interval.unit]
    return f"{interval.value} {one if interval.value == 1 else many}"


def day_words(day: date) -> str:
    return french_date(day)


def parse_day_or_period(text: str) -> tuple[date, date]:
    """A calendar date field (``2018-01-01``, ``2025-04``, ``2024``) as its first and last day."""
    partial = PartialDate.parse(text)
    return partial.start, partial.end
