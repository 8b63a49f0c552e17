"""Staff settings from the configuration file.

```toml
admin_ids = [111, 222]            # or SANLIANG_ADMIN_IDS=111,222

[staff]
area_chats = {"成都市/武侯区" = -100123, "成都市" = -100124}
default_chat = -100999            # fallback group for areas without their own
digest_time = "08:30"             # China time
invite_days = 7                   # how long an invite code stays valid
reminder_minutes = 15             # how often deadlines are checked
followup_days = 7                 # resolved and not rated: closed after this many days
invalid_needs_check = false       # 无法受理 needs a second person's 同意 first

[escalation]                      # 督办: see bot/staff/escalation.py
working_hours = "08:30-18:00"

[deadlines]
ordinary = 3                      # working days
urgent = 1
claim = 1                         # a request should be claimed within (working days)
holidays = ["2025-10-01", "2025-10-02"]
workdays = ["2025-09-28"]         # weekend days that are working days (调休)
[deadlines.categories]
safety = 1

[retention]
days = 180
```
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from bot.calendar import CHINA_TZ, CalendarError, Deadlines
from bot.config import Config, ConfigError
from bot.staff.escalation import Escalation

DEFAULT_RETENTION_DAYS = 180
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _int(section: dict[str, Any], key: str, default: int, low: int, high: int, where: str) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"[{where}] {key}: expected a whole number from {low} to {high}")
    return value


def _chat_id(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a Telegram chat id (a number)")
    try:
        return int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{where}: expected a Telegram chat id (a number)") from None


@dataclass(frozen=True)
class StaffSettings:
    admin_ids: frozenset[int] = frozenset()
    area_chats: dict[str, int] = field(default_factory=dict)
    default_chat: int | None = None
    digest_time: dt.time = dt.time(8, 30, tzinfo=CHINA_TZ)
    invite_days: int = 7
    reminder_minutes: int = 15
    followup_days: int = 7
    retention_days: int = DEFAULT_RETENTION_DAYS
    deadlines: Deadlines = field(default_factory=Deadlines)
    escalation: Escalation = field(default_factory=Escalation)  # [escalation] (督办)
    # 无法受理 takes effect only once a second person agreed (bot.staff.supervision).
    invalid_needs_check: bool = False

    def own_chat_for(
        self, city: str | None, district: str | None, township: str | None = None
    ) -> int | None:
        """The area's own staff group, else the nearest one above it (its 区县's, its
        市州's); None when only the default is left."""
        parts = [p for p in (city, district, township) if p]
        if district is None:
            parts = parts[:1]
        while parts:
            key = "/".join(parts)
            if key in self.area_chats:
                return self.area_chats[key]
            parts.pop()
        return None

    def chat_for(
        self, city: str | None, district: str | None, township: str | None = None
    ) -> int | None:
        """The staff group for an area: its own or the nearest above it, else the default."""
        own = self.own_chat_for(city, district, township)
        return own if own is not None else self.default_chat

    def townships_with_chats(self, city: str, district: str) -> list[str]:
        """乡镇/街道 of a 区县 that have their own staff group (``area_chats``)."""
        prefix = f"{city}/{district}/"
        return [k[len(prefix) :] for k in self.area_chats if k.startswith(prefix)]

    def all_chats(self) -> list[int]:
        chats = list(dict.fromkeys(self.area_chats.values()))
        if self.default_chat is not None and self.default_chat not in chats:
            chats.append(self.default_chat)
        return chats

    @classmethod
    def from_config(cls, config: Config | None) -> StaffSettings:
        if config is None:
            return cls()
        staff = config.section("staff")
        chats_raw = staff.get("area_chats", {}) or {}
        if not isinstance(chats_raw, dict):
            raise ConfigError('[staff] area_chats: expected {"市州/区县" = chat id, ...}')
        area_chats = {}
        for key, value in chats_raw.items():
            name = "/".join(part.strip() for part in str(key).split("/") if part.strip())
            if not name:
                raise ConfigError("[staff] area_chats: an empty area name")
            area_chats[name] = _chat_id(value, f"[staff] area_chats.{key}")
        default_chat = staff.get("default_chat")
        if default_chat is not None:
            default_chat = _chat_id(default_chat, "[staff] default_chat")
        raw_time = str(staff.get("digest_time", "08:30")).strip()
        m = _TIME.match(raw_time)
        if not m:
            raise ConfigError("[staff] digest_time: expected HH:MM, e.g. 08:30")
        retention = config.section("retention")
        if "days" in retention:
            retention_days = _int(retention, "days", DEFAULT_RETENTION_DAYS, 1, 3650, "retention")
        else:  # the help-request feature's own setting, when that is where it was put
            cases = config.section("cases")
            retention_days = _int(cases, "retention_days", DEFAULT_RETENTION_DAYS, 1, 3650, "cases")
        try:
            deadlines = Deadlines.from_config(config.section("deadlines"))
        except CalendarError as exc:
            raise ConfigError(str(exc)) from None
        try:
            escalation = Escalation.from_config(config.section("escalation"))
        except CalendarError as exc:
            raise ConfigError(str(exc)) from None
        check = staff.get("invalid_needs_check", False)
        if not isinstance(check, bool):
            raise ConfigError("[staff] invalid_needs_check: expected true or false")
        return cls(
            admin_ids=frozenset(config.admin_ids),
            area_chats=area_chats,
            default_chat=default_chat,
            digest_time=dt.time(int(m.group(1)), int(m.group(2)), tzinfo=CHINA_TZ),
            invite_days=_int(staff, "invite_days", 7, 1, 90, "staff"),
            reminder_minutes=_int(staff, "reminder_minutes", 15, 1, 1440, "staff"),
            followup_days=_int(staff, "followup_days", 7, 1, 90, "staff"),
            retention_days=retention_days,
            deadlines=deadlines,
            escalation=escalation,
            invalid_needs_check=check,
        )
