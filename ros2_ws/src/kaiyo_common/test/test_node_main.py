"""Tier 3: run_node in a real process - both executors, a node's own signal handler, a bad
KAIYO_EXECUTOR."""
import os
import signal
import subprocess
import sys
import textwrap

import pytest

# A node on sim time with nothing that wakes it (no /clock publisher) and its own SIGINT
# handler, as the controller has: rclpy's C-level handler is replaced, so only the executor's
# periodic return to Python lets the handler run.
NODE = textwrap.dedent('''
    import signal, sys
    import rclpy
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from kaiyo_common.node_main import run_node

    class Quiet(Node):
        def __init__(self, **kwargs):
            super().__init__('quiet', parameter_overrides=[
                Parameter('use_sim_time', value=True)], **kwargs)
            self.create_timer(0.1, lambda: None)      # sim time: never fires here
            self.stopped = False
            signal.signal(signal.SIGINT, self.on_stop)
            print('ready', flush=True)

        def on_stop(self, *_):
            self.stopped = True
            rclpy.try_shutdown(context=self.context)

        def shutdown(self):
            print('stopped' if self.stopped else 'not stopped', flush=True)

    run_node(Quiet)
''')


@pytest.mark.parametrize('executor', ['single', 'events'])
def test_own_signal_handler_runs_with_nothing_to_wake_the_executor(executor):
    env = dict(os.environ, KAIYO_EXECUTOR=executor, ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST')
    proc = subprocess.Popen([sys.executable, '-c', NODE], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert proc.stdout.readline().strip() == 'ready'
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)       # before: no exit until SIGKILL
        assert proc.returncode == 0, out
        assert out.split()[-1] == 'stopped', out    # the node's handler ran, then shutdown()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_bad_executor_exits_2_naming_it():
    env = dict(os.environ, KAIYO_EXECUTOR='fast')
    r = subprocess.run([sys.executable, '-c', 'from kaiyo_bringup.heartbeat_node import main; '
                        'main()'], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "KAIYO_EXECUTOR: executor 'fast': expected one of single, events" in r.stderr


# A RuntimeError out of the executor is the shutdown race only once the context is down
# (pybind11 reports a KeyboardInterrupt raised inside a C++ -> Python call that way); while
# the context is up it is a fault and must still surface.
RAISER = textwrap.dedent('''
    import sys
    import rclpy
    from rclpy.node import Node
    from kaiyo_common.node_main import run_node

    class Raiser(Node):
        def __init__(self, **kwargs):
            super().__init__('raiser', **kwargs)
            self.create_timer(0.05, self.on_timer)

        def on_timer(self):
            if sys.argv[1] == 'during-shutdown':
                rclpy.try_shutdown(context=self.context)
            raise RuntimeError('Unable to convert call argument 0 to Python object')

    run_node(Raiser)
    print('returned', flush=True)
''')


@pytest.mark.parametrize('executor', ['single', 'events'])
@pytest.mark.parametrize('when, code', [('during-shutdown', 0), ('while-running', 1)])
def test_runtime_error_is_the_shutdown_race_only_once_shut_down(executor, when, code):
    env = dict(os.environ, KAIYO_EXECUTOR=executor, ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST')
    r = subprocess.run([sys.executable, '-c', RAISER, when], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == code, r.stdout + r.stderr
    if code == 0:
        assert r.stdout.strip() == 'returned' and 'Traceback' not in r.stderr
    else:
        assert 'RuntimeError: Unable to convert call argument' in r.stderr
