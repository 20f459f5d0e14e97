"""`make bench` figures of kaiyo_drivers, each beside a baseline measured in the same run.

- NMEA: full decode (framing, checksum, fields, cycle assembly) of the gpsd captures,
  sentences/s, beside framing + checksum alone on the same bytes. Goal: >= 5000
  sentences/s, 12x the ~400 sentences/s of a 10 Hz multi-GNSS receiver.
- Modbus: one full poll of the plant map (3 requests) against a local pymodbus server,
  beside one bare single-register pymodbus read. Goal: <= 5x the single read (the map is
  read in few grouped requests, not register by register).
"""
from __future__ import annotations

import dataclasses

from kaiyo_common.bench import Figure, time_call
from kaiyo_common.paths import data_path, shared_data_path
from kaiyo_drivers.modbus_map import load_register_map
from kaiyo_drivers.modbus_poll import ModbusPoller
from kaiyo_drivers.nmea import LineSplitter, NmeaDecoder, NmeaError, parse_sentence
from kaiyo_drivers.peers.modbus_server import ModbusPeer
from kaiyo_drivers.testing import free_tcp_port


def _nmea(quick: bool) -> Figure | None:
    files = sorted(shared_data_path('nmea').glob('*.log'))
    if not files:
        return None
    data = b''.join(f.read_bytes() for f in files) * (1 if quick else 5)
    n = NmeaDecoder()
    n.feed_bytes(data)
    sentences = n.stats.lines

    def full():
        NmeaDecoder().feed_bytes(data)

    def framing_only():
        for line in LineSplitter().feed(data):
            try:
                parse_sentence(line)
            except NmeaError:
                pass

    t_full = time_call(full, repeat=3 if quick else 7)
    t_base = time_call(framing_only, repeat=3 if quick else 7)
    rate = sentences / t_full
    return Figure('drivers: NMEA full decode', rate, 'sentences/s',
                  'framing + checksum only', sentences / t_base,
                  goal='>= 5000 sentences/s', met=rate >= 5000)


def _modbus(quick: bool) -> Figure:
    rmap = load_register_map(data_path('hardware', 'plant.yaml'), 'plant')
    port = free_tcp_port()
    peer = ModbusPeer(rmap, port=port).start()
    try:
        poller = ModbusPoller(rmap, dataclasses.replace(rmap.settings, port=port))
        poller.poll()
        client = poller.client
        n = 20 if quick else 100

        def full():
            for _ in range(n):
                poller.poll()

        def single():
            for _ in range(n):
                client.read_input_registers(0, count=1, device_id=1)

        t_full = time_call(full, repeat=3) / n
        t_one = time_call(single, repeat=3) / n
        poller.close()
    finally:
        peer.stop()
    return Figure('drivers: Modbus full plant poll', t_full * 1e3, 'ms',
                  'one single-register read (ms)', t_one * 1e3,
                  goal='<= 5x one read', met=t_full <= 5 * t_one)


def run(quick: bool) -> list[Figure]:
    figs = [_nmea(quick), _modbus(quick)]
    return [f for f in figs if f is not None]
