"""Teleoperation mappings (pure): gamepad axes/buttons and terminal keys -> pilot command.

A pilot command is four stick deflections in [-1, 1] (surge forward +, sway left +,
heave up +, yaw counter-clockwise +), published as geometry_msgs/TwistStamped on
`pilot/command` (linear.x, linear.y, linear.z, angular.z); the controller turns them into
forces (manual) or rates (stabilized). Mode buttons/keys request a SetControlMode.

Keyboard (a terminal cannot report key releases, so the keys step a sticky level, as in
teleop_twist_keyboard; space stops everything):
    w / s  surge + / -      a / d  yaw left / right     q / e  sway left / right
    r / f  up / down        space  all zero
    m manual   t stabilized   u auto   h hold   o surface   b return   (each also arms)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from kaiyo_control.modes import Mode


class TeleopError(ValueError):
    """A bad mapping (axis index, scale) or input."""


@dataclass
class StickCommand:
    surge: float = 0.0
    sway: float = 0.0
    heave: float = 0.0
    yaw: float = 0.0

    def clipped(self) -> StickCommand:
        return StickCommand(*(max(-1.0, min(1.0, v)) for v in
                              (self.surge, self.sway, self.heave, self.yaw)))


# -- gamepad ------------------------------------------------------------------------------

@dataclass(frozen=True)
class JoyMapping:
    """Axis index and scale (sign flips an axis) per DOF; button index per mode.

    Defaults fit an Xbox-style pad under the Linux joy driver: left stick = yaw (x) and
    surge (y), right stick = sway (x) and heave (y). Axis x is +1 at full left, y +1 at full
    forward/up, so yaw-left and sway-left come out positive, as kaiyo's FLU wants.
    """

    surge_axis: int = 1
    sway_axis: int = 3
    heave_axis: int = 4
    yaw_axis: int = 0
    scales: tuple = (1.0, 1.0, 1.0, 1.0)          # surge, sway, heave, yaw
    deadband: float = 0.05
    mode_buttons: tuple = (('manual', 0), ('stabilized', 1), ('hold', 2), ('surface', 3))

    def __post_init__(self) -> None:
        for name in ('surge_axis', 'sway_axis', 'heave_axis', 'yaw_axis'):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 0:
                raise TeleopError(f'{name} = {v!r}: must be an axis index >= 0')
        if len(self.scales) != 4 or not all(math.isfinite(s) and abs(s) <= 1.0
                                            for s in self.scales):
            raise TeleopError(f'scales {self.scales!r}: need 4 numbers within [-1, 1]')
        for name, idx in self.mode_buttons:
            if name.upper() not in Mode.__members__:
                raise TeleopError(f'mode button {name!r}: unknown mode; known: '
                                  + ', '.join(m.name.lower() for m in Mode))
            if not isinstance(idx, int) or idx < 0:
                raise TeleopError(f'mode button {name!r}: index {idx!r} must be >= 0')


@dataclass
class JoyTeleop:
    mapping: JoyMapping = field(default_factory=JoyMapping)
    _last_buttons: tuple = ()

    def _axis(self, axes, idx: int, scale: float) -> float:
        if idx >= len(axes):
            raise TeleopError(f'joy message has {len(axes)} axes; mapping wants axis {idx}')
        v = float(axes[idx])
        if not math.isfinite(v):
            raise TeleopError(f'axis {idx} is not finite')
        if abs(v) < self.mapping.deadband:
            return 0.0
        return max(-1.0, min(1.0, v * scale))

    def update(self, axes, buttons) -> tuple[StickCommand, Mode | None]:
        """New stick command and a mode to request on a button press (rising edge)."""
        m = self.mapping
        cmd = StickCommand(self._axis(axes, m.surge_axis, m.scales[0]),
                           self._axis(axes, m.sway_axis, m.scales[1]),
                           self._axis(axes, m.heave_axis, m.scales[2]),
                           self._axis(axes, m.yaw_axis, m.scales[3]))
        mode = None
        prev = self._last_buttons
        for name, idx in m.mode_buttons:
            pressed = idx < len(buttons) and bool(buttons[idx])
            was = idx < len(prev) and bool(prev[idx])
            if pressed and not was:
                mode = Mode[name.upper()]
        self._last_buttons = tuple(buttons)
        return cmd, mode


# -- keyboard -----------------------------------------------------------------------------

KEY_STEPS = {
    'w': ('surge', +1), 's': ('surge', -1),
    'q': ('sway', +1), 'e': ('sway', -1),
    'r': ('heave', +1), 'f': ('heave', -1),
    'a': ('yaw', +1), 'd': ('yaw', -1),
}
KEY_MODES = {'m': Mode.MANUAL, 't': Mode.STABILIZED, 'u': Mode.AUTO, 'h': Mode.HOLD,
             'o': Mode.SURFACE, 'b': Mode.RETURN}
HELP = __doc__.split('Keyboard', 1)[1].split('"""')[0]


class KeyboardTeleop:
    def __init__(self, step: float = 0.1):
        if not (math.isfinite(step) and 0.0 < step <= 1.0):
            raise TeleopError(f'step {step!r} must be within (0, 1]')
        self.step = step
        self.cmd = StickCommand()

    def press(self, key: str) -> Mode | None:
        """Apply one key; returns a mode to request, if the key asks for one."""
        k = key.lower()
        if k == ' ':
            self.cmd = StickCommand()
            return None
        if k in KEY_MODES:
            return KEY_MODES[k]
        if k in KEY_STEPS:
            axis, sign = KEY_STEPS[k]
            v = getattr(self.cmd, axis) + sign * self.step
            setattr(self.cmd, axis, round(max(-1.0, min(1.0, v)), 6))
        return None

    def line(self) -> str:
        c = self.cmd
        return (f'surge {c.surge:+.1f}  sway {c.sway:+.1f}  heave {c.heave:+.1f}  '
                f'yaw {c.yaw:+.1f}')
