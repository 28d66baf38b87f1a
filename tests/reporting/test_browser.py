"""The report in a real headless Chromium, driven over the DevTools protocol (stdlib only).

Console errors, page errors, failed or blocked loads, every chart laid out with non-zero size and
visible marks. Skipped where no Chromium is installed.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from attribution.reporting import SECTIONS, Chart, Report
from tests.reporting.conftest import CHART_KINDS

_CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
]


def _chromium() -> str | None:
    env = os.environ.get("CHROMIUM")
    if env and Path(env).exists():
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


class _DevTools:
    """The smallest DevTools client: JSON messages separated by NUL on fds 3 (in) and 4 (out)."""

    def __init__(self, binary: str, profile: str, timeout: float = 60.0) -> None:
        cmd_r, self._cmd_w = os.pipe()
        self._res_r, res_w = os.pipe()

        def child() -> None:  # runs in the forked child before exec
            import fcntl

            a = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(res_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [
                binary,
                *_CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=child,
        )
        os.close(cmd_r)
        os.close(res_w)
        self._deadline = time.monotonic() + timeout
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer within the time limit")
            ready, _, _ = select.select([self._res_r], [], [], left)
            if ready:
                chunk = os.read(self._res_r, 1 << 16)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str) -> None:
        if any(e.get("method") == method for e in self.events):
            return
        while True:
            msg = self._read()
            self.events.append(msg)
            if msg.get("method") == method:
                return

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_w)
        os.close(self._res_r)

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions, failed and blocked loads, in arrival order."""
        out = []
        for e in self.events:
            method, p = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                out.append(d.get("exception", {}).get("description") or d["text"])
            elif method == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a)) for a in p["args"]))
            elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
                out.append(p["entry"]["text"])
        return out


_PROBE = """(() => {
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const charts = [...document.querySelectorAll('svg.chart')].map((s) => {
    const r = s.getBoundingClientRect();
    return {
      kind: s.dataset.kind, label: s.getAttribute('aria-label'),
      title: (s.querySelector(':scope > title') || {}).textContent,
      width: r.width, height: r.height,
      bars: [...s.querySelectorAll('rect.bar')].filter(visible).length,
      lines: [...s.querySelectorAll('polyline.series')]
        .filter((l) => l.getTotalLength() > 0).length,
      points: [...s.querySelectorAll('circle.point')].filter(visible).length,
      cells: [...s.querySelectorAll('rect.cell')].filter(visible).length,
      labels: [...s.querySelectorAll('text')].filter(visible).length,
    };
  });
  return {
    title: document.title, h1: document.querySelector('h1').textContent, charts,
    sections: [...document.querySelectorAll('section')].map((s) => s.id),
    resources: performance.getEntriesByType('resource').map((e) => e.name),
    tables: document.querySelectorAll('table').length,
  };
})()"""


def _open_in_chromium(path: Path, screenshot: Path | None = None) -> tuple[Any, list[str]]:
    binary = _chromium()
    if binary is None:
        pytest.skip(
            "no Chromium found: install it (Debian: apt-get install -y chromium) or set "
            "CHROMIUM=/path/to/chrome"
        )
    with tempfile.TemporaryDirectory() as profile:
        tools = _DevTools(binary, profile)
        try:
            target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
                "sessionId"
            ]
            for method in ("Page.enable", "Runtime.enable", "Log.enable"):
                tools.send(method, session=session)
            tools.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
            tools.wait_for("Page.loadEventFired")
            result = tools.send(
                "Runtime.evaluate", {"expression": _PROBE, "returnByValue": True}, session=session
            )["result"]
            if screenshot is not None:
                shot = tools.send(
                    "Page.captureScreenshot",
                    {"format": "png", "captureBeyondViewport": True},
                    session=session,
                )
                screenshot.write_bytes(base64.b64decode(shot["data"]))
            return result.get("value"), tools.errors()
        finally:
            tools.close()


@pytest.fixture(scope="module")
def browser_page(full_report: Report, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("report")
    full_report.write(out)
    yield out / "report.html"


def test_the_browser_check_catches_errors(tmp_path: Path) -> None:
    """The harness itself: a broken page must produce errors (or the real test proves nothing)."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; script-src 'unsafe-inline'\"><title>bad</title></head>"
        '<body><h1>x</h1><img src="https://example.invalid/x.png">'
        '<script>console.error("oops"); throw new Error("boom")</script></body></html>'
    )
    value, errors = _open_in_chromium(bad)
    assert value["title"] == "bad"
    text = "\n".join(errors)
    assert "oops" in text and "boom" in text and "Content Security Policy" in text


def test_report_opens_in_headless_chromium(browser_page: Path, full_report: Report) -> None:
    value, errors = _open_in_chromium(browser_page)
    assert errors == []
    assert value["resources"] == []  # nothing fetched besides the page itself
    assert value["title"] == value["h1"] == "Sample <report> & co"
    assert value["sections"] == [s.key for s in SECTIONS]
    assert value["tables"] == len(full_report.tables)
    expected: list[Chart] = full_report.charts
    assert [c["label"] for c in value["charts"]] == [c.title for c in expected]
    assert {c["kind"] for c in value["charts"]} == CHART_KINDS
    for chart in value["charts"]:
        assert chart["title"] == chart["label"]
        assert chart["width"] > 200 and chart["height"] > 100, chart
        assert chart["labels"] > 3, chart
        if chart["kind"] in ("hbar", "grouped", "funnel"):
            assert chart["bars"] > 0, chart
        elif chart["kind"] == "line":
            assert chart["lines"] >= 1 and chart["points"] >= 2, chart
        else:
            assert chart["cells"] > 0, chart
