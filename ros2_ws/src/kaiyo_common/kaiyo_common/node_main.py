"""The tiny `main()` every kaiyo node uses: init, build, spin, exit cleanly on Ctrl-C.

    def main(args=None):
        run_node(MyNode, args)

A node constructor that raises ParameterContractError (or another kaiyo input error) exits
with status 2 and a one-line message naming the problem, instead of a traceback.
"""
from __future__ import annotations

import sys

import rclpy
from rclpy._rclpy_pybind11 import InvalidHandle, RCLError
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor

from kaiyo_common.params import ParameterContractError


def run_node(node_class, args=None, multithreaded: bool = False, **kwargs) -> int:
    rclpy.init(args=args)
    node = None
    code = 0
    try:
        node = node_class(**kwargs)
        if multithreaded:
            executor = MultiThreadedExecutor()
            executor.add_node(node)
            executor.spin()
        else:
            rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (RCLError, InvalidHandle):
        # A signal shut the context down while the executor was building its wait set or
        # triggering a guard condition: rclpy reports that race as RCLError / InvalidHandle
        # rather than ExternalShutdownException.
        if rclpy.ok():
            raise
    except (ParameterContractError, FileNotFoundError) as err:
        print(f'[{node_class.__name__}] error: {err}', file=sys.stderr)
        code = 2
    finally:
        if node is not None:
            shutdown = getattr(node, 'shutdown', None)
            if callable(shutdown):
                shutdown()
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    if code:
        sys.exit(code)
    return code
