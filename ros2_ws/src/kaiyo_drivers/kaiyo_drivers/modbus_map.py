"""Modbus register maps from a hardware YAML (pure: no rclpy, no I/O beyond reading the file).

A Modbus device exposes 16-bit words in four tables: holding registers (read/write),
input registers (read-only), coils (read/write bits) and discrete inputs (read-only bits).
A physical quantity lives in one word (uint16/int16) or two (uint32/int32/float32, whose
word order differs between vendors), stored as a raw integer that maps to the engineering
value through `value = raw * scale + offset`.

The map lives inside a hardware YAML that is also a ROS params file: each device is one
node block whose `ros__parameters` hold the connection settings and a `registers:` mapping
(name -> fields). rcl turns nested mappings into dotted parameters, so the same file loads
with `--params-file`; the driver node reads the register table from it with this module.

    /plant/plant_modbus:
      ros__parameters:
        device: plant                  # the name load_register_map() looks for
        transport: tcp                 # tcp | rtu
        host: 127.0.0.1
        port: 5020
        unit_id: 1
        poll_period_s: 1.0
        timeout_s: 0.5
        stale_after_s: 5.0
        registers:
          generator_speed_rpm: {address: 0, table: input, type: uint16, scale: 0.1,
                                unit: rpm, description: Generator shaft speed}

API:
    rmap = load_register_map('hardware/plant.yaml', 'plant')
    rmap.settings.port, rmap['power_kw'].unit
    rmap.decode('power_kw', [0x4120, 0x0000])      -> 10.0
    rmap.encode('power_kw', 10.0)                   -> [0x4120, 0x0000]
    for block in rmap.read_blocks(): words = <read block.count from block.table at block.start>
        rmap.decode_block(block, words)             -> {'power_kw': 10.0, ...}
    rmap.encode_tables({'power_kw': 10.0, ...})     -> {'input': {2: 0x4120, 3: 0}, ...}

Every error is a `RegisterMapError` naming the file, the device and the register.
"""
from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kaiyo_common.params import ParameterContractError
from kaiyo_common.paths import data_path

TABLES = ('holding', 'input', 'coil', 'discrete')
WORD_TABLES = ('holding', 'input')
BIT_TABLES = ('coil', 'discrete')
TYPES = {'uint16': 1, 'int16': 1, 'uint32': 2, 'int32': 2, 'float32': 2, 'bool': 1}
WORD_ORDERS = ('big', 'little')   # big: high word first (Modicon convention); little: low first
TRANSPORTS = ('tcp', 'rtu')
_REGISTER_KEYS = {'address', 'table', 'type', 'word_order', 'scale', 'offset', 'unit',
                  'description'}
MAX_READ_WORDS = 125      # Modbus limit for one read of registers (function 3/4)
MAX_READ_BITS = 2000      # Modbus limit for one read of coils / discrete inputs (function 1/2)


class RegisterMapError(ValueError):
    """A register map (or a value to encode / decode with it) is wrong; says where."""


@dataclass(frozen=True)
class DeviceSettings:
    """How to reach one Modbus device (the scalar `ros__parameters` of its block)."""

    transport: str = 'tcp'
    host: str = '127.0.0.1'
    port: int = 502                  # TCP port
    serial_port: str = ''            # RTU: serial device, e.g. /dev/ttyUSB0
    baud: int = 19200                # RTU: bit/s
    parity: str = 'N'                # RTU: N | E | O
    stopbits: int = 1                # RTU
    unit_id: int = 1                 # Modbus unit (slave) id, 0..247
    poll_period_s: float = 1.0
    timeout_s: float = 0.5           # per request
    stale_after_s: float = 5.0       # readings older than this are reported stale


@dataclass(frozen=True)
class Register:
    """One named quantity: where it lives and how raw words map to the engineering value."""

    name: str
    address: int
    table: str
    type: str = 'uint16'
    word_order: str = 'big'
    scale: float = 1.0
    offset: float = 0.0
    unit: str = ''
    description: str = ''

    @property
    def count(self) -> int:
        """Words (or bits) this register occupies."""
        return TYPES[self.type]

    def _raw_from_words(self, words: Sequence[int]) -> float:
        if len(words) != self.count:
            raise RegisterMapError(f"register '{self.name}': expected {self.count} word(s), "
                                   f"got {len(words)}")
        if self.table in BIT_TABLES:
            return 1.0 if words[0] else 0.0
        for w in words:
            if isinstance(w, bool) or not isinstance(w, int) or not 0 <= w <= 0xFFFF:
                raise RegisterMapError(f"register '{self.name}': raw word {w!r} is not 0..65535")
        if self.count == 2:
            hi, lo = (words[0], words[1]) if self.word_order == 'big' else (words[1], words[0])
            data = struct.pack('>HH', hi, lo)
        else:
            data = struct.pack('>H', words[0])
        fmt = {'uint16': '>H', 'int16': '>h', 'uint32': '>I', 'int32': '>i',
               'float32': '>f'}[self.type]
        return float(struct.unpack(fmt, data)[0])

    def decode(self, words: Sequence[int]) -> float:
        """Raw words (bits as 0/1 or bool) -> engineering value (raw * scale + offset)."""
        raw = self._raw_from_words(words)
        if self.table in BIT_TABLES:
            return raw
        return raw * self.scale + self.offset

    def encode(self, value: float) -> list[int]:
        """Engineering value -> raw words (bits: [0] or [1]). Raises if it does not fit."""
        if isinstance(value, bool) and self.table not in BIT_TABLES:
            value = float(value)
        if not isinstance(value, (int, float)):
            raise RegisterMapError(f"register '{self.name}': value {value!r} is not a number")
        if self.table in BIT_TABLES:
            return [1 if value else 0]
        raw = (float(value) - self.offset) / self.scale
        if self.type == 'float32':
            if math.isfinite(raw) and abs(raw) > 3.4028234663852886e38:
                raise RegisterMapError(f"register '{self.name}': {value} {self.unit} "
                                       f"overflows float32")
            data = struct.pack('>f', raw)
        else:
            if not math.isfinite(raw):
                raise RegisterMapError(f"register '{self.name}': cannot encode {value}")
            n = int(round(raw))
            lo, hi = {'uint16': (0, 0xFFFF), 'int16': (-0x8000, 0x7FFF),
                      'uint32': (0, 0xFFFFFFFF), 'int32': (-0x80000000, 0x7FFFFFFF)}[self.type]
            if not lo <= n <= hi:
                raise RegisterMapError(
                    f"register '{self.name}': {value} {self.unit} is raw {n}, outside "
                    f"{self.type} range {lo}..{hi} (scale {self.scale}, offset {self.offset})")
            fmt = {'uint16': '>H', 'int16': '>h', 'uint32': '>I', 'int32': '>i'}[self.type]
            data = struct.pack(fmt, n)
        if len(data) == 2:
            return [struct.unpack('>H', data)[0]]
        hi_w, lo_w = struct.unpack('>HH', data)
        return [hi_w, lo_w] if self.word_order == 'big' else [lo_w, hi_w]


@dataclass(frozen=True)
class ReadBlock:
    """One Modbus read request covering several registers of one table."""

    table: str
    start: int
    count: int
    registers: tuple[Register, ...]


@dataclass(frozen=True)
class RegisterMap:
    device: str
    source: str                      # file the map came from (for messages)
    settings: DeviceSettings
    registers: tuple[Register, ...]
    _by_name: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_name.update({r.name: r for r in self.registers})

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.registers]

    @property
    def units(self) -> list[str]:
        return [r.unit for r in self.registers]

    def __getitem__(self, name: str) -> Register:
        try:
            return self._by_name[name]
        except KeyError:
            raise RegisterMapError(f"{self.source}: device '{self.device}' has no register "
                                   f"'{name}'; known: {', '.join(self.names)}") from None

    def __iter__(self):
        return iter(self.registers)

    def __len__(self) -> int:
        return len(self.registers)

    def decode(self, name: str, words: Sequence[int]) -> float:
        return self[name].decode(words)

    def encode(self, name: str, value: float) -> list[int]:
        return self[name].encode(value)

    def read_blocks(self, max_gap: int = 8) -> list[ReadBlock]:
        """Group registers into few read requests: same table, gaps of at most `max_gap`
        unused words, within the protocol's per-request size limit."""
        blocks: list[ReadBlock] = []
        for table in TABLES:
            regs = sorted((r for r in self.registers if r.table == table),
                          key=lambda r: r.address)
            limit = MAX_READ_WORDS if table in WORD_TABLES else MAX_READ_BITS
            cur: list[Register] = []
            for reg in regs:
                if cur:
                    start = cur[0].address
                    end = max(r.address + r.count for r in cur)
                    if (reg.address - end > max_gap
                            or reg.address + reg.count - start > limit):
                        blocks.append(_block(table, cur))
                        cur = []
                cur.append(reg)
            if cur:
                blocks.append(_block(table, cur))
        return blocks

    def decode_block(self, block: ReadBlock, words: Sequence[int]) -> dict[str, float]:
        """Decode every register of `block` from the words (or bits) read for it."""
        if len(words) < block.count:
            raise RegisterMapError(f"{self.source}: device '{self.device}': read of {block.table} "
                                   f"{block.start}+{block.count} returned {len(words)} values")
        out = {}
        for reg in block.registers:
            i = reg.address - block.start
            out[reg.name] = reg.decode(list(words[i:i + reg.count]))
        return out

    def encode_tables(self, values: Mapping[str, float]) -> dict[str, dict[int, int]]:
        """Engineering values by name -> {table: {address: raw word or bit}} (for servers)."""
        out: dict[str, dict[int, int]] = {t: {} for t in TABLES}
        for name, value in values.items():
            reg = self[name]
            for i, w in enumerate(reg.encode(value)):
                out[reg.table][reg.address + i] = w
        return out


def _block(table: str, regs: list[Register]) -> ReadBlock:
    start = regs[0].address
    end = max(r.address + r.count for r in regs)
    return ReadBlock(table, start, end - start, tuple(regs))


def _device_blocks(doc: Mapping, source: str) -> Iterable[tuple[str, Mapping]]:
    """Yield (node key, ros__parameters) of every block in a ROS params-style document."""
    for key, block in doc.items():
        if isinstance(block, Mapping):
            params = block.get('ros__parameters')
            if isinstance(params, Mapping):
                yield str(key), params
            else:  # wildcard / nested namespace forms: /ns: node: ros__parameters
                yield from _device_blocks(block, source)


def _number(where: str, key: str, value, integer: bool = False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RegisterMapError(f"{where}: '{key}' must be a number, got {value!r}")
    if integer and not isinstance(value, int):
        raise RegisterMapError(f"{where}: '{key}' must be an integer, got {value!r}")
    if not math.isfinite(value):
        raise RegisterMapError(f"{where}: '{key}' must be finite, got {value!r}")
    return value


def _settings(where: str, params: Mapping) -> DeviceSettings:
    defaults = DeviceSettings()
    kw = {}
    for name in DeviceSettings.__dataclass_fields__:
        if name not in params:
            continue
        value = params[name]
        default = getattr(defaults, name)
        if isinstance(default, str):
            if not isinstance(value, str):
                raise RegisterMapError(f"{where}: '{name}' must be a string, got {value!r}")
        else:
            value = _number(where, name, value, integer=isinstance(default, int))
        kw[name] = value
    s = DeviceSettings(**kw)
    if s.transport not in TRANSPORTS:
        raise RegisterMapError(f"{where}: transport {s.transport!r} must be one of "
                               f"{', '.join(TRANSPORTS)}")
    if s.transport == 'rtu' and not s.serial_port:
        raise RegisterMapError(f"{where}: transport rtu needs 'serial_port'")
    if not 0 <= s.unit_id <= 247:
        raise RegisterMapError(f"{where}: unit_id {s.unit_id} must be 0..247")
    if not 0 < s.port <= 65535:
        raise RegisterMapError(f"{where}: port {s.port} must be 1..65535")
    if s.parity not in ('N', 'E', 'O'):
        raise RegisterMapError(f"{where}: parity {s.parity!r} must be N, E or O")
    for name in ('poll_period_s', 'timeout_s', 'stale_after_s'):
        if getattr(s, name) <= 0:
            raise RegisterMapError(f"{where}: '{name}' must be > 0 s")
    return s


def _register(where: str, name: str, fields) -> Register:
    here = f"{where} register '{name}'"
    if not isinstance(fields, Mapping):
        raise RegisterMapError(f"{here}: must be a mapping of fields, got {fields!r}")
    unknown = sorted(set(fields) - _REGISTER_KEYS)
    if unknown:
        raise RegisterMapError(f"{here}: unknown field '{unknown[0]}'; known: "
                               f"{', '.join(sorted(_REGISTER_KEYS))}")
    for key in ('address', 'table'):
        if key not in fields:
            raise RegisterMapError(f"{here}: '{key}' is required")
    table = fields['table']
    if table not in TABLES:
        raise RegisterMapError(f"{here}: table {table!r} must be one of {', '.join(TABLES)}")
    default_type = 'bool' if table in BIT_TABLES else 'uint16'
    typ = fields.get('type', default_type)
    if typ not in TYPES:
        raise RegisterMapError(f"{here}: type {typ!r} must be one of {', '.join(TYPES)}")
    if (typ == 'bool') != (table in BIT_TABLES):
        raise RegisterMapError(f"{here}: type {typ!r} does not fit table {table!r} "
                               f"(coil/discrete hold bool; holding/input hold words)")
    address = _number(here, 'address', fields['address'], integer=True)
    if not 0 <= address <= 0xFFFF - TYPES[typ] + 1:
        raise RegisterMapError(f"{here}: address {address} out of 0..65535")
    word_order = fields.get('word_order', 'big')
    if word_order not in WORD_ORDERS:
        raise RegisterMapError(f"{here}: word_order {word_order!r} must be big or little")
    scale = _number(here, 'scale', fields.get('scale', 1.0))
    if scale == 0:
        raise RegisterMapError(f"{here}: 'scale' must not be 0")
    offset = _number(here, 'offset', fields.get('offset', 0.0))
    unit = fields.get('unit', '')
    description = fields.get('description', '')
    if not isinstance(unit, str) or not isinstance(description, str):
        raise RegisterMapError(f"{here}: 'unit' and 'description' must be strings")
    return Register(name=name, address=address, table=table, type=typ,
                    word_order=word_order, scale=float(scale), offset=float(offset),
                    unit=unit, description=description)


def parse_register_map(doc, device: str, source: str = '<yaml>') -> RegisterMap:
    """Build the map of `device` from an already-parsed YAML document."""
    if not isinstance(doc, Mapping):
        raise RegisterMapError(f'{source}: top level must be a mapping of node blocks')
    found = [(k, p) for k, p in _device_blocks(doc, source) if p.get('device') == device]
    if not found:
        known = sorted({str(p.get('device')) for _, p in _device_blocks(doc, source)
                        if 'registers' in p})
        raise RegisterMapError(f"{source}: no block with 'device: {device}'; devices here: "
                               f"{', '.join(known) or 'none'}")
    if len(found) > 1:
        raise RegisterMapError(f"{source}: device '{device}' is defined twice "
                               f"({found[0][0]}, {found[1][0]})")
    key, params = found[0]
    where = f"{source}: device '{device}' ({key})"
    regs_doc = params.get('registers')
    if not isinstance(regs_doc, Mapping) or not regs_doc:
        raise RegisterMapError(f"{where}: 'registers' must be a non-empty mapping "
                               f"name -> {{address, table, type, ...}}")
    registers = tuple(_register(where, str(n), f) for n, f in regs_doc.items())
    used: dict[tuple[str, int], str] = {}
    for reg in registers:
        for a in range(reg.address, reg.address + reg.count):
            other = used.get((reg.table, a))
            if other is not None:
                raise RegisterMapError(f"{where} register '{reg.name}': {reg.table} address "
                                       f"{a} overlaps register '{other}'")
            used[(reg.table, a)] = reg.name
    return RegisterMap(device=device, source=source, settings=_settings(where, params),
                       registers=registers)


def load_register_map(path, device: str) -> RegisterMap:
    """Load the register map of `device` from the hardware YAML at `path`."""
    p = Path(path)
    try:
        text = p.read_text(encoding='utf-8')
    except OSError as err:
        raise RegisterMapError(f'{p}: cannot read register map: {err.strerror or err}') from err
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise RegisterMapError(f'{p}: not valid YAML: {err}') from err
    return parse_register_map(doc, device, str(p))


def register_map_parameter(register_file: str, device: str) -> RegisterMap:
    """The map of `device` in the file a node's `register_file` parameter names (a relative
    path is below the repository root); a bad file is a ParameterContractError naming it."""
    path = Path(register_file)
    if not path.is_absolute():
        path = data_path(register_file)
    try:
        return load_register_map(path, device)
    except RegisterMapError as err:
        raise ParameterContractError('register_file', register_file, str(err)) from err
