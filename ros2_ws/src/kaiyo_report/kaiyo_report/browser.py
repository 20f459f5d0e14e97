"""Headless Chromium over the DevTools protocol, for tests of kaiyo's web pages (no rclpy).

    with Chromium() as browser:
        page = browser.open('file:///tmp/report/report.html')
        assert page.evaluate('document.title') == '...'
        page.screenshot('/tmp/report.png')
        assert external_requests(page.requests) == []

Chromium is started with a fresh profile, no background networking, no component updates,
DevTools on 127.0.0.1 only (port chosen by Chromium, read from DevToolsActivePort). Every
request the page makes is recorded from `Network.requestWillBeSent` events of its own
session, which fire for any load the page attempts (documents, images, scripts, fonts,
fetch/XHR, websockets) before it goes out, even when it then fails; so an empty list of
external requests means the page asked for nothing beyond its own file and data: URIs.
Used by kaiyo_report's tests; other packages may import it the same way.
"""
from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

CHROMIUM = os.environ.get('KAIYO_CHROMIUM', '/usr/bin/chromium')
FLAGS = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--disable-default-apps', '--disable-extensions', '--mute-audio',
         '--disable-dev-shm-usage', '--remote-debugging-address=127.0.0.1',
         '--remote-debugging-port=0')
LOCAL_SCHEMES = ('file', 'data', 'about', 'blob', 'chrome-error')


class BrowserError(RuntimeError):
    """Chromium could not start, a DevTools call failed, or a wait timed out."""


def available(executable: str = CHROMIUM) -> bool:
    return Path(executable).is_file() and os.access(executable, os.X_OK)


def external_requests(urls, allowed_origins=()) -> list[str]:
    """URLs that left the page: not file:/data:/about:, nor one of `allowed_origins`
    (e.g. 'http://127.0.0.1:8765', which also allows ws://127.0.0.1:8765)."""
    allowed = set()
    for origin in allowed_origins:
        o = urlparse(origin)
        allowed.add(o.netloc)
    out = []
    for url in urls:
        u = urlparse(url)
        if u.scheme in LOCAL_SCHEMES:
            continue
        if u.scheme in ('http', 'https', 'ws', 'wss') and u.netloc in allowed:
            continue
        out.append(url)
    return out


class Page:
    """One tab, attached with its own DevTools session."""

    def __init__(self, browser: Chromium, target_id: str, session_id: str):
        self.browser = browser
        self.target_id = target_id
        self.session_id = session_id
        self.requests: list[str] = []       # every URL the page asked for, in order
        self.console: list[str] = []        # console messages and uncaught exceptions

    def call(self, method: str, params: dict | None = None, timeout_s: float | None = None):
        return self.browser.call(method, params, self.session_id, timeout_s)

    def _on_event(self, msg: dict) -> None:
        method, params = msg.get('method'), msg.get('params', {})
        if method == 'Network.requestWillBeSent':
            self.requests.append(params['request']['url'])
        elif method == 'Network.webSocketCreated':
            self.requests.append(params['url'])
        elif method == 'Runtime.consoleAPICalled':
            self.console.append(' '.join(str(a.get('value', a.get('description', '')))
                                         for a in params.get('args', [])))
        elif method == 'Runtime.exceptionThrown':
            details = json.dumps(params.get('exceptionDetails', {}))
            self.console.append('exception: ' + details[:500])

    def navigate(self, url: str, timeout_s: float | None = None) -> None:
        self.browser.clear_events('Page.loadEventFired', self.session_id)
        result = self.call('Page.navigate', {'url': url})
        if result.get('errorText'):
            raise BrowserError(f'navigation to {url} failed: {result["errorText"]}')
        self.browser.wait_event('Page.loadEventFired', self.session_id, timeout_s)

    def evaluate(self, expression: str):
        """Value of a JavaScript expression (promises awaited); raises BrowserError on a throw."""
        result = self.call('Runtime.evaluate', {'expression': expression,
                                                'returnByValue': True, 'awaitPromise': True})
        if 'exceptionDetails' in result:
            details = result['exceptionDetails']
            raise BrowserError(f'{expression!r} threw: {details.get("text")} '
                               f'{details.get("exception", {}).get("description", "")}')
        return result.get('result', {}).get('value')

    def wait_for(self, expression: str, timeout_s: float = 10.0) -> object:
        """Evaluate until truthy (each round trip also delivers pending events)."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f'timed out after {timeout_s} s waiting for {expression!r}; '
                                   f'last value {value!r}; console: {self.console[-5:]}')
            self.browser.pump(0.05)

    def screenshot(self, path: str | os.PathLike, full_page: bool = True) -> Path:
        """Write a PNG of the page (whole page height when full_page)."""
        params = {'format': 'png'}
        if full_page:
            metrics = self.call('Page.getLayoutMetrics')
            size = metrics.get('cssContentSize') or metrics['contentSize']
            params.update(captureBeyondViewport=True,
                          clip={'x': 0, 'y': 0, 'width': size['width'],
                                'height': min(size['height'], 16000), 'scale': 1})
        data = self.call('Page.captureScreenshot', params, timeout_s=60)['data']
        path = Path(path)
        path.write_bytes(base64.b64decode(data))
        return path


class Chromium:
    """A headless Chromium process with one DevTools connection (see module docstring).

    width, height: viewport, CSS px. timeout_s: default wait for start-up, calls and events.
    """

    def __init__(self, executable: str = CHROMIUM, width: int = 1200, height: int = 900,
                 timeout_s: float = 30.0):
        if not available(executable):
            raise BrowserError(f'{executable}: no Chromium there (install the Debian '
                               '`chromium` package or set KAIYO_CHROMIUM)')
        self.executable = executable
        self.width, self.height = width, height
        self.timeout_s = timeout_s
        self._ids = itertools.count(1)
        self._events: list[dict] = []
        self._pages: dict[str, Page] = {}
        self.proc = None
        self.ws = None
        self.profile = None

    def __enter__(self) -> Chromium:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix='kaiyo-chromium-'))
        log = open(self.profile / 'chromium.log', 'wb')
        self.proc = subprocess.Popen(
            [self.executable, *FLAGS, f'--user-data-dir={self.profile}',
             f'--window-size={self.width},{self.height}', 'about:blank'],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        port_file = self.profile / 'DevToolsActivePort'
        deadline = time.monotonic() + self.timeout_s
        # Chromium writes "<port>\n<path>" once DevTools listens; nothing else signals it
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = (self.profile / 'chromium.log').read_text(errors='replace')[-800:]
                self.close()
                raise BrowserError(f'Chromium did not start DevTools: {tail}')
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self.ws = connect(f'ws://127.0.0.1:{port}{path}', max_size=None, open_timeout=10)

    def close(self) -> None:
        if self.ws is not None:
            try:
                self.ws.close()
            except (WebSocketException, OSError):
                pass
            self.ws = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
            self.proc = None
        if self.profile is not None:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None

    # -- protocol ----------------------------------------------------------------------
    def _receive(self, timeout_s: float) -> dict | None:
        try:
            raw = self.ws.recv(timeout=timeout_s)
        except TimeoutError:
            return None
        except WebSocketException as err:
            raise BrowserError(f'DevTools connection lost: {err}') from None
        msg = json.loads(raw)
        if 'method' in msg:
            page = self._pages.get(msg.get('sessionId'))
            if page is not None:
                page._on_event(msg)
            self._events.append(msg)
        return msg

    def pump(self, timeout_s: float) -> None:
        """Deliver events arriving within timeout_s."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            if self._receive(left) is None:
                return

    def call(self, method: str, params: dict | None = None, session_id: str | None = None,
             timeout_s: float | None = None) -> dict:
        if self.ws is None:
            raise BrowserError('Chromium is not running')
        msg_id = next(self._ids)
        msg = {'id': msg_id, 'method': method, 'params': params or {}}
        if session_id:
            msg['sessionId'] = session_id
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f'DevTools {method} got no answer')
            reply = self._receive(left)
            if reply is not None and reply.get('id') == msg_id:
                if 'error' in reply:
                    raise BrowserError(f'DevTools {method}: {reply["error"].get("message")}')
                return reply.get('result', {})

    def clear_events(self, method: str, session_id: str | None = None) -> None:
        self._events = [e for e in self._events
                        if not (e['method'] == method and e.get('sessionId') == session_id)]

    def wait_event(self, method: str, session_id: str | None = None,
                   timeout_s: float | None = None) -> dict:
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:
            for e in self._events:
                if e['method'] == method and e.get('sessionId') == session_id:
                    self._events.remove(e)
                    return e
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f'timed out waiting for {method}')
            self._receive(left)

    def open(self, url: str) -> Page:
        """A new tab with network/console recording on, navigated to `url` (load waited)."""
        target = self.call('Target.createTarget', {'url': 'about:blank'})['targetId']
        session = self.call('Target.attachToTarget',
                            {'targetId': target, 'flatten': True})['sessionId']
        page = Page(self, target, session)
        self._pages[session] = page
        for domain in ('Page', 'Network', 'Runtime'):
            page.call(f'{domain}.enable')
        page.call('Emulation.setDeviceMetricsOverride', {
            'width': self.width, 'height': self.height, 'deviceScaleFactor': 1, 'mobile': False})
        page.navigate(url)
        return page
