"""Which executor a kaiyo process spins (pure: no rclpy).

kaiyo_bringup sets KAIYO_EXECUTOR per process from the bringup file's `executor:`;
kaiyo_common.node_main reads it. "single" (the default): rclpy's SingleThreadedExecutor.
"events": rclpy.experimental.EventsExecutor, which dispatches from C++ instead of rebuilding
a wait set in Python for every wake-up: about a third of the CPU per wake-up (measured: four
sim-time nodes at 10 Hz, 0.36 vs 1.13 CPU-s in 19 s). It is experimental upstream, so it is
opt-in: the simulation files use it, the hardware files keep the default. A node that works
on one kind only asks for it: run_node(..., executor='single').
"""
from __future__ import annotations

import os

EXECUTOR_ENV = 'KAIYO_EXECUTOR'
EXECUTORS = ('single', 'events')


class ExecutorChoiceError(ValueError):
    """An executor name that is not one of EXECUTORS."""


def check_executor(kind: str) -> str:
    """kind itself, or ExecutorChoiceError. '' means the default ('single')."""
    if kind not in ('', *EXECUTORS):
        raise ExecutorChoiceError(f"executor {kind!r}: expected one of {', '.join(EXECUTORS)}")
    return kind or 'single'


def executor_kind(environ=None) -> str:
    """The executor KAIYO_EXECUTOR names (unset or empty: 'single')."""
    kind = (os.environ if environ is None else environ).get(EXECUTOR_ENV, '')
    try:
        return check_executor(kind)
    except ExecutorChoiceError as err:
        raise ExecutorChoiceError(f'{EXECUTOR_ENV}: {err}') from None
