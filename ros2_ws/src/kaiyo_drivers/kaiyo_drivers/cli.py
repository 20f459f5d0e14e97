"""`kaiyo nmea decode FILE [--json]` and `kaiyo nmea check FILE.log`.

decode: one fix per receiver reporting cycle (see kaiyo_drivers.nmea), as JSON lines
(time ISO-8601 UTC, lat, lon, alt m MSL, mode 1/2/3, speed m/s, track deg, hdop, heading
deg) for checking against reference decoders, or as a table. Bad sentences are dropped and
counted on stderr. check: compare with gpsd's `FILE.log.chk` (rules in
kaiyo_drivers.nmea_check); exit 1 on a mismatch.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from kaiyo_drivers.nmea import NmeaDecoder
from kaiyo_drivers.nmea_check import check_capture


def register(subparsers) -> None:
    p = subparsers.add_parser('nmea', help='decode NMEA 0183 captures')
    sub = p.add_subparsers(dest='nmea_command', metavar='ACTION')
    sub.required = True
    d = sub.add_parser('decode', help='print one fix per reporting cycle')
    d.add_argument('file', help="capture file ('-' for stdin); '#' lines are comments")
    d.add_argument('--json', action='store_true', help='one JSON object per fix')
    d.add_argument('--no-checksum-ok', action='store_true',
                   help='accept sentences without a *HH checksum (default: drop them)')
    d.set_defaults(func=_decode)
    c = sub.add_parser('check', help="compare with gpsd's FILE.chk expected output")
    c.add_argument('file', nargs='+', help='capture(s) with a .chk file next to them')
    c.add_argument('-v', '--verbose', action='store_true', help='list every difference')
    c.set_defaults(func=_check)


def _lines(name: str):
    if name == '-':
        return sys.stdin.buffer.read().splitlines()
    path = Path(name)
    if not path.is_file():
        raise SystemExit(f'kaiyo nmea: {name}: no such file')
    return path.read_bytes().splitlines()


def _decode(args) -> int:
    dec = NmeaDecoder(require_checksum=not args.no_checksum_ok)
    fixes = []
    for raw in _lines(args.file):
        if raw.startswith(b'#'):
            continue
        fixes.extend(dec.feed_bytes(raw + b'\n'))
        dec.take_records()
    fixes.extend(dec.flush())
    for f in fixes:
        j = f.as_json()
        if args.json:
            print(json.dumps(j))
        else:
            print(f"{j['time'] or '-':24s} mode {j['mode'] or '-'}  "
                  f"{_num(j['lat'], 9)} {_num(j['lon'], 9)} alt {_num(j['alt'], 2)} m  "
                  f"speed {_num(j['speed'], 3)} m/s  track {_num(j['track'], 2)} deg")
    s = dec.stats
    print(f'kaiyo nmea: {len(fixes)} fixes from {s.lines} lines; dropped '
          f'{s.bad_checksum} bad checksum, {s.malformed + dec.splitter.dropped} malformed, '
          f'{s.unknown} unused types', file=sys.stderr)
    if s.last_error:
        print(f'kaiyo nmea: last dropped: {s.last_error}', file=sys.stderr)
    return 0


def _num(v, digits: int) -> str:
    return '-' if v is None else f'{v:.{digits}f}'


def _check(args) -> int:
    bad = 0
    for name in args.file:
        log = Path(name)
        chk = log.with_name(log.name + '.chk')
        if not log.is_file() or not chk.is_file():
            print(f'{name}: needs the capture and {chk.name} next to it', file=sys.stderr)
            bad += 1
            continue
        r = check_capture(log, chk)
        status = 'OK' if r.ok else 'MISMATCH'
        print(f'{status:8s} {r.file}: {r.cycles} gpsd cycles, {r.fixes} kaiyo fixes; '
              f'compared {r.compared}; {len(r.mismatches)} mismatches, '
              f'{len(r.ambiguous_mode)} ambiguous-mode cycles, {len(r.unpaired)} unpaired')
        for m in (r.mismatches + r.ambiguous_mode) if args.verbose else r.mismatches[:5]:
            print(f'    {m}')
        bad += not r.ok
    return 1 if bad else 0
