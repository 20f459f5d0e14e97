"""Tier 1: the bag writer/reader, clock check, replay timing and progress bar (no ROS graph)."""
import io

import pytest
import yaml
from mcap.exceptions import McapError
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from rclpy.serialization import serialize_message
from std_msgs.msg import Header, String

from kaiyo_common.mcap_schema import MsgSchemaError
from kaiyo_report.bag import (
    BagError,
    BagReadReport,
    BagWriter,
    ClockCheck,
    bag_files,
    header_stamp_ns,
    iter_bag,
    repair_bag,
)
from kaiyo_report.progress import Progress
from kaiyo_report.replay import ReplayClock, ReplayError

T0 = 1_780_000_000 * 10**9   # a 2026 wall-clock time, ns


def _string(i):
    return serialize_message(String(data=f'message {i:04d} ' + 'x' * 40))


def test_closed_bag_is_a_complete_rosbag2_mcap(tmp_path):
    w = BagWriter(tmp_path / 'survey', chunk_bytes=4096)
    w.add_topic('/a', 'std_msgs/msg/String')
    w.add_topic('/h', 'std_msgs/Header')
    for i in range(200):
        w.write('/a', _string(i), T0 + i * 10**7)
    w.write('/h', serialize_message(Header(frame_id='map')), T0 + 5)
    w.close()
    assert sorted(p.name for p in (tmp_path / 'survey').iterdir()) == [
        'metadata.yaml', 'survey_0.mcap']
    with open(tmp_path / 'survey' / 'survey_0.mcap', 'rb') as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        header = reader.get_header()
        assert header.profile == 'ros2'
        summary = reader.get_summary()
        assert summary.statistics.message_count == 201
        assert {s.encoding for s in summary.schemas.values()} == {'ros2msg'}
        assert {c.message_encoding for c in summary.channels.values()} == {'cdr'}
        texts = [decoded.data for _, _, _, decoded in
                 reader.iter_decoded_messages(topics=['/a'])]
    assert texts[0].startswith('message 0000') and len(texts) == 200
    meta = yaml.safe_load((tmp_path / 'survey' / 'metadata.yaml').read_text())
    info = meta['rosbag2_bagfile_information']
    assert info['storage_identifier'] == 'mcap' and info['message_count'] == 201
    assert info['relative_file_paths'] == ['survey_0.mcap']
    assert info['duration']['nanoseconds'] == 199 * 10**7
    counts = {t['topic_metadata']['name']: t['message_count']
              for t in info['topics_with_message_count']}
    assert counts == {'/a': 200, '/h': 1}


def test_split_by_size_and_duration(tmp_path):
    # default chunk size (768 KiB) is far above the split size: the open chunk still counts
    w = BagWriter(tmp_path / 'bysize', max_file_bytes=20_000, compression='none')
    w.add_topic('/a', 'std_msgs/String')
    big = [serialize_message(String(data=f'{i:04d}' + 'y' * 1000)) for i in range(100)]
    for i, data in enumerate(big):
        w.write('/a', data, T0 + i)
    w.close()
    files = bag_files(tmp_path / 'bysize')
    assert len(files) >= 5
    sizes = [f.stat().st_size for f in files]
    assert all(15_000 < s < 20_000 + 4_000 for s in sizes[:-1]), sizes
    assert [m.data for m in iter_bag(tmp_path / 'bysize')] == big

    w = BagWriter(tmp_path / 'bysize2', max_file_bytes=3000, chunk_bytes=500)
    w.add_topic('/a', 'std_msgs/String')
    for i in range(300):
        w.write('/a', _string(i), T0 + i)
    w.close()
    got = list(iter_bag(tmp_path / 'bysize2'))
    assert len(got) == 300

    w = BagWriter(tmp_path / 'bytime', max_file_duration_s=1.0)
    w.add_topic('/a', 'std_msgs/String')
    for i in range(50):                       # 0.1 s apart -> 5 s -> 5 files
        w.write('/a', _string(i), T0 + i * 10**8)
    w.close()
    meta = yaml.safe_load((tmp_path / 'bytime' / 'metadata.yaml').read_text())
    assert len(meta['rosbag2_bagfile_information']['files']) == 5
    assert [m.log_time_ns for m in iter_bag(tmp_path / 'bytime')] == \
        [T0 + i * 10**8 for i in range(50)]


def test_flushed_chunks_survive_a_truncated_file(tmp_path):
    w = BagWriter(tmp_path / 'killed', chunk_bytes=1 << 20)
    w.add_topic('/a', 'std_msgs/String')
    for i in range(30):
        w.write('/a', _string(i), T0 + i)
    w.flush()                                  # 30 messages now on disk
    for i in range(30, 40):
        w.write('/a', _string(i), T0 + i)      # still in the open chunk
    path = tmp_path / 'killed' / 'killed_0.mcap'
    data = path.read_bytes()                   # what a SIGKILL now would leave
    for cut in (len(data), len(data) - 5):
        (tmp_path / 'cut.mcap').write_bytes(data[:cut])
        report = BagReadReport()
        got = list(iter_bag(tmp_path / 'cut.mcap', report=report))
        assert [m.data for m in got] == [_string(i) for i in range(30)]
        assert report.truncated, 'a file without footer is reported as ended early'
    meta = yaml.safe_load((tmp_path / 'killed' / 'metadata.yaml').read_text())
    assert meta['rosbag2_bagfile_information']['message_count'] == 30


def test_repair_makes_a_killed_recording_whole(tmp_path):
    w = BagWriter(tmp_path / 'cut', chunk_bytes=300)
    w.add_topic('/a', 'std_msgs/String')
    for i in range(40):
        w.write('/a', _string(i), T0 + i)
    w.flush()                                  # what a SIGKILL leaves: no summary, no footer
    f = tmp_path / 'cut' / 'cut_0.mcap'
    with open(f, 'rb') as fh, pytest.raises(McapError):   # seeking readers cannot open it
        list(make_reader(fh).iter_messages())
    r = repair_bag(tmp_path / 'cut')
    assert r.repaired == [str(f)] and r.messages == 40
    assert (tmp_path / 'cut' / 'cut_0.mcap.damaged').is_file()
    with open(f, 'rb') as fh:
        reader = make_reader(fh, decoder_factories=[DecoderFactory()])
        assert reader.get_summary().statistics.message_count == 40
        got = [d.data for _, _, _, d in reader.iter_decoded_messages()]
    assert got == [f'message {i:04d} ' + 'x' * 40 for i in range(40)]
    meta = yaml.safe_load((tmp_path / 'cut' / 'metadata.yaml').read_text())
    assert meta['rosbag2_bagfile_information']['message_count'] == 40
    assert repair_bag(tmp_path / 'cut').repaired == []          # complete now: left alone


def test_bad_arguments_are_refused(tmp_path):
    (tmp_path / 'used').mkdir()
    (tmp_path / 'used' / 'x').write_text('keep me')
    with pytest.raises(BagError, match='already exists'):
        BagWriter(tmp_path / 'used')
    with pytest.raises(BagError, match='compression'):
        BagWriter(tmp_path / 'n1', compression='gzip')
    with pytest.raises(BagError, match='must be >= 0'):
        BagWriter(tmp_path / 'n2', max_file_bytes=-1)
    w = BagWriter(tmp_path / 'n3')
    with pytest.raises(BagError, match='absolute'):
        w.add_topic('rel', 'std_msgs/String')
    with pytest.raises(MsgSchemaError):
        w.add_topic('/x', 'std_msgs/NoSuch')
    w.add_topic('/a', 'std_msgs/String')
    with pytest.raises(BagError, match='now offered as'):
        w.add_topic('/a', 'std_msgs/Header')
    with pytest.raises(BagError, match='was not added'):
        w.write('/b', b'', T0)
    w.close()
    with pytest.raises(BagError, match='closed'):
        w.write('/a', _string(0), T0)
    with pytest.raises(BagError, match='no such bag'):
        bag_files(tmp_path / 'missing')


def test_header_stamp_is_read_from_cdr_bytes():
    h = Header()
    h.stamp.sec, h.stamp.nanosec = 1_780_000_123, 456
    assert header_stamp_ns(serialize_message(h)) == 1_780_000_123 * 10**9 + 456
    assert header_stamp_ns(b'\x00\x01') is None


def test_clock_check_warns_once_per_cause():
    c = ClockCheck(max_offset_s=60)
    assert c.check('/a', T0, T0, T0 + 10**9) is None
    msg = c.check('/a', T0, T0, 5 * 10**9)       # a vehicle clock stuck in 1970
    assert '/a: header.stamp is' in msg and 'chrony' in msg
    assert c.check('/a', T0, T0, 5 * 10**9) is None
    sim = c.check('/b', 3 * 10**9, T0)           # sim time without /clock
    assert 'recorder clock' in sim
    assert c.check('/c', 3 * 10**9, T0) is None


def test_replay_clock_maps_bag_time_to_wall_time():
    c = ReplayClock(bag_start_ns=T0, start_s=100.0, rate=2.0)
    assert c.due_s(T0) == 100.0
    assert c.due_s(T0 + 4 * 10**9) == pytest.approx(102.0)
    assert c.bag_time_ns(101.0) == T0 + 2 * 10**9
    assert c.bag_time_ns(50.0) == T0
    for bad in (0.0, -1.0, float('nan'), float('inf')):
        with pytest.raises(ReplayError, match='positive'):
            ReplayClock(T0, 0.0, bad)


def test_progress_bar_draws_only_on_a_stream():
    out = io.StringIO()
    p = Progress(out, width=10, min_interval_s=0.0)
    p.start('frames', total=4)
    p.advance(2)
    assert 'frames [#####-----] 2/4  50%' in out.getvalue()
    p.finish()
    assert out.getvalue().endswith('\n')
    silent = Progress.silent()
    silent.start('x', 3)
    silent.advance()
    silent.finish()
