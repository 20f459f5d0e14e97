"""The live view page (pure): live_view.html (inline CSS, JS, SVG) with its config filled in.

It loads nothing else (CSP `default-src 'none'`, only its own websocket), so it works on a
station with no internet. Japanese first, English beside it; every value with its unit;
values older than the stale limit are greyed with their age. The map is north-up in the
`map` frame (metres from the tower), with the approximate coastline for orientation.
"""
from __future__ import annotations

import json
from pathlib import Path

from kaiyo_common.geodesy import TOWER
from kaiyo_report import site_map

PAGE_FILE = Path(__file__).with_name('live_view.html')


def render_page(vehicles: list[str], datum=TOWER) -> str:
    """The page with its configuration (vehicle names, coastline in map metres) inlined."""
    config = {'vehicles': list(vehicles),
              'coast': [[round(x, 1), round(y, 1)] for x, y in site_map.coast_enu(datum)]}
    page = PAGE_FILE.read_text(encoding='utf-8')
    # '<' escaped so no value can close the <script> early
    return page.replace('__CONFIG__', json.dumps(config).replace('<', '\\u003c'))
