"""MCAP recordings in rosbag2's layout (pure: no rclpy).

Writing (`BagWriter`): a bag is a folder `NAME/` holding `NAME_0.mcap`, `NAME_1.mcap`, ...
and `metadata.yaml`, as `ros2 bag record -s mcap` makes it. Each file has profile `ros2`,
one `ros2msg` schema per type with the full dependency text (kaiyo_common.mcap_schema) and
`cdr` messages (the serialized bytes exactly as received, never re-encoded).

Crash safety: messages are grouped in chunks; `flush()` closes the open chunk and pushes it
to the operating system, so a recorder killed with SIGKILL (or a power cut after the OS
wrote back) leaves a file whose every flushed chunk reads with a standard MCAP stream reader;
only the summary at the end is missing. The caller flushes on a timer (the recorder node:
every `flush_interval_s`), and `metadata.yaml` is rewritten (atomically) at each flush, so a
killed recording still describes itself. Files split by size and/or duration.

Reading (`iter_bag`): streams messages from a bag folder or single .mcap file in file order,
tolerating a truncated last record (reported in `BagReadReport`, never raised).

Clock check (`ClockCheck`): warns once per topic when the recorder's clock or a message's
header stamp is far from the wall clock (simulated time without /clock, a vehicle computer
whose clock was never set), because such files sort wrongly and confuse viewers.
"""
from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from mcap.exceptions import McapError
from mcap.reader import make_reader
from mcap.records import Channel, Message, Schema
from mcap.stream_reader import StreamReader
from mcap.writer import CompressionType, Writer

from kaiyo_common.mcap_schema import full_type_name, schema_text

LIBRARY = 'kaiyo_report bag writer (rosbag2 mcap layout)'
ROSBAG2_METADATA_VERSION = 9   # rosbag2 Jazzy
COMPRESSIONS = {'zstd': CompressionType.ZSTD, 'lz4': CompressionType.LZ4,
                'none': CompressionType.NONE}


class BagError(ValueError):
    """A bag path, topic or option is unusable (the message says which and why)."""


@dataclass
class TopicInfo:
    name: str                          # e.g. /hover_auv/odometry
    type: str                          # e.g. nav_msgs/msg/Odometry
    offered_qos_profiles: str = ''     # YAML text as rosbag2 stores it
    message_count: int = 0
    header_first: bool = False         # the type starts with std_msgs/Header


@dataclass
class FileInfo:
    path: str                          # relative to the bag folder
    start_ns: int = 0
    end_ns: int = 0
    message_count: int = 0


def _header_first(text: str) -> bool:
    for raw in text.splitlines():
        line = raw.split('#', 1)[0].strip()
        if line:
            return line.split()[0] in ('std_msgs/Header', 'Header')
    return False


def header_stamp_ns(data: bytes) -> int | None:
    """The header.stamp (ns) of a CDR message whose first field is std_msgs/Header.

    CDR starts with a 4-byte encapsulation header (byte 1: 1 = little endian), then
    int32 sec and uint32 nanosec. None if the buffer is too short.
    """
    if len(data) < 12:
        return None
    fmt = '<iI' if data[1] == 1 else '>iI'
    sec, nsec = struct.unpack_from(fmt, data, 4)
    return sec * 1_000_000_000 + nsec


def qos_yaml(reliability: str, durability: str, depth: int) -> str:
    """offered_qos_profiles text in rosbag2's Jazzy form (one profile)."""
    profile = {'history': 'keep_last', 'depth': int(depth), 'reliability': reliability,
               'durability': durability,
               'deadline': {'sec': 9223372036, 'nsec': 854775807},
               'lifespan': {'sec': 9223372036, 'nsec': 854775807},
               'liveliness': 'automatic',
               'liveliness_lease_duration': {'sec': 9223372036, 'nsec': 854775807},
               'avoid_ros_namespace_conventions': False}
    return yaml.safe_dump([profile], sort_keys=False)


class BagWriter:
    """Write one rosbag2-layout MCAP bag; see the module docstring.

    out_dir: bag folder to create (must not exist, or be empty).
    max_file_bytes: start a new file when the current one reaches this size, bytes (0: never).
    max_file_duration_s: start a new file after this much log time, s (0: never).
    chunk_bytes: close a chunk when its uncompressed size passes this, bytes.
    compression: 'zstd', 'lz4' or 'none' (per chunk).
    """

    def __init__(self, out_dir: str | os.PathLike, max_file_bytes: int = 0,
                 max_file_duration_s: float = 0.0, chunk_bytes: int = 768 * 1024,
                 compression: str = 'zstd'):
        if compression not in COMPRESSIONS:
            raise BagError(f"compression {compression!r}: use one of {', '.join(COMPRESSIONS)}")
        if max_file_bytes < 0 or max_file_duration_s < 0 or chunk_bytes <= 0:
            raise BagError('max_file_bytes and max_file_duration_s must be >= 0 and '
                           f'chunk_bytes > 0 (got {max_file_bytes}, {max_file_duration_s}, '
                           f'{chunk_bytes})')
        self.dir = Path(out_dir)
        if self.dir.exists() and (not self.dir.is_dir() or any(self.dir.iterdir())):
            raise BagError(f'{self.dir}: already exists and is not an empty folder; '
                           'choose a new --out so no recording is overwritten')
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = self.dir.name
        self.max_file_bytes = int(max_file_bytes)
        self.max_file_ns = int(max_file_duration_s * 1e9)
        # files split between chunks: keep chunks well below the split size
        self.chunk_bytes = int(min(chunk_bytes, max_file_bytes // 4) if max_file_bytes
                               else chunk_bytes) or 1
        self._last_tell = 0
        self._since_tell = 0   # bytes added since the file last grew (the open chunk)
        self.compression = compression
        self.topics: dict[str, TopicInfo] = {}
        self.files: list[FileInfo] = []
        self._stream = None
        self._writer: Writer | None = None
        self._channel_ids: dict[str, int] = {}
        self._schema_ids: dict[str, int] = {}
        self._dirty = False
        self.closed = False

    # -- topics ------------------------------------------------------------------------
    def add_topic(self, name: str, type_name: str, offered_qos_profiles: str = '') -> TopicInfo:
        """Register a topic (idempotent); raises BagError/MsgSchemaError for unknown types."""
        if not name.startswith('/'):
            raise BagError(f'topic {name!r} must be absolute (start with /)')
        type_name = full_type_name(type_name)
        if name in self.topics:
            if self.topics[name].type != type_name:
                raise BagError(f'topic {name} was recorded as {self.topics[name].type}, '
                               f'now offered as {type_name}')
            return self.topics[name]
        info = TopicInfo(name, type_name, offered_qos_profiles,
                         header_first=_header_first(schema_text(type_name)))
        self.topics[name] = info
        if self._writer is not None:
            self._register(info)
        self._dirty = True
        return info

    def _register(self, info: TopicInfo) -> None:
        if info.type not in self._schema_ids:
            self._schema_ids[info.type] = self._writer.register_schema(
                info.type, 'ros2msg', schema_text(info.type).encode())
        meta = {'offered_qos_profiles': info.offered_qos_profiles, 'topic_type_hash': ''}
        self._channel_ids[info.name] = self._writer.register_channel(
            info.name, 'cdr', self._schema_ids[info.type], meta)

    # -- files -------------------------------------------------------------------------
    def _open_file(self) -> None:
        rel = f'{self.name}_{len(self.files)}.mcap'
        self._stream = open(self.dir / rel, 'wb')
        self._writer = Writer(self._stream, chunk_size=self.chunk_bytes,
                              compression=COMPRESSIONS[self.compression])
        self._writer.start(profile='ros2', library=LIBRARY)
        self._schema_ids, self._channel_ids = {}, {}
        self._last_tell, self._since_tell = self._stream.tell(), 0
        self.files.append(FileInfo(rel))
        for info in self.topics.values():
            self._register(info)

    def _close_file(self) -> None:
        if self._writer is not None:
            self._writer.finish()
            self._stream.flush()
            os.fsync(self._stream.fileno())
            self._stream.close()
            self._writer, self._stream = None, None

    def _needs_split(self, log_time_ns: int) -> bool:
        f = self.files[-1]
        if f.message_count == 0:
            return False
        if self.max_file_bytes and self.file_size_estimate() >= self.max_file_bytes:
            return True
        return bool(self.max_file_ns) and log_time_ns - f.start_ns >= self.max_file_ns

    def file_size_estimate(self) -> int:
        """Bytes on disk plus the open chunk (uncompressed: an upper bound), bytes."""
        tell = self._stream.tell()
        if tell != self._last_tell:
            self._last_tell, self._since_tell = tell, 0
        return tell + self._since_tell

    # -- messages ----------------------------------------------------------------------
    def write(self, topic: str, data: bytes, log_time_ns: int,
              publish_time_ns: int | None = None) -> None:
        """Append one serialized (CDR) message received at `log_time_ns` (ns since epoch)."""
        if self.closed:
            raise BagError(f'bag {self.dir} is closed')
        info = self.topics.get(topic)
        if info is None:
            raise BagError(f'topic {topic} was not added to bag {self.dir}')
        if self._writer is None:
            self._open_file()
        elif self._needs_split(log_time_ns):
            self._close_file()
            self._open_file()
        f = self.files[-1]
        if f.message_count == 0:
            f.start_ns = log_time_ns
        f.start_ns = min(f.start_ns, log_time_ns)
        f.end_ns = max(f.end_ns, log_time_ns)
        f.message_count += 1
        info.message_count += 1
        self.file_size_estimate()   # notice a chunk written by the previous message
        self._since_tell += len(data) + 32   # + record overhead
        self._writer.add_message(self._channel_ids[topic], log_time_ns, data,
                                 publish_time_ns if publish_time_ns is not None else log_time_ns)
        self._dirty = True

    @property
    def message_count(self) -> int:
        return sum(f.message_count for f in self.files)

    def flush(self) -> None:
        """Close the open chunk, hand it to the OS, and rewrite metadata.yaml if changed."""
        if self._writer is not None:
            self._writer.flush()
        if self._dirty:
            self.write_metadata()
            self._dirty = False

    def close(self) -> None:
        """Finish the current file (summary and footer) and write the final metadata."""
        if self.closed:
            return
        self._close_file()
        self.write_metadata()
        self.closed = True

    # -- metadata ----------------------------------------------------------------------
    def metadata(self) -> dict:
        files = [f for f in self.files if f.message_count or f is self.files[-1]]
        return metadata_dict(list(self.topics.values()), files)

    def write_metadata(self) -> None:
        write_metadata(self.dir, self.metadata())


def metadata_dict(topics: list[TopicInfo], files: list[FileInfo]) -> dict:
    """rosbag2 (Jazzy, version 9) metadata for these topics and files."""
    start = min((f.start_ns for f in files if f.message_count), default=0)
    end = max((f.end_ns for f in files if f.message_count), default=0)
    return {'rosbag2_bagfile_information': {
        'version': ROSBAG2_METADATA_VERSION,
        'storage_identifier': 'mcap',
        'duration': {'nanoseconds': end - start},
        'starting_time': {'nanoseconds_since_epoch': start},
        'message_count': sum(f.message_count for f in files),
        'topics_with_message_count': [
            {'topic_metadata': {'name': t.name, 'type': t.type,
                                'serialization_format': 'cdr',
                                'offered_qos_profiles': t.offered_qos_profiles,
                                'type_description_hash': ''},
             'message_count': t.message_count} for t in topics],
        'compression_format': '',
        'compression_mode': '',
        'relative_file_paths': [f.path for f in files],
        'files': [{'path': f.path,
                   'starting_time': {'nanoseconds_since_epoch': f.start_ns},
                   'duration': {'nanoseconds': f.end_ns - f.start_ns},
                   'message_count': f.message_count} for f in files],
        'custom_data': {'recorder': LIBRARY},
        'ros_distro': 'jazzy',
    }}


def write_metadata(bag_dir: Path, meta: dict) -> None:
    """Write metadata.yaml atomically (a reader never sees half a file)."""
    tmp = Path(bag_dir) / 'metadata.yaml.tmp'
    tmp.write_text(yaml.safe_dump(meta, sort_keys=False), encoding='utf-8')
    os.replace(tmp, Path(bag_dir) / 'metadata.yaml')


# -- clock check -----------------------------------------------------------------------
@dataclass
class ClockCheck:
    """Warn once per topic when times are far from the wall clock.

    max_offset_s: tolerated |recorder clock - wall clock| and |header stamp - wall clock|, s.
    """

    max_offset_s: float = 60.0
    warned: set = field(default_factory=set)

    def check(self, topic: str, log_time_ns: int, wall_ns: int,
              header_ns: int | None = None) -> str | None:
        """A warning text the first time `topic` shows a far-off time, else None."""
        limit = self.max_offset_s * 1e9
        if ('', 'recorder') not in self.warned and abs(log_time_ns - wall_ns) > limit:
            self.warned.add(('', 'recorder'))
            return (f'recorder clock is {(log_time_ns - wall_ns) / 1e9:+.1f} s from the wall '
                    'clock (use_sim_time without /clock?); log times in the file follow it')
        if header_ns is not None and header_ns != 0 and (topic, 'header') not in self.warned \
                and abs(header_ns - wall_ns) > limit:
            self.warned.add((topic, 'header'))
            return (f'{topic}: header.stamp is {(header_ns - wall_ns) / 1e9:+.1f} s from the '
                    'wall clock (publisher clock not synchronised? check chrony/NTP on that '
                    'computer); recorded anyway')
        return None


# -- reading ---------------------------------------------------------------------------
@dataclass
class BagMessage:
    topic: str
    type: str              # pkg/msg/Type
    schema: Schema | None  # the MCAP schema record (for decoding)
    data: bytes            # CDR bytes
    log_time_ns: int
    publish_time_ns: int
    channel_metadata: dict


@dataclass
class BagReadReport:
    files: list[str] = field(default_factory=list)
    messages: int = 0
    truncated: list[str] = field(default_factory=list)   # 'file: reason' per damaged file


_INDEX = re.compile(r'_(\d+)\.mcap$')


def bag_files(path: str | os.PathLike) -> list[Path]:
    """The .mcap files of a bag folder (metadata order, else by split index) or one file."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise BagError(f'{p}: no such bag folder or .mcap file')
    meta = p / 'metadata.yaml'
    found = sorted(p.glob('*.mcap'),
                   key=lambda f: (int(_INDEX.search(f.name).group(1)) if _INDEX.search(f.name)
                                  else -1, f.name))
    if meta.is_file():
        try:
            info = yaml.safe_load(meta.read_text(encoding='utf-8'))['rosbag2_bagfile_information']
            listed = [p / r for r in info.get('relative_file_paths', [])]
        except (yaml.YAMLError, KeyError, TypeError) as err:
            raise BagError(f'{meta}: not a rosbag2 metadata file ({err})') from None
        # files written after the last metadata update (killed recorder) are still read
        found = [f for f in listed if f.is_file()] + [f for f in found if f not in listed]
    if not found:
        raise BagError(f'{p}: folder has no .mcap files')
    return found


def bag_topics(path: str | os.PathLike) -> dict[str, BagMessage]:
    """topic -> (type, schema, channel metadata) of a bag, as a BagMessage without data.

    Uses each file's summary when present; a file without one (killed recorder) is scanned.
    """
    out: dict[str, BagMessage] = {}
    for f in bag_files(path):
        summary = None
        with open(f, 'rb') as stream:
            try:
                summary = make_reader(stream).get_summary()
            except (McapError, struct.error, EOFError, ValueError):
                summary = None
            if summary is not None:
                for ch in summary.channels.values():
                    schema = summary.schemas.get(ch.schema_id)
                    out.setdefault(ch.topic, BagMessage(
                        ch.topic, schema.name if schema else '', schema, b'', 0, 0,
                        dict(ch.metadata)))
                continue
        for m in iter_bag(f):
            if m.topic not in out:
                out[m.topic] = BagMessage(m.topic, m.type, m.schema, b'', 0, 0,
                                          m.channel_metadata)
    return out


def iter_bag(path: str | os.PathLike, topics: Iterable[str] | None = None,
             report: BagReadReport | None = None) -> Iterator[BagMessage]:
    """Messages of a bag in file order; a damaged tail ends that file (noted in `report`)."""
    wanted = set(topics) if topics is not None else None
    report = report if report is not None else BagReadReport()
    for f in bag_files(path):
        report.files.append(str(f))
        schemas: dict[int, Schema] = {}
        channels: dict[int, Channel] = {}
        with open(f, 'rb') as stream:
            try:
                for record in StreamReader(stream, skip_magic=False).records:
                    if isinstance(record, Schema):
                        schemas[record.id] = record
                    elif isinstance(record, Channel):
                        channels[record.id] = record
                    elif isinstance(record, Message):
                        ch = channels.get(record.channel_id)
                        if ch is None or (wanted is not None and ch.topic not in wanted):
                            continue
                        schema = schemas.get(ch.schema_id)
                        report.messages += 1
                        yield BagMessage(ch.topic, schema.name if schema else '', schema,
                                         record.data, record.log_time, record.publish_time,
                                         dict(ch.metadata))
            except (McapError, struct.error, EOFError, ValueError) as err:
                # a recorder killed mid-write leaves a partial last record: keep what came before
                report.truncated.append(f'{f.name}: {type(err).__name__}: {err}')


# -- repair ------------------------------------------------------------------------------
@dataclass
class RepairReport:
    repaired: list[str] = field(default_factory=list)   # files rewritten with a summary
    kept: list[str] = field(default_factory=list)       # originals kept as *.mcap.damaged
    messages: int = 0


def repair_bag(path: str | os.PathLike, compression: str = 'zstd') -> RepairReport:
    """Make an interrupted recording whole: every file that ends early is rewritten with
    its readable messages plus index and summary (so seeking readers and viewers open it),
    the original kept beside it as `<name>.mcap.damaged`; metadata.yaml is rebuilt from the
    files. Files that are already complete are left as they are."""
    p = Path(path)
    bag_dir = p if p.is_dir() else p.parent
    out = RepairReport()
    topics: dict[str, TopicInfo] = {}
    infos: list[FileInfo] = []
    for f in bag_files(p):
        report = BagReadReport()
        msgs = list(iter_bag(f, report=report))
        if report.truncated:
            damaged = f.with_name(f.name + '.damaged')
            os.replace(f, damaged)
            out.kept.append(str(damaged))
            with open(f, 'wb') as stream:
                writer = Writer(stream, compression=COMPRESSIONS[compression])
                writer.start(profile='ros2', library=LIBRARY + ' (repaired)')
                schema_ids: dict[int, int] = {}
                channel_ids: dict[str, int] = {}
                for m in msgs:
                    if m.topic not in channel_ids:
                        key = m.schema.id if m.schema else 0
                        if m.schema is not None and key not in schema_ids:
                            schema_ids[key] = writer.register_schema(
                                m.schema.name, m.schema.encoding, m.schema.data)
                        channel_ids[m.topic] = writer.register_channel(
                            m.topic, 'cdr', schema_ids.get(key, 0), m.channel_metadata)
                    writer.add_message(channel_ids[m.topic], m.log_time_ns, m.data,
                                       m.publish_time_ns)
                writer.finish()
                stream.flush()
                os.fsync(stream.fileno())
            out.repaired.append(str(f))
        info = FileInfo(f.name)
        for m in msgs:
            t = topics.setdefault(m.topic, TopicInfo(
                m.topic, m.type, m.channel_metadata.get('offered_qos_profiles', '')))
            t.message_count += 1
            info.start_ns = m.log_time_ns if not info.message_count else min(info.start_ns,
                                                                              m.log_time_ns)
            info.end_ns = max(info.end_ns, m.log_time_ns)
            info.message_count += 1
        infos.append(info)
        out.messages += len(msgs)
    if p.is_dir():
        write_metadata(bag_dir, metadata_dict(list(topics.values()), infos))
    return out
