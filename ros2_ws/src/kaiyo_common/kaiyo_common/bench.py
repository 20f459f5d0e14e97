"""Benchmark figures for `make bench` (pure).

Every figure is printed beside a baseline measured in the same run on the same machine
(e.g. the raw MuJoCo step rate beside the simulator's real-time factor, or image decode time
beside analysis time), so the ratio, not the absolute number, is what compares across
machines. Each package's `kaiyo.bench` entry point returns a list of `Figure`.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass


@dataclass
class Figure:
    name: str                 # what was measured, e.g. 'sim: 3 vehicles, no camera'
    value: float              # the measured figure
    unit: str                 # its unit, e.g. 'x real time', 'fps', 'ms'
    baseline_name: str        # what it is compared to in the same run
    baseline_value: float
    goal: str = ''            # the target in words, e.g. '>= 50 x real time'
    met: bool | None = None   # whether the goal was reached (None: no goal)

    @property
    def ratio(self) -> float:
        return self.value / self.baseline_value if self.baseline_value else float('nan')

    def line(self) -> str:
        met = '' if self.met is None else ('  [goal met]' if self.met else '  [goal NOT met]')
        goal = f'  goal {self.goal}' if self.goal else ''
        return (f'{self.name}: {self.value:.4g} {self.unit}  | baseline {self.baseline_name}: '
                f'{self.baseline_value:.4g}  | ratio {self.ratio:.3g}{goal}{met}')


def to_json(figures: list[Figure]) -> str:
    return json.dumps([{**asdict(f), 'ratio': f.ratio} for f in figures], indent=2)


def time_call(fn, repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of fn() in seconds over `repeat` runs after `warmup` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]
