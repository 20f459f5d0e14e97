"""Process supervisor behind `kaiyo bringup`: one child process per node of a bringup file.

Design: a single-threaded loop (selectors) reads every child's output line by line and prints
it with a `[node]` prefix, notices exits, and respawns per policy. Children run in their own
process groups, so a terminal Ctrl-C reaches only the supervisor, which then stops them in
order: SIGINT (rclpy shuts down cleanly), then SIGTERM, then SIGKILL after timeouts. Each
child also gets PR_SET_PDEATHSIG=SIGTERM, so even a SIGKILLed supervisor leaves no orphans
(children are spawned from the main thread only, as PDEATHSIG follows the spawning thread).
"""
from __future__ import annotations

import ctypes
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from kaiyo_bringup.bringup_file import (
    Bringup,
    BringupError,
    NodeSpec,
    container_arguments,
    load_bringup,
    ros_arguments,
)
from kaiyo_common.executor_choice import EXECUTOR_ENV

_PR_SET_PDEATHSIG = 1


class ExecutableNotFoundError(LookupError):
    """A bringup node names a package or executable that is not installed."""


def find_executable(spec: NodeSpec) -> Path:
    """lib/<package>/<executable> under the package's install prefix (as `ros2 run` does).
    For a container, also every member's node factory (the members' packages must be
    installed and register the node in `kaiyo.nodes`)."""
    from kaiyo_bringup.container import NodeFactoryNotFoundError, find_node_factory
    for m in spec.members:
        find_executable(m)      # the package is installed and really has this node
        try:
            find_node_factory(m.package, m.executable)
        except NodeFactoryNotFoundError as err:
            raise ExecutableNotFoundError(f"{m.source}: node '{m.name}' cannot run in "
                                          f"container '{spec.name}': {err}") from None
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    try:
        prefix = Path(get_package_prefix(spec.package))
    except PackageNotFoundError:
        raise ExecutableNotFoundError(f"{spec.source}: node '{spec.name}': package "
                                 f"'{spec.package}' is not installed (run `make setup`)") from None
    exe = prefix / 'lib' / spec.package / spec.executable
    if not (exe.is_file() and os.access(exe, os.X_OK)):
        libdir = prefix / 'lib' / spec.package
        have = sorted(p.name for p in libdir.iterdir()) if libdir.is_dir() else []
        raise ExecutableNotFoundError(
            f"{spec.source}: node '{spec.name}': executable '{spec.executable}' not found in "
            f"package '{spec.package}' ({exe}); available: {', '.join(have) or 'none'}")
    return exe


def node_command(spec: NodeSpec) -> list[str]:
    if spec.is_container:
        return [str(find_executable(spec)), *container_arguments(spec)]
    return [str(find_executable(spec)), *spec.args, *ros_arguments(spec)]


def _set_pdeathsig() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL('libc.so.6', use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    spec: NodeSpec
    command: list[str]
    proc: subprocess.Popen | None = None
    buffer: bytes = b''
    restarts: int = 0
    restart_at: float | None = None
    exit_code: int | None = None
    log: list[str] = field(default_factory=list)


class Supervisor:
    """Start, watch, respawn and stop the children of one bringup."""

    def __init__(self, bringup: Bringup, out=None, sigint_timeout_s: float = 5.0,
                 sigterm_timeout_s: float = 3.0):
        self.bringup = bringup
        self.out = out or sys.stdout
        self.sigint_timeout_s = sigint_timeout_s
        self.sigterm_timeout_s = sigterm_timeout_s
        # resolve every executable before starting anything: fail fast, start nothing
        self.children = [Child(s, node_command(s)) for s in bringup.nodes]
        self.selector = selectors.DefaultSelector()
        self.stopping = False
        self.width = max((len(c.spec.name) for c in self.children), default=4)

    def say(self, name: str, text: str) -> None:
        self.out.write(f'[{name:<{self.width}}] {text}\n')
        self.out.flush()

    def start_child(self, child: Child) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED='1')
        if child.spec.executor:
            env[EXECUTOR_ENV] = child.spec.executor
        child.proc = subprocess.Popen(
            child.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env, start_new_session=True, preexec_fn=_set_pdeathsig)
        os.set_blocking(child.proc.stdout.fileno(), False)
        self.selector.register(child.proc.stdout, selectors.EVENT_READ, child)
        child.restart_at = None
        hosting = (' hosting ' + ', '.join(m.full_name for m in child.spec.members)
                   if child.spec.is_container else '')
        self.say('bringup', f'started {child.spec.full_name} (pid {child.proc.pid}){hosting}')

    def _read(self, child: Child) -> bool:
        """Read what a child wrote; False at end of file."""
        try:
            data = child.proc.stdout.read()
        except BlockingIOError:
            return True
        if not data:
            return False
        child.buffer += data
        *lines, child.buffer = child.buffer.split(b'\n')
        for raw in lines:
            self.say(child.spec.name, raw.decode('utf-8', 'replace').rstrip('\r'))
        return True

    def _reap(self, child: Child) -> None:
        self.selector.unregister(child.proc.stdout)
        self._read(child)
        if child.buffer:
            self.say(child.spec.name, child.buffer.decode('utf-8', 'replace'))
            child.buffer = b''
        child.proc.stdout.close()
        child.exit_code = child.proc.wait()
        self.say('bringup', f'{child.spec.full_name} exited with code {child.exit_code}')
        child.proc = None

    def running(self) -> list[Child]:
        return [c for c in self.children if c.proc is not None]

    def run(self) -> int:
        """Run until every child has ended (or stop() was called). Returns the exit code."""
        for child in self.children:
            self.start_child(child)
        while not self.stopping:
            for key, _ in self.selector.select(timeout=0.1):
                self._read(key.data)
            now = time.monotonic()
            for child in self.children:
                if child.proc is not None and child.proc.poll() is not None:
                    self._reap(child)
                    if child.spec.required:
                        self.say('bringup', f'{child.spec.full_name} is required: stopping all')
                        self.stopping = True
                    elif child.spec.respawn:
                        child.restart_at = now + child.spec.respawn_delay_s
                if child.restart_at is not None and now >= child.restart_at and not self.stopping:
                    child.restarts += 1
                    self.say('bringup', f'respawning {child.spec.full_name} '
                                        f'(restart {child.restarts})')
                    self.start_child(child)
            if not self.running() and not any(c.restart_at for c in self.children):
                break
        self.shutdown()
        codes = [c.exit_code for c in self.children if c.exit_code not in (None, 0)]
        return 1 if codes and not self.stopping else 0

    def stop(self, *_args) -> None:
        self.stopping = True

    def _signal_all(self, sig: int) -> None:
        for child in self.running():
            try:
                os.killpg(child.proc.pid, sig)
            except ProcessLookupError:
                pass

    def _wait_all(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.running() and time.monotonic() < deadline:
            for key, _ in self.selector.select(timeout=0.05):
                self._read(key.data)
            for child in self.running():
                if child.proc.poll() is not None:
                    self._reap(child)

    def shutdown(self) -> None:
        """SIGINT, then SIGTERM, then SIGKILL: every child (and its group) ends."""
        for child in self.children:
            child.restart_at = None
        for sig, timeout in ((signal.SIGINT, self.sigint_timeout_s),
                             (signal.SIGTERM, self.sigterm_timeout_s),
                             (signal.SIGKILL, 5.0)):
            if not self.running():
                break
            names = ', '.join(c.spec.name for c in self.running())
            self.say('bringup', f'sending {signal.Signals(sig).name} to {names}')
            self._signal_all(sig)
            self._wait_all(timeout)


def parse_overrides(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        if ':=' not in item:
            raise BringupError('<command line>', None, f"argument '{item}' must be NAME:=VALUE")
        k, v = item.split(':=', 1)
        out[k.strip()] = v
    return out


def find_bringup_file(name: str) -> Path:
    p = Path(name)
    if p.is_file():
        return p
    from kaiyo_common.paths import repo_root
    for cand in (repo_root() / 'bringup' / name, repo_root() / 'bringup' / f'{name}.yaml'):
        if cand.is_file():
            return cand
    raise BringupError(name, None, 'no such bringup file (looked here and in bringup/)')


def run_bringup_command(args) -> int:
    from kaiyo_common.paths import KaiyoPathError, repo_root
    try:
        root = repo_root()
    except KaiyoPathError:
        root = None
    try:
        bringup = load_bringup(find_bringup_file(args.scenario), parse_overrides(args.arg), root,
                               containers=args.containers)
        if args.dry_run:
            for spec in bringup.nodes:
                print(' '.join(node_command(spec)))
            return 0
        sup = Supervisor(bringup)
    except (BringupError, ExecutableNotFoundError) as err:
        print(f'kaiyo bringup: error: {err}', file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, sup.stop)
    signal.signal(signal.SIGTERM, sup.stop)
    if bringup.description:
        sup.say('bringup', bringup.description)
    return sup.run()
