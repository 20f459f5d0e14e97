import pytest

from kaiyo_drivers.testing import SocatPty


@pytest.fixture
def pty_pair(tmp_path):
    """A socat PTY pair: (driver_end, peer_end, SocatPty); killed at teardown."""
    pair = SocatPty(tmp_path / 'driver', tmp_path / 'peer').start()
    yield pair
    pair.close()
