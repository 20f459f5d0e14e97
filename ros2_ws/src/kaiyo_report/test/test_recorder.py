"""Recorder and replay against a live ROS graph.

Tier 2: RecorderNode / ReplayNode in-process with parameter_overrides.
Tier 3: `kaiyo record` as its own process, SIGKILLed mid-recording; every flushed message
must read back with mcap's standard stream reader and decode with mcap-ros2-support.
"""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from geometry_msgs.msg import Point32
from mcap.exceptions import McapError
from mcap.reader import NonSeekingReader
from mcap_ros2.decoder import DecoderFactory
from nav_msgs.msg import Odometry
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image
from std_msgs.msg import String

from kaiyo_common import qos
from kaiyo_common.params import ParameterContractError
from kaiyo_common.testing import Probe, ros_context
from kaiyo_interfaces.msg import ImageBox, SeabedObservation
from kaiyo_report.bag import BagError, iter_bag
from kaiyo_report.recorder_node import RecorderNode
from kaiyo_report.replay_node import ReplayNode

KAIYO = Path(sys.executable).with_name('kaiyo')


def _image(i):
    img = Image(height=48, width=64, encoding='rgb8', step=64 * 3)
    img.header.frame_id = 'camera_optical'
    img.header.stamp.sec = 1_780_000_000 + i
    img.data = bytes([i % 256]) * (48 * 64 * 3)
    return img


def _odom(i):
    o = Odometry()
    o.header.frame_id = 'map'
    o.pose.pose.position.x = float(i)
    return o


def _obs(i):
    o = SeabedObservation(vehicle='hover_auv', urchin_count=i, cover_class='5-25')
    o.footprint = [Point32(x=float(i), y=1.0, z=-20.0)]
    o.urchins = [ImageBox(x=float(i), y=2.0, width=3.0, height=4.0, score=0.9)]
    o.isoyake_index = 0.5
    return o


def test_recorder_refuses_bad_parameters(tmp_path):
    with ros_context() as ctx:
        with pytest.raises(BagError, match='nothing to record'):
            RecorderNode(context=ctx, parameter_overrides=[
                Parameter('out_dir', value=str(tmp_path / 'a'))])
        with pytest.raises(ParameterContractError, match="'out_dir'"):
            RecorderNode(context=ctx, parameter_overrides=[Parameter('all', value=True)])
        with pytest.raises(ParameterContractError, match="'compression'"):
            RecorderNode(context=ctx, parameter_overrides=[
                Parameter('out_dir', value=str(tmp_path / 'b')), Parameter('all', value=True),
                Parameter('compression', value='gzip')])


def test_record_then_replay_in_process(tmp_path):
    bag = tmp_path / 'inproc'
    with ros_context() as ctx:
        probe = Probe(ctx)
        latched = probe.node.create_publisher(String, '/tower/note', qos.LATCHED)
        latched.publish(String(data='before the recorder started'))
        pub = probe.node.create_publisher(Odometry, '/hover_auv/odometry', qos.RELIABLE)
        rec = RecorderNode(context=ctx, parameter_overrides=[
            Parameter('out_dir', value=str(bag)), Parameter('all', value=True),
            Parameter('exclude_regex', value='^/(rosout|parameter_events)$'),
            Parameter('discovery_interval_s', value=0.1)])
        assert probe.wait_for_subscribers(pub, nodes=[rec])
        for i in range(20):
            odo = _odom(i)
            odo.header.stamp.sec = 5 if i == 7 else 0   # one from a vehicle stuck in 1970
            pub.publish(odo)
        assert probe.spin_until(lambda: rec.writer.topics.get('/hover_auv/odometry') and
                                rec.writer.topics['/hover_auv/odometry'].message_count == 20
                                and '/tower/note' in rec.writer.topics and
                                rec.writer.topics['/tower/note'].message_count == 1,
                                nodes=[rec])
        assert ('/hover_auv/odometry', 'header') in rec.clock_check.warned
        assert ('/tower/note', 'header') not in rec.clock_check.warned
        rec.shutdown()
        rec.destroy_node()
        # the late-joining recorder got the latched message because it copied the QoS
        notes = [m for m in iter_bag(bag) if m.topic == '/tower/note']
        assert len(notes) == 1 and 'transient_local' in notes[0].channel_metadata[
            'offered_qos_profiles']

        got = probe.collect(Odometry, '/hover_auv/odometry', 100)
        play = ReplayNode(context=ctx, parameter_overrides=[
            Parameter('bag', value=str(bag)), Parameter('rate', value=1.0),
            Parameter('topics', value=['/hover_auv/odometry']),
            Parameter('start_delay_s', value=0.0), Parameter('wait_for_subscribers', value=1)])
        assert probe.spin_until(lambda: play.finished.done() and len(got) == 20, nodes=[play])
        assert [m.pose.pose.position.x for m in got] == [float(i) for i in range(20)]
        play.destroy_node()
        probe.destroy()


def test_record_cli_refuses_bad_arguments(tmp_path):
    (tmp_path / 'used').mkdir()
    (tmp_path / 'used' / 'keep.txt').write_text('do not overwrite')
    p = subprocess.run([str(KAIYO), 'record', '/a', '--out', str(tmp_path / 'used')],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and 'already exists' in p.stderr
    p = subprocess.run([str(KAIYO), 'record', '--out', str(tmp_path / 'new')],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and 'give TOPICS or --all' in p.stderr
    p = subprocess.run([str(KAIYO), 'replay', str(tmp_path / 'missing')],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and 'no such bag' in p.stderr


@pytest.fixture
def recorder_process(tmp_path):
    procs = []

    def start(*args):
        env = dict(os.environ)
        p = subprocess.Popen([str(KAIYO), 'record', *args], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        procs.append(p)
        return p
    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=10)


def _read_standard(path):
    """Every message a standard MCAP stream reader gets from a (possibly truncated) file."""
    out = []
    with open(path, 'rb') as f:
        reader = NonSeekingReader(f, decoder_factories=[DecoderFactory()])
        try:
            for schema, channel, _message, decoded in reader.iter_decoded_messages(
                    log_time_order=False):
                out.append((channel.topic, schema.name, decoded))
        except McapError:
            pass  # the killed recorder's unfinished tail
    return out


def test_sigkilled_recorder_leaves_every_flushed_message_readable(tmp_path, recorder_process):
    bag = tmp_path / 'killed'
    topics = ['/hover_auv/camera/image_raw', '/hover_auv/odometry',
              '/hover_auv/seabed/observations']
    proc = recorder_process(*topics, '--out', str(bag), '--flush-interval', '0.2')
    meta = bag / 'metadata.yaml'

    def flushed_count():
        try:
            return yaml.safe_load(meta.read_text())['rosbag2_bagfile_information']['message_count']
        except (OSError, TypeError, KeyError, yaml.YAMLError):
            return -1

    n = 15
    with ros_context() as ctx:
        probe = Probe(ctx)
        pubs = [probe.node.create_publisher(Image, topics[0], qos.RELIABLE),
                probe.node.create_publisher(Odometry, topics[1], qos.RELIABLE),
                probe.node.create_publisher(SeabedObservation, topics[2], qos.RELIABLE)]
        for pub in pubs:
            if not probe.wait_for_subscribers(pub, timeout=30.0):
                proc.kill()
                out = proc.communicate(timeout=10)[0].decode(errors='replace')
                pytest.fail(f'recorder did not subscribe to {pub.topic_name}; it said:\n{out}')
        for i in range(n):
            pubs[0].publish(_image(i))
            pubs[1].publish(_odom(i))
            pubs[2].publish(_obs(i))
            probe.executor.spin_once(timeout_sec=0.01)
        assert probe.spin_until(lambda: flushed_count() == 3 * n, timeout=20.0), \
            f'recorder flushed {flushed_count()} of {3 * n} messages'
        for i in range(n, n + 5):                      # in flight when the recorder dies
            pubs[1].publish(_odom(i))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        probe.destroy()

    files = sorted(bag.glob('*.mcap'))
    assert [f.name for f in files] == ['killed_0.mcap']
    got = _read_standard(files[0])
    assert len(got) >= 3 * n
    by_topic = {t: [d for topic, _, d in got if topic == t] for t in topics}
    assert [bytes(im.data[:1]) for im in by_topic[topics[0]][:n]] == \
        [bytes([i]) for i in range(n)]
    assert by_topic[topics[0]][0].encoding == 'rgb8'
    assert [o.pose.pose.position.x for o in by_topic[topics[1]][:n]] == \
        [float(i) for i in range(n)]
    obs = by_topic[topics[2]]
    assert [o.urchin_count for o in obs] == list(range(n))
    assert obs[3].urchins[0].x == 3.0 and obs[3].footprint[0].x == 3.0
    assert {name for _, name, _ in got} == {
        'sensor_msgs/msg/Image', 'nav_msgs/msg/Odometry', 'kaiyo_interfaces/msg/SeabedObservation'}
