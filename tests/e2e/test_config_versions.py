"""Configuration versions over HTTP against lapor dev: ETag out, If-Match in, 409 for a stale one."""

import pytest
import requests

from e2e.helpers import token

pytestmark = pytest.mark.e2e
TIMEOUT = 30


def test_the_calendar_is_saved_against_the_etag_it_was_read_with(lapor_dev, api_url):
    admin = token(lapor_dev, "admin")
    read = requests.get(f"{api_url}/admin/calendar", headers=admin, timeout=TIMEOUT)
    assert read.status_code == 200 and read.headers["ETag"] == f'"{read.json()["version"]}"'
    original = read.json()["items"]
    day_off = {"date": "2031-03-04", "working": False, "reason": "Uji versi konfigurasi"}
    saved = requests.put(f"{api_url}/admin/calendar", headers=admin | {"If-Match": read.headers["ETag"]},
                         json={"items": [*original, day_off]}, timeout=TIMEOUT)
    assert saved.status_code == 200, saved.text
    assert saved.headers["ETag"] == f'"{saved.json()["version"]}"' != read.headers["ETag"]
    stale = requests.put(f"{api_url}/admin/calendar", headers=admin | {"If-Match": read.headers["ETag"]},
                         json={"items": original}, timeout=TIMEOUT)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "stale_version"
    assert stale.json()["error"]["details"]["current_version"] == saved.json()["version"]
    restored = requests.put(f"{api_url}/admin/calendar", headers=admin | {"If-Match": saved.headers["ETag"]},
                            json={"items": original}, timeout=TIMEOUT)
    assert restored.status_code == 200 and restored.json()["items"] == original
