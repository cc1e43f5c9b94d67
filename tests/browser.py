"""A real headless browser for the report tests: Chromium, driven through chromedriver's WebDriver protocol.

Only the standard library talks to chromedriver (plain HTTP and JSON, the W3C WebDriver protocol),
so the tests need the two Debian packages and nothing from PyPI:
``apt-get install -y chromium chromium-driver`` (.ci/run installs them on CI).
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import matplotlib.image
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C key of an element reference

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="Chromium and chromedriver are not installed (apt-get install -y chromium chromium-driver)",
)


def dump_dom(page: Path, timeout: float = 60) -> str:
    """The DOM of ``page`` after Chromium loaded it (``chromium --headless --dump-dom``)."""
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--dump-dom",
         page.resolve().as_uri()],
        capture_output=True, text=True, timeout=timeout, check=True,
    )
    return proc.stdout


def screenshot(page: Path, png: Path, size: str = "1200,900", timeout: float = 60) -> Path:
    """A PNG of ``page`` as Chromium draws it (``chromium --headless --screenshot``)."""
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
         f"--window-size={size}", f"--screenshot={png}", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=timeout, check=True,
    )
    return png


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """One Chromium session under chromedriver; use as a context manager."""

    def __init__(self, size: tuple[int, int] = (1400, 1000)):
        self.size = size
        self.port = _free_port()
        self.driver: subprocess.Popen | None = None
        self.session = ""

    def __enter__(self) -> Browser:
        self.driver = subprocess.Popen([CHROMEDRIVER, f"--port={self.port}"], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                if self._call("GET", "/status")["ready"]:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chromedriver did not start within 30 s")
            time.sleep(0.1)
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={self.size[0]},{self.size[1]}"]
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome",
                                                 "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}}}
        self.session = self._call("POST", "/session", caps)["sessionId"]
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.session:
                self._call("DELETE", f"/session/{self.session}")
        finally:
            if self.driver is not None:
                self.driver.terminate()
                self.driver.wait(timeout=10)

    def _call(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())["value"]
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"WebDriver {method} {path}: {error.read().decode()[:500]}") from None

    def _session(self, method: str, path: str, body: dict | None = None):
        return self._call(method, f"/session/{self.session}{path}", body)

    def open(self, page: Path) -> None:
        self._session("POST", "/url", {"url": page.resolve().as_uri()})

    def find(self, xpath: str, timeout: float = 20) -> dict:
        """The first element matching ``xpath``, waiting for the page's scripts to draw it."""
        deadline = time.monotonic() + timeout
        while True:
            found = self._session("POST", "/elements", {"using": "xpath", "value": xpath})
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no element {xpath} after {timeout} s; page text:\n{self.text()[:2000]}")
            time.sleep(0.2)

    def click(self, xpath: str) -> None:
        element = self.find(xpath)
        self._session("POST", f"/element/{element[ELEMENT]}/click", {})

    def enter_frame(self, xpath: str = "//iframe") -> None:
        self._session("POST", "/frame", {"id": self.find(xpath)})

    def leave_frame(self) -> None:
        self._session("POST", "/frame/parent", {})

    def text(self) -> str:
        """The text the current frame shows (``innerText``: what a reader sees, no markup)."""
        return self._session("POST", "/execute/sync", {"script": "return document.body.innerText;", "args": []})

    def screenshot(self, png: Path) -> Path:
        png.write_bytes(base64.b64decode(self._session("GET", "/screenshot")))
        return png


def png_is_drawn(png: Path) -> None:
    """Check that a screenshot is a page of some size with something drawn on it."""
    pixels = matplotlib.image.imread(png)
    assert pixels.shape[0] >= 600 and pixels.shape[1] >= 800
    assert pixels[..., :3].std() > 0.05  # text and tables, not a blank page


def show_table_page(report: Path, target: str, png: Path) -> str:
    """Open ``report`` in Chromium, click the target, its Tables and the page's view button; return the
    text the page shows (and save a screenshot of the report)."""
    with Browser() as browser:
        browser.open(report)
        browser.click(f"//nav//*[normalize-space(text())='{target}']")
        browser.click("//nav//*[normalize-space(text())='Tables']")
        browser.click("//nav//table//a[@iconname='eye']")
        browser.enter_frame()
        browser.find("//table//td")
        text = browser.text()
        browser.leave_frame()
        png_is_drawn(browser.screenshot(png))
    return text
