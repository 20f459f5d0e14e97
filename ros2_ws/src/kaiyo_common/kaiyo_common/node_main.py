"""The tiny `main()` every kaiyo node uses: init, build, spin, exit cleanly on Ctrl-C.

    def main(args=None):
        run_node(MyNode, args)

A node constructor that raises ParameterContractError (or another kaiyo input error) exits
with status 2 and a one-line message naming the problem, instead of a traceback.

The executor is rclpy's SingleThreadedExecutor, or its EventsExecutor when KAIYO_EXECUTOR
says `events` (kaiyo_common.executor_choice); any other value exits 2 naming it.

`run_nodes` is the same for several nodes in one process (a container, see
kaiyo_bringup.container): one single-threaded executor, each node built with its own
`--ros-args` (name, namespace, params, remaps) and none of the process's global arguments.
"""
from __future__ import annotations

import sys

import rclpy
from rclpy._rclpy_pybind11 import InvalidHandle, RCLError
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

from kaiyo_common.executor_choice import ExecutorChoiceError, executor_kind
from kaiyo_common.params import ParameterContractError

# Wall time the executor waits at most before returning to Python. A node that installs its
# own signal handler (the controller sends zero thrust first) replaces rclpy's C-level one,
# and Python runs the handler only between bytecodes: an rcl_wait without timeout would hold
# it off until the next message or timer, which never comes once the simulator (and with it
# the sim clock) has stopped - the process then sat out SIGINT and SIGTERM until SIGKILL.
WAKE_PERIOD_S = 0.5


def make_executor(kind: str):
    """A single-threaded executor of this kind (kaiyo_common.executor_choice)."""
    if kind == 'events':
        from rclpy.experimental import EventsExecutor
        return EventsExecutor()
    return SingleThreadedExecutor()


def _executor_kind_or_exit(label: str) -> str:
    try:
        return executor_kind()
    except ExecutorChoiceError as err:
        print(f'[{label}] error: {err}', file=sys.stderr)
        sys.exit(2)


def spin_until_shutdown(executor) -> None:
    """executor.spin(), but waking every WAKE_PERIOD_S (see above)."""
    while rclpy.ok(context=executor.context):
        executor.spin_once(timeout_sec=WAKE_PERIOD_S)


def run_node(node_class, args=None, executor: str | None = None, **kwargs) -> int:
    """`executor` ('single' or 'events') overrides KAIYO_EXECUTOR, for a node that works on
    one kind only."""
    kind = executor or _executor_kind_or_exit(node_class.__name__)
    rclpy.init(args=args)
    node = None
    code = 0
    try:
        node = node_class(**kwargs)
        executor = make_executor(kind)
        executor.add_node(node)
        spin_until_shutdown(executor)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (RCLError, InvalidHandle, RuntimeError):
        # A signal shut the context down while the executor was building its wait set or
        # triggering a guard condition: rclpy reports that race as RCLError / InvalidHandle
        # rather than ExternalShutdownException. And when the KeyboardInterrupt that follows
        # rclpy's signal handler lands inside a call from rclpy's C++ into Python (taking a
        # message, an events-executor callback), pybind11 turns it into a bare RuntimeError
        # ("Unable to convert call argument ..."). Either is the shutdown, not a fault, only
        # once the context is down.
        if rclpy.ok():
            raise
    except (ParameterContractError, FileNotFoundError) as err:
        print(f'[{node_class.__name__}] error: {err}', file=sys.stderr)
        code = 2
    finally:
        _tear_down([] if node is None else [node])
    if code:
        sys.exit(code)
    return code


def run_nodes(entries, args=None) -> int:
    """Build every (label, factory, ros_args) entry as a node and spin them all on one
    single-threaded executor (as run_node) until Ctrl-C (exit 0). A constructor that raises a
    kaiyo input error exits 2 naming the node by its label; any other constructor error
    propagates, after a line naming the node, since the traceback shows only the class."""
    kind = _executor_kind_or_exit('container')
    rclpy.init(args=args)
    nodes = []
    code = 0
    try:
        for label, factory, ros_args in entries:
            built = False
            try:
                nodes.append(factory(cli_args=list(ros_args), use_global_arguments=False))
                built = True
            except (ParameterContractError, FileNotFoundError) as err:
                print(f'[{label}] error: {err}', file=sys.stderr)
                code = 2
                built = True        # reported: no second line below
                break
            finally:
                if not built:
                    print(f'[{label}] error: the node could not be constructed (traceback '
                          'follows)', file=sys.stderr)
        if not code:
            executor = make_executor(kind)
            for node in nodes:
                executor.add_node(node)
            spin_until_shutdown(executor)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (RCLError, InvalidHandle, RuntimeError):
        if rclpy.ok():     # the same shutdown races as in run_node
            raise
    finally:
        _tear_down(nodes)
    if code:
        sys.exit(code)
    return code


def _tear_down(nodes) -> None:
    """Last built first: each node's own `shutdown()` (cancel goals, park thrusters) before
    it is destroyed, then the context."""
    for node in reversed(nodes):
        shutdown = getattr(node, 'shutdown', None)
        if callable(shutdown):
            shutdown()
        node.destroy_node()
    if rclpy.ok():
        rclpy.shutdown()
