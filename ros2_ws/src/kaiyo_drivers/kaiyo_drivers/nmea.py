"""NMEA 0183 GNSS and heading sentences: framing, checksums, decoding, fix assembly (pure).

A sentence is `$TTSSS,f1,f2,...*HH<CR><LF>`: TT the talker (GP GPS, GL GLONASS, GA Galileo,
GB/BD BeiDou, QZ QZSS, GN multi-constellation, HE gyro, IN integrated nav), SSS the type, HH
the XOR of every byte between `$` and `*`. Proprietary sentences start `$P` + maker (PASHR).

Layers:
- `LineSplitter`: bytes in any chunking -> complete lines; overlong garbage is dropped and
  counted (the standard allows 82 characters; high-precision NMEA 4.10 lines are longer, so
  the limit is 256).
- `parse_sentence`: one line -> `Sentence` (talker, type, fields) with the checksum checked.
- `decode`: Sentence -> a typed record (Gga, Rmc, Vtg, Gsa, Gsv, Zda, Gns, Gll, Hdt, Ths,
  Pashr). Every malformed field raises `NmeaError` naming the sentence type and the field.
- `FixAssembler`: records -> one `Fix` per reporting cycle.

Reporting cycle rule (how sentences are merged into one fix). A receiver sends, once per
epoch, a burst of sentences about the same instant. Sentences that carry a UTC time of day
(GGA, RMC, GNS, GLL, ZDA) say which epoch they belong to; a change of that time starts a new
epoch, and the finished epoch is emitted as one fix. Sentences without a time (GSA, GSV,
VTG, HDT, THS) are merged into the epoch in progress. Within an epoch a later value of a
field replaces an earlier one. The date comes from RMC (ddmmyy, years 80-99 -> 19xx,
00-79 -> 20xx) or ZDA (4-digit year) and carries over to later epochs, rolling over at UTC
midnight; a fix has no time until a date has been seen.

Fix mode rule (1 no fix, 2 2D, 3 3D), from what the receiver states in the epoch:
- an explicit "no fix" (RMC or GLL status V, GGA quality 0, GNS mode all N) -> 1;
- GGA quality > 0 with zero satellites in use counts as "no fix" (a coasting receiver);
- a position with an altitude (GGA/GNS), or whose latest GSA said 3D -> 3;
- any other position -> 2;
- no position in the epoch -> the latest GSA mode, else the previous cycle's mode, else 1.
A GSA counts only if it lists satellites in use (or says 1, no fix): an empty GSA states no
solution (its DOPs are placeholders), and multi-GNSS receivers send one per constellation.
PASHR carries its own (faster) attitude clock and is merged into the epoch in progress.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

KNOT_MPS = 1852.0 / 3600.0
MAX_LINE = 256


class NmeaError(ValueError):
    """A sentence (or one of its fields) is malformed; the message says which."""


class ChecksumError(NmeaError):
    """The checksum is missing or does not match the sentence."""


# ---------------------------------------------------------------------------- framing


class LineSplitter:
    """Split a byte stream into text lines at CR/LF; drop overlong or binary garbage."""

    def __init__(self, max_line: int = MAX_LINE):
        self.max_line = max_line
        self._buf = bytearray()
        self.dropped = 0          # lines dropped for length or bad bytes

    def feed(self, data: bytes) -> list[str]:
        self._buf.extend(data)
        out = []
        while True:
            cut = -1
            for i, b in enumerate(self._buf):
                if b in (0x0A, 0x0D):
                    cut = i
                    break
            if cut < 0:
                if len(self._buf) > self.max_line:   # no terminator in sight: garbage
                    self._buf.clear()
                    self.dropped += 1
                break
            raw = bytes(self._buf[:cut])
            del self._buf[:cut + 1]
            if not raw:
                continue
            if len(raw) > self.max_line:
                self.dropped += 1
                continue
            try:
                out.append(raw.decode('ascii'))
            except UnicodeDecodeError:
                self.dropped += 1
        return out


@dataclass(frozen=True)
class Sentence:
    talker: str          # 'GP', 'GN', ... ('P' for proprietary)
    type: str            # 'GGA', 'RMC', ... (for proprietary: maker + type, e.g. 'ASHR')
    fields: tuple[str, ...]
    raw: str


def checksum(body: str) -> int:
    c = 0
    for ch in body.encode('ascii', 'replace'):
        c ^= ch
    return c


def parse_sentence(line: str, require_checksum: bool = True) -> Sentence:
    """One text line -> Sentence. Raises NmeaError / ChecksumError."""
    line = line.strip()
    start = max(line.rfind('$'), line.rfind('!'))   # junk before the start is line noise
    if start < 0:
        raise NmeaError(f'not an NMEA sentence (no $ or !): {line[:40]!r}')
    line = line[start:]
    if not all(32 <= ord(c) < 127 for c in line):
        raise NmeaError(f'non-printable characters in {line[:40]!r}')
    star = line.rfind('*')
    if star >= 0:
        body, cs = line[1:star], line[star + 1:]
        if len(cs) != 2 or any(c not in '0123456789abcdefABCDEF' for c in cs):
            raise ChecksumError(f'bad checksum field {cs!r} in {line[:40]!r}')
        want = int(cs, 16)
        got = checksum(body)
        if got != want:
            raise ChecksumError(f'checksum {want:02X} != computed {got:02X} in {line[:40]!r}')
    else:
        if require_checksum:
            raise ChecksumError(f'no checksum in {line[:40]!r}')
        body = line[1:]
    parts = body.split(',')
    addr = parts[0]
    if not addr.isalnum() or len(addr) < 3:
        raise NmeaError(f'bad address field {addr!r} in {line[:40]!r}')
    if addr.startswith('P'):
        talker, typ = 'P', addr[1:]
    else:
        if len(addr) != 5:
            raise NmeaError(f'bad address field {addr!r} in {line[:40]!r}')
        talker, typ = addr[:2], addr[2:]
    return Sentence(talker, typ, tuple(parts[1:]), line)


# ---------------------------------------------------------------------- field helpers


def _f(s: Sentence, i: int) -> str:
    return s.fields[i] if i < len(s.fields) else ''


def _float(s: Sentence, i: int, name: str) -> float | None:
    v = _f(s, i)
    if v == '':
        return None
    try:
        x = float(v)
    except ValueError:
        raise NmeaError(f'{s.type}: field {i + 1} ({name}) {v!r} is not a number') from None
    if not math.isfinite(x):
        raise NmeaError(f'{s.type}: field {i + 1} ({name}) {v!r} is not finite')
    return x


def _int(s: Sentence, i: int, name: str) -> int | None:
    v = _f(s, i)
    if v == '':
        return None
    if not v.isdigit():
        raise NmeaError(f'{s.type}: field {i + 1} ({name}) {v!r} is not an integer')
    return int(v)


def _time(s: Sentence, i: int) -> int | None:
    """hhmmss[.sss] -> microseconds since UTC midnight."""
    v = _f(s, i)
    if v == '':
        return None
    head, _, frac = v.partition('.')
    if len(head) != 6 or not head.isdigit() or (frac and not frac.isdigit()):
        raise NmeaError(f'{s.type}: time {v!r} is not hhmmss[.ss]')
    hh, mm, ss = int(head[:2]), int(head[2:4]), int(head[4:])
    if hh > 23 or mm > 59 or ss > 60:
        raise NmeaError(f'{s.type}: time {v!r} out of range')
    us = int((frac + '000000')[:6]) if frac else 0
    return ((hh * 60 + mm) * 60 + ss) * 1_000_000 + us


def _latlon(s: Sentence, i: int, is_lat: bool) -> float | None:
    v, hemi = _f(s, i), _f(s, i + 1)
    if v == '':
        return None     # some receivers keep the N/E letters while they have no fix
    name = 'latitude' if is_lat else 'longitude'
    deg_digits = 2 if is_lat else 3
    head = v.split('.')[0]
    if len(head) < deg_digits + 2 or not head.isdigit():
        raise NmeaError(f'{s.type}: {name} {v!r} is not {"dd" if is_lat else "ddd"}mm.mmm')
    try:
        deg = int(v[:len(head) - 2])
        minutes = float(v[len(head) - 2:])
    except ValueError:
        raise NmeaError(f'{s.type}: {name} {v!r} is not a number') from None
    if not 0.0 <= minutes < 60.0 or not math.isfinite(minutes):
        raise NmeaError(f'{s.type}: {name} {v!r} has minutes >= 60')
    x = deg + minutes / 60.0
    ok = {True: 'NS', False: 'EW'}[is_lat]
    if hemi not in ok or hemi == '':
        raise NmeaError(f'{s.type}: {name} hemisphere {hemi!r} must be {ok[0]} or {ok[1]}')
    if hemi in 'SW':
        x = -x
    if abs(x) > (90.0 if is_lat else 180.0):
        raise NmeaError(f'{s.type}: {name} {x:.6f} out of range')
    return x


# ------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Gga:
    time_us: int | None
    lat: float | None
    lon: float | None
    quality: int            # 0 invalid, 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float, 6 DR
    num_sats: int | None
    hdop: float | None
    alt_msl: float | None   # m above mean sea level (geoid)
    geoid_sep: float | None


@dataclass(frozen=True)
class Rmc:
    time_us: int | None
    valid: bool             # status A
    lat: float | None
    lon: float | None
    speed_mps: float | None
    track_deg: float | None
    date: dt.date | None


@dataclass(frozen=True)
class Vtg:
    track_deg: float | None
    speed_mps: float | None
    valid: bool             # mode indicator not N


@dataclass(frozen=True)
class Gsa:
    mode: int | None        # 1 no fix, 2 2D, 3 3D
    prns: tuple[int, ...]
    pdop: float | None
    hdop: float | None
    vdop: float | None


@dataclass(frozen=True)
class Gsv:
    total: int
    number: int
    in_view: int | None
    sats: tuple[tuple[int, float | None, float | None, float | None], ...]  # prn, el, az, snr


@dataclass(frozen=True)
class Zda:
    time_us: int | None
    date: dt.date | None


@dataclass(frozen=True)
class Gns:
    time_us: int | None
    lat: float | None
    lon: float | None
    modes: str              # one letter per constellation; N = no fix
    num_sats: int | None
    hdop: float | None
    alt_msl: float | None


@dataclass(frozen=True)
class Gll:
    time_us: int | None
    lat: float | None
    lon: float | None
    valid: bool


@dataclass(frozen=True)
class Heading:              # HDT, THS: true heading
    heading_deg: float | None
    valid: bool


@dataclass(frozen=True)
class Pashr:                # attitude: heading, roll, pitch, heave (own, faster clock)
    stamp_us: int | None    # not an epoch time: attitude runs faster than the GNSS cycle
    heading_deg: float | None
    roll_deg: float | None
    pitch_deg: float | None
    heave_m: float | None
    quality: int | None


def _date_ddmmyy(s: Sentence, i: int) -> dt.date | None:
    v = _f(s, i)
    if v == '':
        return None
    if len(v) != 6 or not v.isdigit():
        raise NmeaError(f'{s.type}: date {v!r} is not ddmmyy')
    yy = int(v[4:])
    try:
        return dt.date(1900 + yy if yy >= 80 else 2000 + yy, int(v[2:4]), int(v[:2]))
    except ValueError:
        raise NmeaError(f'{s.type}: date {v!r} is not a calendar date') from None


def _need(s: Sentence, n: int) -> None:
    if len(s.fields) < n:
        raise NmeaError(f'{s.type}: {len(s.fields)} fields, at least {n} expected')


def decode(s: Sentence):
    """Sentence -> typed record, or None for a type kaiyo does not use. Raises NmeaError."""
    t = s.type
    if t == 'GGA':
        _need(s, 9)
        q = _int(s, 5, 'quality')
        return Gga(_time(s, 0), _latlon(s, 1, True), _latlon(s, 3, False), q or 0,
                   _int(s, 6, 'satellites'), _float(s, 7, 'hdop'), _float(s, 8, 'altitude'),
                   _float(s, 10, 'geoid separation'))
    if t == 'RMC':
        _need(s, 9)
        st = _f(s, 1)
        if st not in ('A', 'V', ''):
            raise NmeaError(f'RMC: status {st!r} must be A or V')
        kn = _float(s, 6, 'speed')
        return Rmc(_time(s, 0), st == 'A', _latlon(s, 2, True), _latlon(s, 4, False),
                   None if kn is None else kn * KNOT_MPS, _float(s, 7, 'track'),
                   _date_ddmmyy(s, 8))
    if t == 'VTG':
        _need(s, 5)
        kn = _float(s, 4, 'speed knots')
        kmh = _float(s, 6, 'speed km/h')
        speed = kn * KNOT_MPS if kn is not None else (None if kmh is None else kmh / 3.6)
        return Vtg(_float(s, 0, 'track'), speed, _f(s, 8) != 'N')
    if t == 'GSA':
        _need(s, 2)
        mode = _int(s, 1, 'mode')
        if mode is not None and mode not in (1, 2, 3):
            raise NmeaError(f'GSA: mode {mode} must be 1, 2 or 3')
        prns = tuple(p for p in (_int(s, i, 'prn') for i in range(2, min(14, len(s.fields))))
                     if p is not None)
        n = len(s.fields)
        # the DOPs are the last three fields (NMEA 4.1 adds a system id after them)
        off = 1 if n >= 18 else 0
        dops = [_float(s, n - 3 - off + k, 'dop') if n >= 15 else None for k in range(3)]
        return Gsa(mode, prns, *dops)
    if t == 'GSV':
        _need(s, 3)
        total, number = _int(s, 0, 'sentences'), _int(s, 1, 'sentence number')
        if not total or not number or number > total:
            raise NmeaError(f'GSV: sentence {number} of {total} is inconsistent')
        sats = []
        for i in range(3, len(s.fields) - 3, 4):
            prn = _int(s, i, 'prn')
            if prn is not None:
                sats.append((prn, _float(s, i + 1, 'elevation'), _float(s, i + 2, 'azimuth'),
                             _float(s, i + 3, 'snr')))
        return Gsv(total, number, _int(s, 2, 'in view'), tuple(sats))
    if t == 'ZDA':
        _need(s, 4)
        d, m, y = _int(s, 1, 'day'), _int(s, 2, 'month'), _int(s, 3, 'year')
        date = None
        if None not in (d, m, y):
            try:
                date = dt.date(y, m, d)
            except ValueError:
                raise NmeaError(f'ZDA: {y}-{m}-{d} is not a calendar date') from None
        return Zda(_time(s, 0), date)
    if t == 'GNS':
        _need(s, 9)
        modes = _f(s, 5)
        if not modes.isalpha() and modes != '':
            raise NmeaError(f'GNS: mode indicator {modes!r} must be letters')
        return Gns(_time(s, 0), _latlon(s, 1, True), _latlon(s, 3, False), modes,
                   _int(s, 6, 'satellites'), _float(s, 7, 'hdop'), _float(s, 8, 'altitude'))
    if t == 'GLL':
        _need(s, 6)
        mode = _f(s, 6)
        return Gll(_time(s, 4), _latlon(s, 0, True), _latlon(s, 2, False),
                   _f(s, 5) == 'A' and mode != 'N')
    if t == 'HDT':
        _need(s, 1)
        return Heading(_float(s, 0, 'heading'), _f(s, 0) != '')
    if t == 'THS':
        _need(s, 2)
        # status: A autonomous, E estimated, M manual, S simulator, V invalid
        return Heading(_float(s, 0, 'heading'), _f(s, 1) in ('A', 'E'))
    if s.talker == 'P' and t == 'ASHR':
        _need(s, 6)
        return Pashr(_time(s, 0), _float(s, 1, 'heading'), _float(s, 3, 'roll'),
                     _float(s, 4, 'pitch'), _float(s, 5, 'heave'), _int(s, 9, 'quality'))
    return None


# ------------------------------------------------------------------------ assembly


@dataclass(frozen=True)
class Fix:
    """One reporting cycle, merged. None: not reported in this cycle."""

    time: dt.datetime | None       # UTC; None until a date is known
    time_us: int | None            # microseconds since UTC midnight
    lat: float | None = None
    lon: float | None = None
    alt_msl: float | None = None   # m above the geoid
    mode: int | None = None        # 1 no fix, 2 2D, 3 3D
    quality: int | None = None     # GGA quality indicator
    num_sats: int | None = None
    hdop: float | None = None
    speed_mps: float | None = None
    track_deg: float | None = None
    heading_deg: float | None = None   # true heading (HDT/THS/PASHR)
    roll_deg: float | None = None
    pitch_deg: float | None = None
    gsa_mode: int | None = None    # fix type stated by a GSA inside this cycle
    talkers: tuple[str, ...] = ()

    @property
    def self_contradictory(self) -> bool:
        """The receiver sent an altitude and, in the same cycle, a GSA saying 2D."""
        return self.alt_msl is not None and self.gsa_mode == 2

    def iso_time(self) -> str | None:
        if self.time is None:
            return None
        ms = self.time.microsecond // 1000
        return self.time.strftime('%Y-%m-%dT%H:%M:%S') + f'.{ms:03d}Z'

    def as_json(self) -> dict:
        return {'time': self.iso_time(), 'lat': self.lat, 'lon': self.lon,
                'alt': self.alt_msl, 'mode': self.mode, 'speed': self.speed_mps,
                'track': self.track_deg, 'hdop': self.hdop, 'heading': self.heading_deg}


@dataclass
class _Epoch:
    time_us: int | None
    date: dt.date | None = None
    lat: float | None = None
    lon: float | None = None
    alt: float | None = None
    no_fix: bool = False
    position: bool = False
    values: dict = field(default_factory=dict)
    talkers: set = field(default_factory=set)


class FixAssembler:
    """Merge decoded records into one Fix per reporting cycle (see the module docstring)."""

    def __init__(self):
        self._epoch: _Epoch | None = None
        self._date: dt.date | None = None        # last known UTC date
        self._date_tod: int | None = None        # time of day when the date was set
        self._gsa_mode: int | None = None
        self._last_mode: int | None = None

    def feed(self, rec, talker: str = '') -> list[Fix]:
        """Feed one record; returns the fixes of cycles this record closed (0 or 1)."""
        out = []
        tod = getattr(rec, 'time_us', None)
        if tod is not None and (self._epoch is None or self._epoch.time_us != tod):
            if self._epoch is not None and self._epoch.time_us is not None:
                out.append(self._finish(self._epoch))
            self._epoch = _Epoch(tod)
        elif self._epoch is None:
            self._epoch = _Epoch(None)
        self._merge(self._epoch, rec, talker)
        return out

    @property
    def pending(self) -> bool:
        """A cycle with a time is in progress (not yet emitted)."""
        return self._epoch is not None and self._epoch.time_us is not None

    def flush(self) -> list[Fix]:
        """End of input (or of a burst): emit the cycle in progress."""
        out = []
        if self._epoch is not None and self._epoch.time_us is not None:
            out.append(self._finish(self._epoch))
        self._epoch = None
        return out

    def _merge(self, e: _Epoch, rec, talker: str) -> None:
        v = e.values
        if talker:
            e.talkers.add(talker)
        if isinstance(rec, Gga):
            if rec.quality == 0 or rec.num_sats == 0:
                # quality > 0 with zero satellites in use is a receiver coasting on a
                # stale solution, not a fix
                e.no_fix = True
            elif rec.lat is not None and rec.lon is not None:
                e.lat, e.lon, e.position = rec.lat, rec.lon, True
                if rec.alt_msl is not None:
                    e.alt = rec.alt_msl
            v.update(_present(quality=rec.quality, num_sats=rec.num_sats, hdop=rec.hdop))
        elif isinstance(rec, Rmc):
            if not rec.valid:
                e.no_fix = True
            else:
                if rec.lat is not None and rec.lon is not None:
                    e.lat, e.lon, e.position = rec.lat, rec.lon, True
                v.update(_present(speed_mps=rec.speed_mps, track_deg=rec.track_deg))
            if rec.date is not None:
                e.date = rec.date
        elif isinstance(rec, Gns):
            if rec.modes and set(rec.modes) <= {'N'}:
                e.no_fix = True
            elif rec.lat is not None and rec.lon is not None:
                e.lat, e.lon, e.position = rec.lat, rec.lon, True
                if rec.alt_msl is not None:
                    e.alt = rec.alt_msl
            v.update(_present(num_sats=rec.num_sats, hdop=rec.hdop))
        elif isinstance(rec, Gll):
            if not rec.valid:
                e.no_fix = True
            elif rec.lat is not None and rec.lon is not None:
                e.lat, e.lon, e.position = rec.lat, rec.lon, True
        elif isinstance(rec, Zda):
            if rec.date is not None:
                e.date = rec.date
        elif isinstance(rec, Vtg):
            if rec.valid:
                v.update(_present(speed_mps=rec.speed_mps, track_deg=rec.track_deg))
        elif isinstance(rec, Gsa):
            # a GSA that lists no satellite in use states no solution (its DOPs are
            # placeholders such as 50.0 or 99.0); multi-GNSS receivers also send one GSA
            # per constellation, empty for unused ones. Only GSAs with satellites count.
            if rec.mode is not None and (rec.prns or rec.mode == 1):
                self._gsa_mode = rec.mode
                e.values['gsa_mode'] = rec.mode
            v.update(_present(hdop=rec.hdop))
        elif isinstance(rec, Heading):
            if rec.valid and rec.heading_deg is not None:
                v['heading_deg'] = rec.heading_deg
        elif isinstance(rec, Pashr):
            v.update(_present(heading_deg=rec.heading_deg, roll_deg=rec.roll_deg,
                              pitch_deg=rec.pitch_deg))

    def _finish(self, e: _Epoch) -> Fix:
        # date: this epoch's own, else the last one, rolled over at UTC midnight
        if e.date is not None:
            self._date, self._date_tod = e.date, e.time_us
        elif self._date is not None and self._date_tod is not None:
            if e.time_us + 12 * 3600 * 1_000_000 < self._date_tod:
                self._date += dt.timedelta(days=1)
            self._date_tod = e.time_us
        time = None
        if self._date is not None:
            time = (dt.datetime(self._date.year, self._date.month, self._date.day,
                                tzinfo=dt.UTC)
                    + dt.timedelta(microseconds=e.time_us))
        v = e.values
        if e.no_fix and not e.position:
            mode = 1
        elif e.position:
            mode = 3 if (e.alt is not None or self._gsa_mode == 3) else 2
        else:
            # nothing about the position in this cycle (e.g. a lone ZDA): the receiver's
            # latest statement of its fix state holds; with none at all, there is no fix
            mode = self._gsa_mode or self._last_mode or 1
        self._last_mode = mode
        fix = Fix(time=time, time_us=e.time_us, mode=mode, talkers=tuple(sorted(e.talkers)),
                  quality=v.get('quality'), num_sats=v.get('num_sats'), hdop=v.get('hdop'),
                  heading_deg=v.get('heading_deg'), roll_deg=v.get('roll_deg'),
                  pitch_deg=v.get('pitch_deg'), gsa_mode=v.get('gsa_mode'))
        if mode is not None and mode >= 2:
            fix = replace(fix, lat=e.lat, lon=e.lon, alt_msl=e.alt if mode == 3 else None,
                          speed_mps=v.get('speed_mps'), track_deg=v.get('track_deg'))
        return fix


def _present(**kw) -> dict:
    return {k: x for k, x in kw.items() if x is not None}


@dataclass
class DecodeStats:
    lines: int = 0
    sentences: int = 0
    bad_checksum: int = 0
    malformed: int = 0
    unknown: int = 0
    last_error: str = ''


class NmeaDecoder:
    """Bytes or lines -> fixes, counting what it drops. Never raises on input."""

    def __init__(self, require_checksum: bool = True):
        self.splitter = LineSplitter()
        self.assembler = FixAssembler()
        self.require_checksum = require_checksum
        self.stats = DecodeStats()
        self.records: list = []      # records of the last feed (for heading etc.)

    def feed_bytes(self, data: bytes) -> list[Fix]:
        out = []
        for line in self.splitter.feed(data):
            out.extend(self.feed_line(line))
        return out

    def feed_line(self, line: str) -> list[Fix]:
        self.stats.lines += 1
        try:
            s = parse_sentence(line, self.require_checksum)
            rec = decode(s)
        except ChecksumError as err:
            self.stats.bad_checksum += 1
            self.stats.last_error = str(err)
            return []
        except NmeaError as err:
            self.stats.malformed += 1
            self.stats.last_error = str(err)
            return []
        if rec is None:
            self.stats.unknown += 1
            return []
        self.stats.sentences += 1
        self.records.append(rec)
        return self.assembler.feed(rec, s.talker)

    def flush(self) -> list[Fix]:
        return self.assembler.flush()

    @property
    def pending(self) -> bool:
        return self.assembler.pending

    def take_records(self) -> list:
        recs, self.records = self.records, []
        return recs


def decode_lines(lines, require_checksum: bool = True) -> Iterator[Fix]:
    """Decode a whole capture (iterable of text lines; '#' comment lines skipped)."""
    d = NmeaDecoder(require_checksum)
    for line in lines:
        if line.startswith('#'):
            continue
        yield from d.feed_line(line)
        d.records.clear()
    yield from d.flush()
