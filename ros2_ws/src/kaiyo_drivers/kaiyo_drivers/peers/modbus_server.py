"""A Modbus server (TCP or RTU) serving a kaiyo register map, with fault injection.

The values are engineering values by register name, encoded with the same RegisterMap the
driver decodes with. `fail_with` makes every request answer a Modbus exception code;
`delay_s` makes answers late (the client sees a timeout). Runs pymodbus' asyncio server in
a background thread so tests and the plant simulator can change values while it serves.
"""
from __future__ import annotations

import asyncio
import threading

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from kaiyo_drivers.modbus_map import BIT_TABLES, RegisterMap

_FC_TABLE = {1: 'coil', 5: 'coil', 15: 'coil', 2: 'discrete', 3: 'holding', 6: 'holding',
             16: 'holding', 22: 'holding', 23: 'holding', 4: 'input'}


class ModbusPeer:
    def __init__(self, rmap: RegisterMap, transport: str = 'tcp', host: str = '127.0.0.1',
                 port: int = 5020, serial_port: str = '', baud: int = 19200,
                 parity: str = 'N', unit_id: int = 1, words: int = 256):
        if transport not in ('tcp', 'rtu'):
            raise ValueError(f"transport {transport!r} must be tcp or rtu")
        self.rmap, self.transport, self.unit_id = rmap, transport, unit_id
        self.host, self.port, self.serial_port = host, port, serial_port
        self.baud, self.parity, self.words = baud, parity, words
        self.fail_with: int | None = None
        self.delay_s = 0.0
        self.requests = 0
        self._tables = {t: {} for t in ('holding', 'input', 'coil', 'discrete')}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.start_error: Exception | None = None

    def set_values(self, values: dict) -> None:
        """Serve these engineering values (by register name) from now on."""
        tables = self.rmap.encode_tables(values)
        with self._lock:
            for t, words in tables.items():
                self._tables[t].update(words)

    def values(self) -> dict[str, float]:
        """Engineering values currently served (including what clients wrote)."""
        out = {}
        with self._lock:
            for reg in self.rmap:
                words = [self._tables[reg.table].get(reg.address + i, 0)
                         for i in range(reg.count)]
                out[reg.name] = reg.decode(words)
        return out

    async def _action(self, function_code, start_address, address, count, registers,
                      set_values):
        self.requests += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_with is not None:
            return ExcCodes(self.fail_with)
        table = _FC_TABLE.get(function_code)
        if set_values is not None and table is not None:
            # a client write (set points such as power_limit_kw): remember it, so the values
            # served from now on and values() include it
            with self._lock:
                for i, v in enumerate(set_values):
                    self._tables[table][address + i] = int(v)
            return None
        with self._lock:
            data = dict(self._tables.get(table, {}))
        if table in BIT_TABLES:
            # bit tables are packed 16 bits per register, bit 0 = lowest address
            for a, bit in data.items():
                i, b = divmod(a, 16)
                if i < len(registers):
                    registers[i] = (registers[i] | (1 << b)) if bit else (registers[i] & ~(1 << b))
        else:
            for a, w in data.items():
                if a < len(registers):
                    registers[a] = w
        return None

    def _device(self) -> SimDevice:
        bits = [SimData(0, count=self.words * 16, values=False, datatype=DataType.BITS)]
        words = [SimData(0, count=self.words, values=0, datatype=DataType.REGISTERS)]
        blocks = (bits, list(bits), words, list(words))   # coils, discrete, holding, input
        return SimDevice(self.unit_id, simdata=blocks, action=self._action)

    def start(self, timeout_s: float = 5.0) -> ModbusPeer:
        self._thread = threading.Thread(target=self._run, name='modbus peer', daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise TimeoutError('modbus peer did not start')
        if self.start_error is not None:
            raise self.start_error
        return self

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except (OSError, TypeError, ValueError, RuntimeError) as err:
            # bad port or configuration: hand the error to start()
            self.start_error = err
            self._ready.set()

    async def _serve(self) -> None:
        dev = self._device()
        if self.transport == 'tcp':
            self._server = ModbusTcpServer(dev, address=(self.host, self.port))
        else:
            self._server = ModbusSerialServer(dev, port=self.serial_port, baudrate=self.baud,
                                              parity=self.parity)
        # listen first (background=True returns once the socket / serial port is open), so
        # start() returns only when a client can connect
        await self._server.serve_forever(background=True)
        self._ready.set()
        await self._server.serving

    def stop(self) -> None:
        if self._loop is None or self._server is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._server.shutdown(), self._loop)
        try:
            fut.result(5.0)
        except (TimeoutError, asyncio.CancelledError):
            pass
        if self._thread:
            self._thread.join(5.0)
