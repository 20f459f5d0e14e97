"""Mission data model: what a validated mission file becomes (pure: no rclpy).

A mission is a vehicle, a datum, limits and a list of steps. Every position is held twice:
geodetic (lat, lon in degrees) for people and maps, and local ENU metres from the datum
(x east, y north) for planning and control. `line` fields keep the mission file's 1-based
line, so later stages (planner, executor, supervisor) can still point at the file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from kaiyo_common.geodesy import Datum

STEP_KINDS = ('goto', 'survey', 'hover_photo', 'hold', 'surface')
COMMS_LOSS_ACTIONS = ('surface', 'hold', 'return')


@dataclass(frozen=True)
class Position:
    x: float          # east of the datum, m
    y: float          # north of the datum, m
    lat: float        # deg
    lon: float        # deg

    @property
    def xy(self) -> tuple[float, float]:
        return (self.x, self.y)


@dataclass(frozen=True)
class Limits:
    max_depth: float              # m
    min_altitude: float           # m above the seabed
    geofence: tuple[Position, ...]
    max_duration: float           # s
    battery_reserve: float        # fraction 0..1 of capacity kept for the return

    @property
    def geofence_xy(self) -> list[tuple[float, float]]:
        return [p.xy for p in self.geofence]


@dataclass(frozen=True)
class Vertical:
    """How a step holds its vertical position: a depth (m, down) or an altitude (m, up)."""

    depth: float | None = None
    altitude: float | None = None


@dataclass(frozen=True)
class Step:
    kind: str                     # one of STEP_KINDS
    index: int                    # 0-based position in `steps`
    line: int                     # line of the step in the file
    target: Position | None = None            # goto, hover_photo
    polygon: tuple[Position, ...] = ()        # survey
    vertical: Vertical = field(default_factory=Vertical)
    speed: float = 0.0            # m/s through the water
    duration: float = 0.0         # hover_photo, hold: s
    overlap: float = 0.0          # survey: fraction of the footprint shared by adjacent lines
    heading: float | str = 'auto'  # survey: compass deg (lines run along it) or 'auto'
    spacing: float | None = None  # survey: line spacing override, m
    run_in: float = 0.0           # survey: lead-in flown before each line, m

    @property
    def name(self) -> str:
        return self.kind


@dataclass(frozen=True)
class Mission:
    name: str
    vehicle: str
    datum: Datum
    limits: Limits
    on_comms_loss: str            # one of COMMS_LOSS_ACTIONS
    steps: tuple[Step, ...]
    file: str = '<mission>'
    description: str = ''


class Severity(str, Enum):
    ERROR = 'error'
    WARNING = 'warning'


@dataclass(frozen=True)
class Issue:
    """One problem found in a mission file, printed as `FILE:LINE: rule: message`."""

    file: str
    line: int
    rule: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        prefix = '' if self.severity is Severity.ERROR else 'warning: '
        return f'{self.file}:{self.line}: {prefix}{self.rule}: {self.message}'
