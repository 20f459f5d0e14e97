"""The plant monitor's history on disk, and the daily summary built from it (pure).

Layout under the data directory (monitor parameter `data_dir`, default
$KAIYO_DATA_DIR/plant or ~/.local/share/kaiyo/plant):

    plant-YYYY-MM-DD.jsonl   one file per JST day, one JSON object per line:
        {"kind": "minute", "t": <bin start, Unix s>, "time": "<ISO, JST>", "energy_kwh": ..,
         "known_s": .., "available_s": .., "mean_power_kw": ..}
        {"kind": "sea_state", "t": <record end, Unix s>, "time": .., "source": .., "hs_m": ..,
         "tp_s": .., "te_s": .., "tz_s": .., "mean_direction_deg": .., "energy_flux_kw_per_m":
         .., "water_depth_m": .., "record_duration_s": ..}
    state.json               running totals for a restart: energy_total_kwh, the rated
                             power and device width the monitor was configured with.

Lines are appended and flushed one at a time, so a power cut loses at most the line being
written; a truncated or corrupt line is skipped on reading and reported with its file and
line number, never silently.
"""
from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from kaiyo_plant.energy import JST, MinuteBin, jst_date

STATE_FILE = 'state.json'


class HistoryError(ValueError):
    """The history cannot be read or a summary request is wrong (bad dates, no data dir)."""


def default_data_dir() -> Path:
    env = os.environ.get('KAIYO_DATA_DIR')
    base = Path(env) if env else Path.home() / '.local' / 'share' / 'kaiyo'
    return base / 'plant'


def day_file(data_dir: Path, d: date) -> Path:
    return Path(data_dir) / f'plant-{d.isoformat()}.jsonl'


def _iso_jst(t_s: float) -> str:
    return datetime.fromtimestamp(t_s, tz=UTC).astimezone(JST).isoformat()


def _clean(v):
    return None if isinstance(v, float) and not math.isfinite(v) else v


def minute_line(mb: MinuteBin) -> dict:
    return {'kind': 'minute', 't': mb.start_s, 'time': _iso_jst(mb.start_s),
            'energy_kwh': mb.energy_kwh, 'known_s': mb.known_s,
            'available_s': mb.available_s, 'mean_power_kw': _clean(mb.mean_power_kw)}


def sea_state_line(t_end_s: float, source: str, values: dict) -> dict:
    keys = ('hs_m', 'tp_s', 'te_s', 'tz_s', 'mean_direction_deg', 'energy_flux_kw_per_m',
            'water_depth_m', 'record_duration_s')
    return {'kind': 'sea_state', 't': t_end_s, 'time': _iso_jst(t_end_s), 'source': source,
            **{k: _clean(float(values[k])) if values.get(k) is not None else None
               for k in keys}}


class HistoryWriter:
    """Appends history lines to the day file of each line's time (JST)."""

    def __init__(self, data_dir: str | Path):
        self.data_dir = Path(data_dir).expanduser()
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise HistoryError(f'cannot create history directory {self.data_dir}: '
                               f'{err.strerror}') from None
        self._fh = None
        self._day: date | None = None

    def append(self, line: dict) -> None:
        d = jst_date(line['t'])
        if d != self._day:
            self.close()
            self._fh = day_file(self.data_dir, d).open('a', encoding='utf-8')
            self._day = d
        self._fh.write(json.dumps(line, separators=(',', ':')) + '\n')
        self._fh.flush()

    def write_state(self, state: dict) -> None:
        """Replace state.json atomically (write a temp file, then rename over it)."""
        tmp = self.data_dir / (STATE_FILE + '.tmp')
        tmp.write_text(json.dumps(state, indent=1), encoding='utf-8')
        os.replace(tmp, self.data_dir / STATE_FILE)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            self._day = None


def read_state(data_dir: str | Path) -> dict:
    p = Path(data_dir).expanduser() / STATE_FILE
    try:
        return json.loads(p.read_text(encoding='utf-8'))
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as err:
        raise HistoryError(f'{p}: unreadable state file ({err}); move it away to start '
                           'the totals afresh') from None


@dataclass
class DayLines:
    minutes: list[dict] = field(default_factory=list)
    sea_states: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)   # "file:line: reason"


def read_day(data_dir: str | Path, d: date) -> DayLines:
    out = DayLines()
    p = day_file(Path(data_dir).expanduser(), d)
    if not p.exists():
        return out
    with p.open(encoding='utf-8', errors='replace') as fh:
        for lineno, text in enumerate(fh, start=1):
            text = text.strip()
            if not text:
                continue
            try:
                obj = json.loads(text)
                kind = obj['kind']
                float(obj['t'])
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
                out.skipped.append(f'{p}:{lineno}: {type(err).__name__}: {err}')
                continue
            if kind == 'minute':
                out.minutes.append(obj)
            elif kind == 'sea_state':
                out.sea_states.append(obj)
            else:
                out.skipped.append(f'{p}:{lineno}: unknown kind {kind!r}')
    return out


def recent_bins(data_dir: str | Path, now_s: float, window_s: float = 86400.0) -> list[MinuteBin]:
    """Minute bins of the last `window_s` seconds (to restore the rolling window)."""
    bins = []
    d0, d1 = jst_date(now_s - window_s), jst_date(now_s)
    d = d0
    while d <= d1:
        for m in read_day(data_dir, d).minutes:
            if now_s - window_s <= m['t'] <= now_s:
                bins.append(MinuteBin(float(m['t']), float(m['energy_kwh']),
                                      float(m['known_s']), float(m['available_s'])))
        d += timedelta(days=1)
    return bins


@dataclass
class DaySummary:
    date: str
    energy_kwh: float
    mean_power_kw: float | None         # over the time with data
    capacity_factor: float | None       # energy / (rated power × 24 h)
    availability: float | None          # time able to generate / 24 h
    data_coverage: float                # time with data / 24 h
    sea_states: int                     # sea-state records that day
    hs_mean_m: float | None
    tp_mean_s: float | None
    te_mean_s: float | None
    energy_flux_mean_kw_per_m: float | None
    capture_width_ratio: float | None   # Σ E over sea-state records / (w Σ J·t)


def parse_date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HistoryError(f'{what} date {text!r} is not YYYY-MM-DD') from None


def _mean(xs: list) -> float | None:
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    return sum(xs) / len(xs) if xs else None


def summarize(data_dir: str | Path, first: date, last: date, rated_power_kw: float,
              device_width_m: float) -> tuple[list[DaySummary], list[str]]:
    """One DaySummary per JST day from first to last (inclusive); plus skipped lines."""
    if last < first:
        raise HistoryError(f'--to {last} is before --from {first}')
    if (last - first).days > 3660:
        raise HistoryError(f'{first}..{last} spans more than 10 years; split the request')
    if not (rated_power_kw > 0 and device_width_m > 0):
        raise HistoryError('rated power and device width must be positive '
                           f'(got {rated_power_kw} kW, {device_width_m} m)')
    data_dir = Path(data_dir).expanduser()
    if not data_dir.is_dir():
        raise HistoryError(f'history directory {data_dir} does not exist')
    days, skipped = [], []
    d = first
    while d <= last:
        lines = read_day(data_dir, d)
        skipped += lines.skipped
        energy = sum(float(m['energy_kwh']) for m in lines.minutes)
        known = sum(float(m['known_s']) for m in lines.minutes)
        avail = sum(float(m['available_s']) for m in lines.minutes)
        day_s = 86400.0
        # Capture width: energy booked while each sea state was being measured, against
        # the wave energy that arrived over the same known time.
        e_num = j_den = 0.0
        by_t = {float(m['t']): m for m in lines.minutes}
        for s in lines.sea_states:
            flux, dur = s.get('energy_flux_kw_per_m'), s.get('record_duration_s')
            if not flux or not dur or flux <= 0:
                continue
            t_end = float(s['t'])
            for t, m in by_t.items():
                if t_end - dur <= t < t_end:
                    e_num += float(m['energy_kwh'])
                    j_den += flux * float(m['known_s']) / 3600.0   # kWh per metre
        days.append(DaySummary(
            date=d.isoformat(), energy_kwh=energy,
            mean_power_kw=energy * 3600.0 / known if known > 0 else None,
            capacity_factor=energy / (rated_power_kw * 24.0) if lines.minutes else None,
            availability=avail / day_s if lines.minutes else None,
            data_coverage=known / day_s, sea_states=len(lines.sea_states),
            hs_mean_m=_mean([s.get('hs_m') for s in lines.sea_states]),
            tp_mean_s=_mean([s.get('tp_s') for s in lines.sea_states]),
            te_mean_s=_mean([s.get('te_s') for s in lines.sea_states]),
            energy_flux_mean_kw_per_m=_mean([s.get('energy_flux_kw_per_m')
                                             for s in lines.sea_states]),
            capture_width_ratio=e_num / (device_width_m * j_den) if j_den > 0 else None))
        d += timedelta(days=1)
    return days, skipped


def write_summary(out_dir: str | Path, days: list[DaySummary], meta: dict) -> tuple[Path, Path]:
    """Write plant_summary_<from>_<to>.csv and .json into out_dir; return both paths."""
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    stem = f"plant_summary_{days[0].date}_{days[-1].date}" if days else 'plant_summary'
    csv_path, json_path = out / f'{stem}.csv', out / f'{stem}.json'
    fields = list(DaySummary.__dataclass_fields__)
    with csv_path.open('w', newline='', encoding='utf-8') as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for day in days:
            w.writerow({k: ('' if v is None else v) for k, v in asdict(day).items()})
    total = sum(x.energy_kwh for x in days)
    doc = {**meta, 'total_energy_kwh': total, 'days': [asdict(x) for x in days],
           'units': {'energy_kwh': 'kWh', 'mean_power_kw': 'kW', 'capacity_factor': '0..1',
                     'availability': '0..1 of the JST day', 'data_coverage': '0..1',
                     'hs_mean_m': 'm', 'tp_mean_s': 's', 'te_mean_s': 's',
                     'energy_flux_mean_kw_per_m': 'kW/m', 'capture_width_ratio': '0..1'}}
    json_path.write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding='utf-8')
    return csv_path, json_path
