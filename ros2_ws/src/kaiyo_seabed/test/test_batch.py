"""Tier 1: `kaiyo seabed analyze` on bad and odd inputs, results.json, masks, MCAP input."""
import json
import math

import cv2
import numpy as np
import pytest

from kaiyo_seabed.bench import synthetic_seabed
from kaiyo_seabed.classes import COVER_KEYS, SEABED_KEYS
from kaiyo_seabed.cli import main
from kaiyo_seabed.model import load_default_model
from kaiyo_seabed.pipeline import ImageReadError, SeabedAnalyzer, read_image

ENTRY_KEYS = {'image', 'width', 'height', 'cover', 'seabed_cover', 'urchins', 'isoyake_index',
              'cover_class', 'quality'}


@pytest.fixture(scope='module')
def analyzer():
    return SeabedAnalyzer(load_default_model())


@pytest.fixture()
def odd_folder(tmp_path):
    d = tmp_path / 'dive'
    (d / 'sub').mkdir(parents=True)
    good = synthetic_seabed(320, 240)
    cv2.imwrite(str(d / 'good.jpg'), good)
    ok, jpg = cv2.imencode('.jpg', good)
    (d / 'truncated.jpg').write_bytes(jpg.tobytes()[: len(jpg) // 2])
    (d / 'empty.png').write_bytes(b'')
    cv2.imwrite(str(d / 'grey.png'), cv2.cvtColor(good, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(d / 'sub' / 'deep16.png'), (good.astype(np.uint16) * 16))   # 12-bit in 16
    big = cv2.resize(good, (6000, 4500), interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(d / 'large.jpg'), big, [cv2.IMWRITE_JPEG_QUALITY, 60])
    # a PNG whose header claims 100k x 100k px: refused before decoding
    png = bytearray(cv2.imencode('.png', good[:8, :8])[1].tobytes())
    png[16:24] = (100_000).to_bytes(4, 'big') * 2
    (d / 'bomb.png').write_bytes(bytes(png))
    (d / 'notes.txt').write_text('dive log: visibility 4 m\n')
    (d / 'fake.jpg').write_bytes(b'this is not a jpeg at all' * 10)
    return d


def test_bad_inputs_are_reported_and_the_rest_analysed(odd_folder, tmp_path):
    out = tmp_path / 'results.json'
    masks = tmp_path / 'masks'
    assert main(['analyze', str(odd_folder), str(tmp_path / 'missing.jpg'), '--out', str(out),
                 '--masks', str(masks)]) == 0
    doc = json.loads(out.read_text())
    from kaiyo_seabed.batch import count_frames
    assert count_frames([odd_folder, tmp_path / 'missing.jpg']) == 10
    assert doc['classes'] == {'0': 'unknown', '1': 'water', '2': 'seaweed', '3': 'coralline',
                              '4': 'bare', '5': 'urchin', '6': 'other'}
    by_name = {e['image'].split('/')[-1]: e for e in doc['images']}
    assert len(by_name) == 10
    errors = {k: v['error'] for k, v in by_name.items() if 'error' in v}
    assert 'truncated' in errors['truncated.jpg']
    assert 'empty' in errors['empty.png']
    assert 'larger than' in errors['bomb.png']
    assert 'not a readable image' in errors['notes.txt']
    assert 'not a readable image' in errors['fake.jpg']
    assert 'no such file' in errors['missing.jpg']
    for name, (w, h) in {'good.jpg': (320, 240), 'grey.png': (320, 240),
                         'deep16.png': (320, 240), 'large.jpg': (6000, 4500)}.items():
        e = by_name[name]
        assert ENTRY_KEYS <= set(e), name
        assert (e['width'], e['height']) == (w, h)
        assert set(e['cover']) == set(COVER_KEYS) and set(e['seabed_cover']) == set(SEABED_KEYS)
        assert sum(e['cover'].values()) == pytest.approx(1.0, abs=1e-3)
        assert e['cover_class'] in ('0', '<5', '5-25', '25-50', '50-75', '75-100', '100', '')
        assert isinstance(e['quality']['usable'], bool)
        mask = cv2.imread(e['mask'], cv2.IMREAD_UNCHANGED)
        assert mask.shape == (h, w) and mask.dtype == np.uint8 and mask.max() <= 6
        assert e['mask'].endswith(name.rsplit('.', 1)[0] + '.png')


def test_read_image_errors(tmp_path):
    with pytest.raises(ImageReadError, match='cannot open'):
        read_image(tmp_path / 'nope.png')
    (tmp_path / 'e.jpg').write_bytes(b'')
    with pytest.raises(ImageReadError, match='empty'):
        read_image(tmp_path / 'e.jpg')


def test_grey_and_16bit_match_8bit_colour_shape(analyzer):
    frame = synthetic_seabed(320, 240)
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    r16 = analyzer.analyze(grey.astype(np.uint16) * 257)
    r8 = analyzer.analyze(grey)
    assert r16.class_map.shape == r8.class_map.shape
    # 16-bit scaled by its own range gives nearly the same classes as the 8-bit frame
    assert np.mean(r16.class_map == r8.class_map) > 0.9


def test_analyzer_rejects_non_images(analyzer):
    from kaiyo_seabed.features import ImageFormatError
    with pytest.raises(ImageFormatError, match='shape'):
        analyzer.analyze(np.zeros((10, 10, 2), np.uint8))
    with pytest.raises(ImageFormatError, match='smaller than 8x8'):
        analyzer.analyze(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ImageFormatError, match='dtype'):
        analyzer.analyze(np.zeros((10, 10, 3), np.int32))


def test_cli_bad_model_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / 'model.yml.gz'
    bad.write_bytes(b'nonsense')
    assert main(['analyze', str(tmp_path), '--out', str(tmp_path / 'r.json'),
                 '--model', str(bad)]) == 2
    assert 'not an OpenCV YAML file' in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
def _write_mcap(path, frames):
    """A rosbag2-style MCAP with camera, camera_info, odometry and altimeter of hover_auv."""
    from mcap.writer import Writer
    from nav_msgs.msg import Odometry
    from rclpy.serialization import serialize_message
    from sensor_msgs.msg import CameraInfo, Image, Range

    from kaiyo_common.mcap_schema import schema_text
    from kaiyo_seabed.image_codec import array_to_image_fields
    with open(path, 'wb') as f:
        w = Writer(f)
        w.start(profile='ros2', library='test')
        chans = {}
        for topic, typ in (('/hover_auv/camera/image_raw', 'sensor_msgs/msg/Image'),
                           ('/hover_auv/camera/camera_info', 'sensor_msgs/msg/CameraInfo'),
                           ('/hover_auv/odometry', 'nav_msgs/msg/Odometry'),
                           ('/hover_auv/altimeter', 'sensor_msgs/msg/Range')):
            sid = w.register_schema(typ, 'ros2msg', schema_text(typ).encode())
            chans[topic] = w.register_channel(topic, 'cdr', sid)
        for i, (t_ns, img, xy) in enumerate(frames):
            sec, nsec = divmod(t_ns, 1_000_000_000)
            info = CameraInfo(width=img.shape[1], height=img.shape[0])
            f_px = img.shape[1] / 2.0          # 90 deg horizontal field of view
            info.k = [f_px, 0.0, img.shape[1] / 2.0, 0.0, f_px, img.shape[0] / 2.0, 0.0, 0.0, 1.0]
            odom = Odometry()
            odom.pose.pose.position.x, odom.pose.pose.position.y = xy
            odom.pose.pose.position.z = -15.0
            odom.pose.pose.orientation.w = 1.0
            rng = Range(range=2.0, min_range=0.1, max_range=30.0)
            image = Image(**array_to_image_fields(img, 'bgr8'))
            for m in (info, odom, rng, image):
                m.header.stamp.sec, m.header.stamp.nanosec = sec, nsec
            for topic, m in (('/hover_auv/camera/camera_info', info), ('/hover_auv/odometry', odom),
                             ('/hover_auv/altimeter', rng), ('/hover_auv/camera/image_raw', image)):
                w.add_message(chans[topic], log_time=t_ns + i, publish_time=t_ns,
                              data=serialize_message(m), sequence=i)
        w.finish()


def test_mcap_input_is_georeferenced(tmp_path):
    bag = tmp_path / 'survey'
    bag.mkdir()
    img = synthetic_seabed(320, 240)
    t0 = 1_780_000_000_000_000_000
    _write_mcap(bag / 'survey_0.mcap',
                [(t0, img, (10.5, 20.5)), (t0 + 500_000_000, img, (12.5, 20.5))])
    (bag / 'metadata.yaml').write_text('rosbag2_bagfile_information: {}\n')
    from kaiyo_seabed.batch import count_frames
    assert count_frames([bag]) == 2 and count_frames([bag], every=2) == 1
    out = tmp_path / 'r.json'
    assert main(['analyze', str(bag / 'survey_0.mcap'), '--out', str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc['datum'] == {'lat': pytest.approx(35.305), 'lon': pytest.approx(139.345)}
    e = doc['images'][0]
    assert ENTRY_KEYS <= set(e)
    assert e['vehicle'] == 'hover_auv' and e['stamp'].endswith('Z')
    assert e['pose']['x'] == 10.5 and e['pose']['altitude'] == 2.0
    assert e['pose']['lat'] > 35.305       # 20 m north of the tower
    xs = [p[0] for p in e['footprint']]
    ys = [p[1] for p in e['footprint']]
    # 90 deg camera 2 m up: 4 m x 3 m footprint centred on the vehicle
    assert min(xs) == pytest.approx(9.0) and max(xs) == pytest.approx(12.0)
    assert min(ys) == pytest.approx(18.5) and max(ys) == pytest.approx(22.5)
    assert math.isfinite(e['urchin_density_per_m2'])
    assert doc['images'][1]['pose']['x'] == 12.5


def test_mcap_altitude_sensor_mount_scales_the_footprint(tmp_path):
    # the altimeter ranges from its mount: 2.0 m read 0.5 m below base_link is base_link
    # 2.5 m up, so the 90 deg camera sees 5 m x 3.75 m (not 4 m x 3 m)
    img = synthetic_seabed(320, 240)
    t0 = 1_780_000_000_000_000_000
    bag = tmp_path / 'b.mcap'
    _write_mcap(bag, [(t0, img, (10.5, 20.5))])
    out = tmp_path / 'r.json'
    assert main(['analyze', str(bag), '--out', str(out), '--altitude-sensor-z', '-0.5']) == 0
    e = json.loads(out.read_text())['images'][0]
    assert e['pose']['altitude'] == pytest.approx(2.5)
    xs = [p[0] for p in e['footprint']]
    ys = [p[1] for p in e['footprint']]
    assert max(xs) - min(xs) == pytest.approx(3.75) and max(ys) - min(ys) == pytest.approx(5.0)
    assert main(['analyze', str(bag), '--out', str(out), '--altitude-sensor-z', 'nan']) == 2


def test_mcap_compressed_images(tmp_path):
    from mcap.writer import Writer
    from rclpy.serialization import serialize_message
    from sensor_msgs.msg import CompressedImage

    from kaiyo_common.mcap_schema import schema_text
    ok, jpg = cv2.imencode('.jpg', synthetic_seabed(160, 120))
    with open(tmp_path / 'c.mcap', 'wb') as f:
        w = Writer(f)
        w.start(profile='ros2', library='test')
        sid = w.register_schema('sensor_msgs/msg/CompressedImage', 'ros2msg',
                                schema_text('sensor_msgs/msg/CompressedImage').encode())
        cid = w.register_channel('/wave_boat/camera/image_raw/compressed', 'cdr', sid)
        for i, data in enumerate((jpg.tobytes(), b'garbage')):
            m = CompressedImage(format='jpeg', data=data)
            m.header.stamp.sec = 100 + i
            w.add_message(cid, log_time=i, publish_time=i, data=serialize_message(m), sequence=i)
        w.finish()
    from kaiyo_seabed.batch import count_frames
    assert count_frames([tmp_path / 'c.mcap']) == 2
    out = tmp_path / 'r.json'
    assert main(['analyze', str(tmp_path / 'c.mcap'), '--out', str(out)]) == 0
    good, bad = json.loads(out.read_text())['images']
    assert (good['width'], good['height'], good['vehicle']) == (160, 120, 'wave_boat')
    assert 'footprint' not in good           # no pose in this recording: not georeferenced
    assert 'not a readable JPEG/PNG' in bad['error']


def test_corrupt_mcap_is_reported(tmp_path):
    bad = tmp_path / 'cut.mcap'
    bad.write_bytes(b'\x89MCAP0\r\n' + b'\x00' * 20)
    out = tmp_path / 'r.json'
    assert main(['analyze', str(bad), '--out', str(out)]) == 0
    doc = json.loads(out.read_text())
    assert 'MCAP' in doc['images'][0]['error']


def test_train_and_evaluate_cli_on_user_labels(tmp_path, capsys):
    """Retraining from a user's own masks and CoralNet-style points, then evaluating."""
    rng = np.random.default_rng(3)
    (tmp_path / 'set' / 'images').mkdir(parents=True)
    (tmp_path / 'set' / 'masks').mkdir()
    rows = ['image,x,y,label']
    for i in range(4):
        img = np.empty((120, 160, 3), np.uint8)
        img[:, :80] = np.clip(rng.normal((40, 140, 50), 25, (120, 80, 3)), 0, 255)
        img[:, 80:] = np.clip(rng.normal((170, 120, 200), 10, (120, 80, 3)), 0, 255)
        mask = np.full((120, 160), 3, np.uint8)     # coralline (pink crust) right
        mask[:, :80] = 2                             # seaweed left
        cv2.imwrite(str(tmp_path / 'set' / 'images' / f'q{i}.png'), img)
        cv2.imwrite(str(tmp_path / 'set' / 'masks' / f'q{i}.png'), mask)
        rows += [f'images/q{i}.png,{x},60,{"Kelp" if x < 80 else "CCA"}'
                 for x in (20, 40, 120, 140)]
    (tmp_path / 'set' / 'points.csv').write_text('\n'.join(rows) + '\n')
    (tmp_path / 'map.csv').write_text('label,class\nKelp,seaweed\nCCA,coralline\n')
    model = tmp_path / 'mine.yml.gz'
    assert main(['train', '--masks', str(tmp_path / 'set' / 'masks'),
                 '--points', str(tmp_path / 'set' / 'points.csv'),
                 '--images', str(tmp_path / 'set'),
                 '--mapping', str(tmp_path / 'map.csv'), '--trees', '10', '--depth', '6',
                 '--out', str(model)]) == 0
    capsys.readouterr()
    from kaiyo_seabed.model import SeabedModel
    assert SeabedModel.load(model).projection is not None      # pretrained features: default
    hand = tmp_path / 'hand.yml.gz'
    assert main(['train', '--masks', str(tmp_path / 'set' / 'masks'), '--features', 'hand',
                 '--trees', '5', '--depth', '4', '--out', str(hand)]) == 0
    assert SeabedModel.load(hand).projection is None
    capsys.readouterr()
    assert main(['evaluate', '--points', str(tmp_path / 'set' / 'points.csv'),
                 '--images', str(tmp_path / 'set'), '--mapping', str(tmp_path / 'map.csv'),
                 '--model', str(model), '--json']) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc['points']['n'] == 16
    assert doc['points']['accuracy'] >= 0.9
    assert doc['headline']['point_accuracy'] == doc['points']['accuracy']
    # a points CSV with an unmapped label is refused naming the line
    (tmp_path / 'bad.csv').write_text('image,x,y,label\nimages/q0.png,1,1,Sponge\n')
    assert main(['train', '--points', str(tmp_path / 'bad.csv'), '--images', str(tmp_path / 'set'),
                 '--out', str(tmp_path / 'x.yml.gz')]) == 2
    assert "line 2: label 'Sponge'" in capsys.readouterr().err


def test_progress_bar_only_on_a_terminal():
    import io

    from kaiyo_seabed.batch import Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True
    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = Progress(stream, width=10)
        bar(1, 4, 'a.jpg')
        bar(4, 4, 'd.jpg')
    assert '\r[##        ] 1/4 a.jpg' in tty.getvalue()
    assert '[##########] 4/4 d.jpg' in tty.getvalue() and tty.getvalue().endswith('\n')
    assert pipe.getvalue() == ''


def test_jpeg_with_padding_after_end_marker_is_fine(tmp_path):
    ok, jpg = cv2.imencode('.jpg', synthetic_seabed(64, 48))
    (tmp_path / 'padded.jpg').write_bytes(jpg.tobytes() + b'\0' * 100)
    assert read_image(tmp_path / 'padded.jpg').shape == (48, 64, 3)
    (tmp_path / 'cut.jpg').write_bytes(jpg.tobytes()[:-200])
    with pytest.raises(ImageReadError, match='truncated JPEG'):
        read_image(tmp_path / 'cut.jpg')
