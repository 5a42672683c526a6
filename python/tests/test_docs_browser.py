"""The built documentation site, opened in a real browser (issue 14).

Headless Chromium (Debian's ``chromium``) is driven over the DevTools protocol on a pipe (standard library
only). Each page below is loaded from ``docs/_build/html``; the test fails on a console error or an uncaught
exception, on a resource that failed to load, on an image that did not decode, and on math that MathJax did not
render (or that still shows TeX delimiters). A screenshot of each page is saved in
``docs/_build/screenshots/``.

Runs after ``bash scripts/docs.sh``; skipped with its reason when the build or Chromium is absent, except in
CI (``CI=true``), where that is a failure.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "docs" / "_build" / "html"
SHOTS = ROOT / "docs" / "_build" / "screenshots"
PAGES = {  # screenshot name: page, and whether it must hold rendered math
    "index": ("index.html", False),
    "api_network": ("generated/swiftprop.Network.html", False),
    "derivation": ("derivation.html", True),
    "notebook_derivation": ("notebooks/01_derivation.html", True),
    "notebook_digits": ("notebooks/02_digits.html", False),
}
IN_CI = os.environ.get("CI") == "true"


def _need(condition: bool, reason: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


class Browser:
    """Headless Chromium over ``--remote-debugging-pipe`` (fd 3: commands in, fd 4: replies and events out)."""

    def __init__(self, exe: str) -> None:
        self._profile = tempfile.mkdtemp(prefix="swiftprop-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # the child gets them as fds 3 and 4: moved out of the way first (either may already be 3 or 4),
        # then duplicated there (os.dup2 makes the copies inheritable)
        def _fds() -> None:
            import fcntl

            r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)
        self.proc = subprocess.Popen(
            [exe, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
             "--allow-file-access-from-files", f"--user-data-dir={self._profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_fds, close_fds=False)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    def close(self) -> None:
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self._profile, ignore_errors=True)

    def _read_message(self, deadline: float) -> dict:
        import select

        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from Chromium")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict:
        self._id += 1
        msg: dict = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        for k, ev in enumerate(self.events):
            if ev.get("method") == method:
                return self.events.pop(k)
        while True:
            ev = self._read_message(deadline)
            if ev.get("method") == method:
                return ev
            self.events.append(ev)


def _evaluate(b: Browser, session: str, expression: str):
    res = b.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
                 session)
    if "exceptionDetails" in res:
        raise RuntimeError(f"{expression}: {res['exceptionDetails']}")
    return res["result"].get("value")


# Counts of math elements, of MathJax's rendered output, and of TeX delimiters left in the visible text.
_MATH_STATE = """(() => {
  const math = document.querySelectorAll('span.math, div.math');
  const rendered = document.querySelectorAll('.MathJax_CHTML, mjx-container');
  const raw = Array.from(math).filter(e => /\\\\\\(|\\\\\\[|\\$\\$/.test(e.innerText)).length;
  const errors = document.querySelectorAll('.MathJax_Error, merror, mjx-merror').length;
  return {math: math.length, rendered: rendered.length, raw: raw, errors: errors,
          queued: !!(window.MathJax && MathJax.Hub && MathJax.Hub.queue && MathJax.Hub.queue.pending)};
})()"""
_BROKEN_IMAGES = """Array.from(document.images)
  .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src'))"""


def _check_page(b: Browser, rel: str, needs_math: bool, shot: Path) -> list[str]:
    target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    b.events.clear()
    for domain in ("Page", "Runtime", "Log", "Network"):
        b.send(f"{domain}.enable", {}, session)
    b.send("Emulation.setDeviceMetricsOverride",
           {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session)
    b.send("Page.navigate", {"url": (HTML / rel).as_uri()}, session)
    b.wait_event("Page.loadEventFired", timeout=60)

    state: dict = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # MathJax typesets after the load event
        state = _evaluate(b, session, _MATH_STATE)
        if not state["queued"] and (state["math"] == 0 or state["rendered"] >= state["math"]):
            break
        time.sleep(0.25)
    time.sleep(0.5)  # let late console messages arrive
    b.send("Runtime.evaluate", {"expression": "1"}, session)
    problems = []
    for ev in b.events:
        m, p = ev.get("method"), ev.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            problems.append(f"console error: {[a.get('value', a.get('description')) for a in p.get('args', [])]}")
        elif m == "Runtime.exceptionThrown":
            problems.append(f"exception: {p['exceptionDetails'].get('text')} "
                            f"{p['exceptionDetails'].get('exception', {}).get('description', '')}")
        elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
            problems.append(f"log error: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        elif m == "Network.loadingFailed" and not p.get("canceled"):
            problems.append(f"failed to load: {p.get('errorText')} (request {p.get('requestId')})")
        elif m == "Network.requestWillBeSent":
            url = p["request"]["url"]
            if not url.startswith(("file:", "data:", "about:")):
                problems.append(f"loads from the network: {url}")
    broken = _evaluate(b, session, _BROKEN_IMAGES)
    problems += [f"image not loaded: {src}" for src in broken]
    if needs_math and state.get("math", 0) == 0:
        problems.append("no math on a page that has equations")
    if state.get("rendered", 0) < state.get("math", 0):
        problems.append(f"math not rendered: {state}")
    if state.get("raw") or state.get("errors"):
        problems.append(f"TeX left unrendered or MathJax errors: {state}")
    height = _evaluate(b, session, "Math.min(document.documentElement.scrollHeight, 2400)")
    b.send("Emulation.setDeviceMetricsOverride",
           {"width": 1280, "height": int(height), "deviceScaleFactor": 1, "mobile": False}, session)
    png = b.send("Page.captureScreenshot", {"format": "png"}, session, timeout=60)["data"]
    shot.write_bytes(base64.b64decode(png))
    b.send("Target.closeTarget", {"targetId": target})
    return problems


@pytest.fixture(scope="module")
def browser():
    _need((HTML / "index.html").is_file(), f"the documentation is not built ({HTML}): run `bash scripts/docs.sh`")
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    _need(exe is not None, "Chromium is not installed (Debian: apt-get install chromium; scripts/docs.sh does)")
    b = Browser(exe)
    try:
        b.send("Browser.getVersion", timeout=60)
        yield b
    finally:
        b.close()


@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders_in_chromium(browser, name):
    rel, needs_math = PAGES[name]
    assert (HTML / rel).is_file(), f"{rel} is missing from the build"
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"{name}.png"
    problems = _check_page(browser, rel, needs_math, shot)
    assert shot.stat().st_size > 10_000, "the screenshot is (nearly) empty"
    assert not problems, f"{rel}:\n  " + "\n  ".join(problems)
