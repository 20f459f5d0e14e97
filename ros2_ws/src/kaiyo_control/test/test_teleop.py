"""Tier 1: gamepad and keyboard mappings."""
import pytest

from kaiyo_control.modes import Mode
from kaiyo_control.teleop import JoyMapping, JoyTeleop, KeyboardTeleop, TeleopError


def test_joy_axes_deadband_and_button_edge():
    joy = JoyTeleop()
    axes = [0.5, 1.0, 0.0, -0.02, -0.8, 0.0]
    cmd, mode = joy.update(axes, [1, 0, 0, 0])
    assert (cmd.surge, cmd.sway, cmd.heave, cmd.yaw) == (1.0, 0.0, -0.8, 0.5)
    assert mode is Mode.MANUAL
    _, mode = joy.update(axes, [1, 0, 0, 0])        # still held: no repeat request
    assert mode is None
    _, mode = joy.update(axes, [0, 1, 0, 0])
    assert mode is Mode.STABILIZED


def test_joy_mapping_errors():
    with pytest.raises(TeleopError, match='axes'):
        JoyTeleop().update([0.0], [])
    with pytest.raises(TeleopError, match='unknown mode'):
        JoyMapping(mode_buttons=(('warp', 0),))
    with pytest.raises(TeleopError, match='scales'):
        JoyMapping(scales=(2.0, 1.0, 1.0, 1.0))


def test_keyboard_steps_clamps_and_stops():
    kb = KeyboardTeleop(step=0.5)
    for _ in range(5):
        kb.press('w')
    assert kb.cmd.surge == 1.0
    kb.press('a')
    kb.press('F')
    assert kb.cmd.yaw == 0.5 and kb.cmd.heave == -0.5
    assert kb.press('h') is Mode.HOLD
    kb.press(' ')
    assert (kb.cmd.surge, kb.cmd.yaw, kb.cmd.heave) == (0.0, 0.0, 0.0)
    with pytest.raises(TeleopError):
        KeyboardTeleop(step=0.0)
