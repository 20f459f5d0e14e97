"""Tier 1: backoff, link health in words, and LinkRunner against a real TCP peer."""
import math
import socket

import pytest

from kaiyo_drivers.health import ERROR, OK, STALE, WARN, link_health
from kaiyo_drivers.link import Backoff, LinkRunner, LinkState, LinkStats, TcpLink, make_link


def test_backoff_grows_and_resets():
    b = Backoff(0.1, 0.5)
    assert [b.next_delay() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    b.reset()
    assert b.next_delay() == 0.1
    with pytest.raises(ValueError, match='initial_s'):
        Backoff(0.0, 1.0)


def test_make_link_rejects_bad_transport():
    with pytest.raises(ValueError, match="unknown transport 'can'"):
        make_link('can')
    with pytest.raises(ValueError, match='needs a serial'):
        make_link('serial')


def test_health_says_why():
    up = LinkStats(state=LinkState.CONNECTED, connects=1)
    assert link_health(up, 10.0, 9.9, 1.0, 100, 0).level == OK
    h = link_health(up, 10.0, math.nan, 1.0, 0, 7, {'last_bad_frame': 'CRC 1234 != 0000'})
    assert h.level == STALE and '7 bad frames' in h.message and 'CRC' in h.message
    assert link_health(up, 10.0, 9.9, 1.0, 50, 20).level == WARN
    down = LinkStats(state=LinkState.DISCONNECTED, last_error='cannot open /dev/ttyUSB0')
    h = link_health(down, 10.0, 5.0, 1.0, 100, 0)
    assert h.level == ERROR and '/dev/ttyUSB0' in h.message and 'retrying' in h.message


def test_link_runner_reconnects_to_a_tcp_peer():
    server = socket.create_server(('127.0.0.1', 0))
    port = server.getsockname()[1]
    runner = LinkRunner(TcpLink('127.0.0.1', port), Backoff(0.02, 0.05)).start()
    try:
        server.settimeout(5.0)
        conn, _ = server.accept()
        conn.sendall(b'hello')
        chunk = runner.rx.get(timeout=5.0)
        assert chunk[1] == b'hello'
        assert runner.write(b'up') and conn.recv(10) == b'up'
        conn.close()                                  # the device drops the connection
        conn2, _ = server.accept()                    # ...and the runner comes back
        conn2.sendall(b'again')
        assert runner.rx.get(timeout=5.0)[1] == b'again'
        s = runner.stats
        assert s.connects == 2 and s.disconnects == 1 and 'closed by the device' in s.last_error
        conn2.close()
    finally:
        runner.stop()
        server.close()
    assert runner.stats.state == LinkState.STOPPED and not runner.write(b'x')
