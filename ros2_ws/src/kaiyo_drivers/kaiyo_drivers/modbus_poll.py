"""Poll a Modbus device through its register map (pure: pymodbus, no rclpy).

One `poll()` reads every block of the map (few requests: see RegisterMap.read_blocks) and
returns a `PollResult` with one value per register. A block that fails (timeout, Modbus
exception response, lost connection) leaves its registers NaN and invalid and says why in
`error`; the other blocks are still read, so one bad address does not blind the operator.
`age_s` counts from the last poll in which every block succeeded: the plant monitor flags
readings older than `stale_after_s`. A lost connection is closed and re-opened on a later
poll after an exponential backoff, never in a tight loop.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ModbusException

from kaiyo_drivers.link import Backoff
from kaiyo_drivers.modbus_map import DeviceSettings, ReadBlock, RegisterMap, RegisterMapError

EXCEPTION_NAMES = {
    1: 'illegal function', 2: 'illegal data address', 3: 'illegal data value',
    4: 'server device failure', 5: 'acknowledge', 6: 'server device busy',
    8: 'memory parity error', 10: 'gateway path unavailable',
    11: 'gateway target device failed to respond',
}


@dataclass(frozen=True)
class PollResult:
    names: tuple[str, ...]
    values: tuple[float, ...]        # NaN where not read this poll
    units: tuple[str, ...]
    valid: tuple[bool, ...]
    ok: bool                         # every block read
    error: str                       # plain words, '' when ok
    age_s: float                     # since the last fully successful poll (inf: never)
    stale: bool                      # age_s > stale_after_s
    connected: bool
    exceptions: int                  # Modbus exception responses so far
    timeouts: int                    # requests without a (valid) answer so far

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.names, self.values))


def make_client(s: DeviceSettings):
    """A pymodbus sync client for the settings (no retries: the poller decides)."""
    if s.transport == 'tcp':
        return ModbusTcpClient(s.host, port=s.port, timeout=s.timeout_s, retries=0)
    return ModbusSerialClient(s.serial_port, baudrate=s.baud, parity=s.parity,
                              stopbits=s.stopbits, timeout=s.timeout_s, retries=0)


class ModbusPoller:
    """Reads a RegisterMap from one device; see the module docstring."""

    def __init__(self, rmap: RegisterMap, settings: DeviceSettings | None = None,
                 backoff: Backoff | None = None, clock=time.monotonic):
        self.rmap = rmap
        self.settings = settings or rmap.settings
        self.blocks = rmap.read_blocks()
        self.backoff = backoff or Backoff(0.5, 10.0)
        self.clock = clock
        self.client = make_client(self.settings)
        self._connected = False
        self._retry_at = 0.0
        self._last_ok = None
        self.exceptions = 0
        self.timeouts = 0
        self.polls = 0

    def _read(self, block: ReadBlock):
        uid = self.settings.unit_id
        fn = {'holding': self.client.read_holding_registers,
              'input': self.client.read_input_registers,
              'coil': self.client.read_coils,
              'discrete': self.client.read_discrete_inputs}[block.table]
        return fn(block.start, count=block.count, device_id=uid)

    def _describe(self, block: ReadBlock) -> str:
        return f'{block.table} {block.start}..{block.start + block.count - 1}'

    def poll(self) -> PollResult:
        """One full read of the map. Never raises for device trouble."""
        now = self.clock()
        self.polls += 1
        values = {r.name: math.nan for r in self.rmap}
        errors: list[str] = []
        if not self._connected and now >= self._retry_at:
            if self.client.connect():
                self._connected = True
                self.backoff.reset()
            else:
                self._retry_at = now + self.backoff.next_delay()
                errors.append(f'cannot connect to {self._where()}')
        elif not self._connected:
            errors.append(f'not connected to {self._where()} (retrying)')
        if self._connected:
            for block in self.blocks:
                err = self._poll_block(block, values)
                if err:
                    errors.append(err)
                    if not self._connected:
                        break
        ok = not errors
        done = self.clock()
        if ok:
            self._last_ok = done
        age = math.inf if self._last_ok is None else done - self._last_ok
        return PollResult(
            names=tuple(values), values=tuple(values.values()), units=tuple(self.rmap.units),
            valid=tuple(not math.isnan(v) for v in values.values()), ok=ok,
            error='; '.join(errors), age_s=age, stale=age > self.settings.stale_after_s,
            connected=self._connected, exceptions=self.exceptions, timeouts=self.timeouts)

    def _poll_block(self, block: ReadBlock, values: dict) -> str:
        try:
            rr = self._read(block)
        except ModbusException as err:
            # ModbusIOException: no answer within timeout_s; ConnectionException: link gone
            self.timeouts += 1
            self._drop_connection()
            return f'no answer reading {self._describe(block)} from {self._where()}: {err}'
        if rr.isError():
            self.exceptions += 1
            code = getattr(rr, 'exception_code', 0)
            return (f'device answered exception {code} '
                    f'({EXCEPTION_NAMES.get(code, "unknown")}) to {self._describe(block)}')
        words = rr.bits if block.table in ('coil', 'discrete') else rr.registers
        try:
            values.update(self.rmap.decode_block(block, words))
        except RegisterMapError as err:
            self.exceptions += 1
            return f'bad reply to {self._describe(block)}: {err}'
        return ''

    def _drop_connection(self) -> None:
        # a timed-out request may still be answered later; start clean on a new connection
        self.client.close()
        self._connected = False
        self._retry_at = self.clock() + self.backoff.next_delay()

    def _where(self) -> str:
        s = self.settings
        if s.transport == 'tcp':
            return f'{self.rmap.device} at tcp {s.host}:{s.port} unit {s.unit_id}'
        return f'{self.rmap.device} at rtu {s.serial_port} unit {s.unit_id}'

    def close(self) -> None:
        self.client.close()
        self._connected = False
