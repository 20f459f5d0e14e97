"""Control modes and the rules for changing them (pure).

The numbers equal the MODE_* constants of kaiyo_interfaces VehicleStatus.msg and
SetControlMode.srv (a node test checks that they stay equal).

- MANUAL: pilot sticks -> body wrench -> allocator; no estimate needed (the last resort when
  navigation is lost).
- STABILIZED: pilot drives surge/sway; depth and heading are held, and move with the heave
  and yaw sticks (like ArduSub's ALT_HOLD): needs the estimate.
- AUTO: MotionSetpoint from the mission executor.
- HOLD / SURFACE / RETURN: safety actions (the supervisor may request them): hold position,
  depth and heading; ascend and stay at the surface; go to the datum at the surface.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass


class Mode(enum.IntEnum):
    MANUAL = 0
    STABILIZED = 1
    AUTO = 2
    HOLD = 3
    SURFACE = 4
    RETURN = 5


NEEDS_ESTIMATE = frozenset({Mode.STABILIZED, Mode.AUTO, Mode.HOLD, Mode.SURFACE, Mode.RETURN})


class ModeChange(enum.Enum):
    ACCEPTED = 'accepted'
    UNKNOWN_MODE = 'unknown_mode'
    NO_ESTIMATE = 'no_estimate'          # closed-loop mode without a fresh odometry
    NOT_SUPPORTED = 'not_supported'      # e.g. STABILIZED on a surface vessel


@dataclass
class ModeChangeResult:
    result: ModeChange
    previous: Mode
    message: str = ''

    @property
    def success(self) -> bool:
        return self.result is ModeChange.ACCEPTED


class ModeManager:
    """Current mode and armed state; `request` applies the rules."""

    def __init__(self, surface_vessel: bool = False):
        self.mode = Mode.MANUAL
        self.armed = False
        self.surface_vessel = surface_vessel
        self.entry_count = 0            # bumps on every accepted change (targets re-capture)

    def request(self, mode: int, arm: bool, have_estimate: bool) -> ModeChangeResult:
        prev = self.mode
        try:
            new = Mode(int(mode))
        except ValueError:
            return ModeChangeResult(ModeChange.UNKNOWN_MODE, prev,
                                    f'unknown mode {mode!r}; known: '
                                    + ', '.join(f'{m.value}={m.name}' for m in Mode))
        if new in NEEDS_ESTIMATE and not have_estimate:
            return ModeChangeResult(ModeChange.NO_ESTIMATE, prev,
                                    f'{new.name} needs a fresh odometry estimate; none received')
        if self.surface_vessel and new in (Mode.STABILIZED, Mode.SURFACE):
            return ModeChangeResult(ModeChange.NOT_SUPPORTED, prev,
                                    f'{new.name} has no meaning for a surface vessel')
        self.mode = new
        if arm:
            self.armed = True
        self.entry_count += 1
        return ModeChangeResult(ModeChange.ACCEPTED, prev, '')

    def disarm(self) -> None:
        self.armed = False
