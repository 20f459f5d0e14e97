"""Live web view: pure state/command gate, then the running node in headless Chromium."""
import json
import os
import threading

import pytest
from nav_msgs.msg import Odometry
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from kaiyo_common import qos
from kaiyo_common.params import ParameterContractError
from kaiyo_common.testing import ros_context
from kaiyo_interfaces.msg import PlantStatus, SafetyEvent, VehicleStatus
from kaiyo_interfaces.srv import AcknowledgeSafety
from kaiyo_report import browser
from kaiyo_report.live import CommandGate, CommandStatus, LiveError, LiveState
from kaiyo_report.web_node import WebNode

TOKEN = 'a-long-station-token-0123456789'
# Chromium is a declared system package (scripts/system-packages.txt): its absence fails
# these tests unless KAIYO_SKIP_BROWSER=1 says so explicitly.
needs_chromium = pytest.mark.skipif(
    os.environ.get('KAIYO_SKIP_BROWSER') == '1' and not browser.available(),
    reason='KAIYO_SKIP_BROWSER=1 and no Chromium')


def test_state_snapshot_ages_and_alarms():
    s = LiveState(['hover_auv', 'wave_boat'], stale_after_s=5.0)
    s.update_status('hover_auv', 100.0, mode=2, armed=True, battery_fraction=0.8,
                    battery_voltage_v=float('nan'), leak=False, depth_m=12.5,
                    altitude_m=2.0, health=0, health_message='')
    s.update_safety('hover_auv', 1e9, rule='max_depth', severity=2, message='too deep',
                    active=True)
    s.update_safety('hover_auv', 1e9 + 1, rule='leak', severity=1, message='wet?', active=True)
    snap = s.snapshot(now_s=103.0, wall_time_s=1e9 + 2)
    auv, boat = snap['vehicles']
    assert auv['mode'] == 'auto' and auv['depth_m'] == 12.5 and auv['age_s'] == 3.0
    assert auv['battery_voltage_v'] is None and not auv['stale']
    assert boat['stale'] and boat['age_s'] is None
    assert [a['rule'] for a in snap['alarms']] == ['max_depth', 'leak']   # critical first
    json.dumps(snap, allow_nan=False)                                     # browser-safe
    s.update_safety('hover_auv', 1e9 + 3, rule='max_depth', severity=0, message='', active=False)
    assert [a['rule'] for a in s.snapshot(104.0, 0)['alarms']] == ['leak']
    assert s.snapshot(106.0, 0)['vehicles'][0]['stale']
    with pytest.raises(LiveError, match='ROS name'):
        LiveState(['Bad Name'])


def test_command_gate():
    ro = CommandGate('', ['hover_auv'])
    r = ro.check({'command': 'acknowledge_safety', 'token': TOKEN, 'vehicle': 'hover_auv'})
    assert r.status is CommandStatus.REFUSED_NO_TOKEN_CONFIGURED and not r.ok
    gate = CommandGate(TOKEN, ['hover_auv'])
    ok = {'command': 'acknowledge_safety', 'token': TOKEN, 'vehicle': 'hover_auv'}
    assert gate.check(ok).ok and gate.check(ok).args['rule'] == ''
    assert gate.check({**ok, 'token': TOKEN[:-1]}).status is CommandStatus.REFUSED_BAD_TOKEN
    assert gate.check({k: v for k, v in ok.items() if k != 'token'}).status is \
        CommandStatus.REFUSED_BAD_TOKEN
    assert gate.check({**ok, 'command': 'arm'}).status is CommandStatus.REFUSED_UNKNOWN_COMMAND
    assert gate.check({**ok, 'vehicle': 'x'}).status is CommandStatus.REFUSED_MALFORMED
    assert gate.check([1]).status is CommandStatus.REFUSED_MALFORMED
    with pytest.raises(LiveError, match='at least 16'):
        CommandGate('short', ['hover_auv'])


class _Station(Node):
    """Publishers a vehicle and the plant would have, and a safety supervisor's service."""

    def __init__(self, context):
        super().__init__('station', context=context)
        self.status = self.create_publisher(VehicleStatus, '/hover_auv/status', qos.RELIABLE)
        self.odom = self.create_publisher(Odometry, '/hover_auv/odometry', qos.RELIABLE)
        self.events = self.create_publisher(SafetyEvent, '/hover_auv/safety/events', qos.EVENTS)
        self.plant = self.create_publisher(PlantStatus, '/plant/status', qos.RELIABLE)
        self.acks = []
        self.create_service(AcknowledgeSafety, '/hover_auv/safety/acknowledge', self.on_ack)

    def on_ack(self, req, resp):
        self.acks.append((req.rule, req.operator_name))
        resp.success, resp.message, resp.cleared = True, 'acknowledged', 1
        return resp

    def send_status(self, depth):
        self.status.publish(VehicleStatus(vehicle='hover_auv', mode=2, armed=True, depth_m=depth,
                                          altitude_m=2.5, battery_fraction=0.76,
                                          battery_voltage_v=15.2, health=0))


@pytest.fixture
def station(tmp_path):
    """A running WebNode (token configured) and the station node, spun in a thread."""
    token_file = tmp_path / 'token'
    token_file.write_text(TOKEN + '\n')
    with ros_context() as ctx:
        web = WebNode(context=ctx, parameter_overrides=[
            Parameter('port', value=0), Parameter('vehicles', value=['hover_auv', 'wave_boat']),
            Parameter('token_file', value=str(token_file)),
            Parameter('push_rate_hz', value=10.0)])
        st = _Station(ctx)
        ex = MultiThreadedExecutor(context=ctx)
        ex.add_node(web)
        ex.add_node(st)
        thread = threading.Thread(target=ex.spin, daemon=True)
        thread.start()
        try:
            yield web, st
        finally:
            ex.shutdown()
            thread.join(timeout=5)
            web.shutdown()
            web.destroy_node()
            st.destroy_node()


def test_bad_token_file_is_refused(tmp_path):
    with ros_context() as ctx:
        with pytest.raises(ParameterContractError, match='token_file'):
            WebNode(context=ctx, parameter_overrides=[
                Parameter('port', value=0), Parameter('token_file', value=str(tmp_path / 'no'))])
        (tmp_path / 'short').write_text('abc')
        with pytest.raises(ParameterContractError, match='at least 16'):
            WebNode(context=ctx, parameter_overrides=[
                Parameter('port', value=0), Parameter('token_file', value=str(tmp_path / 'short'))])


def test_websocket_clients_and_origins(station):
    web, st = station
    url = f'ws://127.0.0.1:{web.port}/ws'
    with pytest.raises(InvalidStatus) as err:
        connect(url, origin='http://evil.example', open_timeout=5)
    assert err.value.response.status_code == 403
    with connect(url, open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=5))['type'] == 'state'
        ws.send('not json')
        while (m := json.loads(ws.recv(timeout=5)))['type'] == 'state':
            pass
        assert m['type'] == 'error'
        ws.send(json.dumps({'type': 'command', 'id': 7, 'command': 'acknowledge_safety',
                            'vehicle': 'hover_auv', 'token': 'wrong-token-wrong-token'}))
        while (m := json.loads(ws.recv(timeout=5)))['type'] == 'state':
            pass
        assert m == {'type': 'command_result', 'id': 7, 'ok': False,
                     'status': CommandStatus.REFUSED_BAD_TOKEN.value, 'reason': '',
                     'command': 'acknowledge_safety'}
    assert st.acks == []


@needs_chromium
def test_live_view_in_chromium(station, tmp_path):
    web, st = station
    origin = f'http://127.0.0.1:{web.port}'
    with browser.Chromium(width=1200, height=800) as b:
        page = b.open(origin + '/')
        page.wait_for('document.getElementById("conn").className === "ok"')
        st.send_status(12.3)
        odo = Odometry()
        odo.pose.pose.position.x, odo.pose.pose.position.y = 40.0, -55.0
        odo.pose.pose.orientation.w = 1.0
        st.odom.publish(odo)
        st.plant.publish(PlantStatus(power_kw=3.25, energy_today_kwh=12.0, generator_state=1))
        st.events.publish(SafetyEvent(vehicle='hover_auv', rule='min_altitude', severity=1,
                                      message='altitude 0.8 m < 1.0 m', active=True))
        page.wait_for('document.querySelector("#v-hover_auv .depth")?.textContent === "12.3 m"')
        # live: a new value replaces the old one without reloading
        st.send_status(15.0)
        page.wait_for('document.querySelector("#v-hover_auv .depth").textContent === "15.0 m"')
        page.wait_for('document.querySelector("#plant .power").textContent === "3.25 kW"')
        page.wait_for('document.getElementById("alarms").textContent.includes("min_altitude")')
        page.wait_for('!!document.getElementById("m-hover_auv")')
        assert page.evaluate('document.querySelector("#v-hover_auv .battery").textContent') == \
            '76 % · 15.2 V'
        age = page.evaluate('document.querySelector("#v-wave_boat .age").textContent')
        assert 'データなし' in age

        # a command without the token is refused, and nothing reaches the vehicle
        page.evaluate('document.getElementById("ack").click()')
        page.wait_for('window.kaiyoReplies.length >= 1')
        first = page.evaluate('window.kaiyoReplies[0]')
        assert first['type'] == 'command_result' and first['ok'] is False
        assert first['status'] == CommandStatus.REFUSED_BAD_TOKEN.value
        assert 'refused' in page.evaluate('document.getElementById("cmd-result").textContent')
        assert st.acks == []
        # with the token it goes through to the safety supervisor
        page.evaluate(f'document.getElementById("token").value = {json.dumps(TOKEN)}')
        page.evaluate('document.getElementById("ack").click()')
        page.wait_for('window.kaiyoReplies.some(m => m.type === "command_done")')
        done = page.evaluate('window.kaiyoReplies.find(m => m.type === "command_done")')
        assert done['ok'] is True and 'acknowledged' in done['message']
        assert st.acks == [('', 'web')]
        page.screenshot(tmp_path / 'live.png')
        b.pump(0.2)
        assert browser.external_requests(page.requests, [origin]) == []
        assert page.evaluate('window.kaiyoBlocked') == []
    assert (tmp_path / 'live.png').stat().st_size > 20_000
