"""The statutory public holidays of mainland China, known years before the yearly notice.

《全国年节及纪念日放假办法》 as amended in 2024 (in force from 2025): 元旦 1 day, 春节 4 days
(除夕 to 初三), 清明节 1, 劳动节 2 (1–2 May), 端午节 1, 中秋节 1, 国庆节 3 (1–3 October);
art. 6: a holiday falling on a Saturday or Sunday is made up on a working day (补假).
Lunar dates and the 清明 solar term come from the `lunar-python` package. What only the
State Council's yearly notice fixes — the make-up working days (调休上班) and the bridging
days they buy — is not guessed here, so a deadline counted on these days stays provisional.
"""
from __future__ import annotations

from datetime import date, timedelta
from functools import cache

from lunar_python import Lunar, Solar

FIRST_YEAR = 2025  # the 2024 amendment (除夕 and a second 劳动节 day) applies from 2025
ONE_DAY = timedelta(days=1)
MAKE_UP_SUFFIX = "（补假）"


def _solar(lunar: Lunar) -> date:
    solar = lunar.getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def _festivals(year: int) -> list[tuple[str, list[date]]]:
    """Each festival's statutory days in `year`, in calendar order."""
    new_year = _solar(Lunar.fromYmd(year, 1, 1))
    qingming = Solar.fromYmd(year, 6, 1).getLunar().getJieQiTable()["清明"]
    festivals = [
        ("元旦", [date(year, 1, 1)]),
        ("春节", [new_year - ONE_DAY + k * ONE_DAY for k in range(4)]),
        ("清明节", [date(year, qingming.getMonth(), qingming.getDay())]),
        ("劳动节", [date(year, 5, 1), date(year, 5, 2)]),
        ("端午节", [_solar(Lunar.fromYmd(year, 5, 5))]),
        ("中秋节", [_solar(Lunar.fromYmd(year, 8, 15))]),
        ("国庆节", [date(year, 10, 1), date(year, 10, 2), date(year, 10, 3)]),
    ]
    return sorted(festivals, key=lambda festival: festival[1][0])


@cache
def statutory_holidays(year: int) -> dict[date, str]:
    """The days off the law fixes for `year`, with their names; make-up days (补假) marked as such.

    A statutory day on a weekend, or one already taken by an earlier festival (中秋 on a
    国庆 day), is made up on the first weekday after the festival that is not off already.
    """
    if year < FIRST_YEAR:
        return {}
    off: dict[date, str] = {}
    for name, days in _festivals(year):
        owed = sum(1 for day in days if day.weekday() >= 5 or day in off)
        off.update({day: name for day in days if day not in off})
        day = days[-1]
        while owed:
            day += ONE_DAY
            if day.weekday() < 5 and day not in off:
                off[day] = name + MAKE_UP_SUFFIX
                owed -= 1
    return off
