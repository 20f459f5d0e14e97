"""Compare kaiyo's NMEA fixes with gpsd's expected output (`X.log.chk`), per reporting cycle.

gpsd prints a TPV report after most sentences, so one receiver cycle yields several TPVs
with the same `time`, each merging one more sentence. The comparison rule:

1. Pair by cycle: for each `time` gpsd reports, take gpsd's *last* TPV with that time (the
   whole cycle merged) and kaiyo's fix with the same time. TPVs without a time (gpsd had no
   date yet, or no fix) cannot be assigned to a cycle and are not compared.
2. Time exact: the pairing key is the exact ISO time to the millisecond. gpsd moves dates
   that look older than its build by whole 1024-week GPS rollover periods (it assumes a
   receiver with a week-rollover bug); kaiyo keeps the receiver's date. So dates may differ
   by a whole number of 1024-week periods and nothing else; the time of day must be equal.
3. Fields: mode always; lat/lon within 1e-6 deg where gpsd reports them; speed (m/s) and
   track (deg) where gpsd reports them *and* the receiver sent them in that cycle (RMC or
   VTG): gpsd synthesises a speed from successive positions when the receiver sends none,
   which is gpsd's estimate, not a decode. Tolerances: gpsd prints speed with 3 decimals and
   track with 4, so 1e-3 m/s and 1e-3 deg.
4. Mode in a self-contradictory cycle (the receiver sends an altitude and, in the same
   cycle, a GSA saying 2D) has no single right answer; gpsd resolves it from its history.
   Such cycles are counted as `ambiguous_mode`, not as mismatches.
5. kaiyo fixes at times gpsd never reported are listed as `unpaired` (e.g. a cycle at the
   end of the capture that gpsd had not closed).
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from kaiyo_drivers.nmea import Fix, decode_lines

ROLLOVER_DAYS = 1024 * 7
LATLON_TOL_DEG = 1e-6
SPEED_TOL_MPS = 1e-3
TRACK_TOL_DEG = 1e-3


@dataclass
class CheckResult:
    file: str
    cycles: int = 0                    # gpsd cycles compared
    fixes: int = 0                     # kaiyo fixes with a time
    mismatches: list[str] = field(default_factory=list)
    ambiguous_mode: list[str] = field(default_factory=list)
    unpaired: list[str] = field(default_factory=list)
    compared: dict = field(default_factory=lambda: {'lat': 0, 'lon': 0, 'speed': 0,
                                                    'track': 0, 'mode': 0})

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _key(iso: str) -> tuple[int, str]:
    """(date ordinal modulo the rollover period, time of day) of an ISO time."""
    date = dt.date.fromisoformat(iso[:10])
    return date.toordinal() % ROLLOVER_DAYS, iso[11:]


def gpsd_cycles(chk_text: str) -> dict[str, dict]:
    """The last TPV per reported time in a gpsd .chk file."""
    out: dict[str, dict] = {}
    for line in chk_text.splitlines():
        if not line.startswith('{"class":"TPV"'):
            continue
        try:
            tpv = json.loads(line)
        except json.JSONDecodeError:
            continue
        if 'time' in tpv:
            out[tpv['time']] = tpv
    return out


def compare(fixes: list[Fix], cycles: dict[str, dict], name: str = '') -> CheckResult:
    res = CheckResult(name)
    mine: dict[tuple[int, str], Fix] = {}
    for f in fixes:
        if f.time is not None:
            mine[_key(f.iso_time())] = f
    res.fixes = len(mine)
    paired = set()
    for iso, tpv in cycles.items():
        key = _key(iso)
        f = mine.get(key)
        res.cycles += 1
        if f is None:
            res.mismatches.append(f'{iso}: gpsd reports a cycle kaiyo has no fix for')
            continue
        paired.add(key)
        if f.mode != tpv.get('mode'):
            if f.self_contradictory:
                res.ambiguous_mode.append(f'{iso}: mode {f.mode} vs gpsd {tpv.get("mode")}')
            else:
                res.mismatches.append(f'{iso}: mode {f.mode} vs gpsd {tpv.get("mode")}')
        res.compared['mode'] += 1
        checks = [('lat', f.lat, LATLON_TOL_DEG, True), ('lon', f.lon, LATLON_TOL_DEG, True),
                  ('speed', f.speed_mps, SPEED_TOL_MPS, f.speed_mps is not None),
                  ('track', f.track_deg, TRACK_TOL_DEG, f.track_deg is not None)]
        for name_, value, tol, applies in checks:
            if name_ not in tpv or not applies:
                continue
            res.compared[name_] += 1
            if value is None or abs(value - tpv[name_]) > tol:
                res.mismatches.append(f'{iso}: {name_} {value} vs gpsd {tpv[name_]}')
    res.unpaired = [f.iso_time() for k, f in mine.items() if k not in paired]
    return res


def check_capture(log: Path, chk: Path | None = None) -> CheckResult:
    """Decode `log` with kaiyo and compare with gpsd's `log.chk` (see the module rules)."""
    chk = chk or log.with_name(log.name + '.chk')
    lines = log.read_text(encoding='ascii', errors='replace').splitlines()
    fixes = list(decode_lines(lines))
    return compare(fixes, gpsd_cycles(chk.read_text(encoding='utf-8', errors='replace')),
                   log.name)
