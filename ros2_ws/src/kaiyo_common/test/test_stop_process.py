"""kaiyo_common.testing.stop_process: Ctrl-C first, kill only a process that ignores it."""
import signal
import subprocess
import sys

from kaiyo_common.testing import stop_process

CHILD = """
import signal, sys, time
signal.signal(signal.SIGINT, {handler})
print('ready', flush=True)
time.sleep(60)
"""


def _child(handler: str, **kwargs) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, '-c', CHILD.format(handler=handler)],
                            stdout=subprocess.PIPE, text=True, **kwargs)
    assert proc.stdout.readline().strip() == 'ready'     # its handler is in place
    return proc


def test_returns_the_exit_code_of_a_process_that_handles_ctrl_c():
    proc = _child('lambda *a: sys.exit(3)')
    assert stop_process(proc, timeout=10) == 3
    proc.stdout.close()


def test_kills_a_process_that_ignores_ctrl_c():
    proc = _child('signal.SIG_IGN')
    assert stop_process(proc, timeout=0.5) == -signal.SIGKILL
    proc.stdout.close()


def test_kills_the_whole_group_with_group():
    proc = _child('signal.SIG_IGN', start_new_session=True)
    assert stop_process(proc, timeout=0.5, group=True) == -signal.SIGKILL
    proc.stdout.close()


def test_a_finished_process_is_left_alone():
    proc = subprocess.Popen([sys.executable, '-c', 'raise SystemExit(4)'])
    proc.wait(timeout=10)
    assert stop_process(proc) == 4
