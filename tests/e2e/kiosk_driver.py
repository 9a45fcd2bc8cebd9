"""Drives the kiosk page in headless Debian Chromium with Playwright (no browser download).

Shared by the e2e tests and ``bench/kiosk.py``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.conftest import free_port, wait_port  # noqa: F401 (re-exported for e2e)

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A kiosk plays sound without a click; headless has no audio device, Chromium uses a fake sink.
    "--autoplay-policy=no-user-gesture-required",
    # Keep rAF and timers at full rate although nobody looks at the headless window.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]

INSTALL_HINT = (
    "Debian chromium is needed for the kiosk e2e tests: apt-get install -y chromium "
    "(and pip install playwright into the venv; no browser download is used)"
)


def chromium_path() -> str:
    """``$AVATAR_CHROMIUM``, else /usr/bin/chromium (or ``chromium`` on PATH); raises the hint."""
    exe = os.environ.get("AVATAR_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).exists():
        raise RuntimeError(f"{exe} not found. {INSTALL_HINT}")
    return exe


class Browser:
    """One Playwright driver; each :meth:`kiosk` is its own Chromium with a fresh profile."""

    def __init__(self) -> None:
        exe = chromium_path()
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise RuntimeError(INSTALL_HINT) from e
        self.executable = exe
        self._cm = sync_playwright()
        self.pw = self._cm.__enter__()

    def kiosk(
        self, url: str, args: list[str] | None = None, width: int = 640, height: int = 640
    ) -> Kiosk:
        return Kiosk(self, url, args=args, width=width, height=height)

    def close(self) -> None:
        self._cm.__exit__(None, None, None)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Kiosk:
    """One Chromium showing one kiosk page. Use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        browser: Browser,
        url: str,
        args: list[str] | None = None,
        width: int = 640,
        height: int = 640,
    ):
        self.url = url
        self._profile = tempfile.TemporaryDirectory(prefix="kiosk-chromium-")
        self.console: list[str] = []
        try:
            self.context = browser.pw.chromium.launch_persistent_context(
                self._profile.name,
                executable_path=browser.executable,
                headless=True,
                args=CHROMIUM_ARGS if args is None else args,
                viewport={"width": width, "height": height},
            )
            self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
            self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
            self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
            self.page.goto(url)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        try:
            if hasattr(self, "context"):
                self.context.close()
        finally:
            self._profile.cleanup()

    def __enter__(self) -> Kiosk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def js(self, expr: str, arg: Any = None) -> Any:
        return self.page.evaluate(expr, arg)

    def throttle(self, rate: float) -> None:
        """Slows the page's CPU ``rate``× (Chromium DevTools ``Emulation.setCPUThrottlingRate``)."""
        cdp = self.context.new_cdp_session(self.page)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
        self._cdp = cdp  # the throttling lasts as long as the session

    def stats(self) -> dict[str, int]:
        return self.js("() => ({...window.avatarKiosk.stats})")

    def wait_for(self, expr: str, timeout: float = 15.0, what: str = "") -> Any:
        """Polls a JS expression until it is truthy; fails with the page's stats and console."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(f"() => {{ const k = window.avatarKiosk; return k && ({expr}); }}")
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out waiting for {what or expr}; stats={self.stats()} "
                    f"lastError={self.js('() => window.avatarKiosk.lastError')} "
                    f"console={self.console[-10:]}"
                )
            time.sleep(0.05)

    def region(self, box: tuple[float, float, float, float], n: int = 24) -> list[float]:
        """Mean grey levels of an n×n grid over the canvas box (fractions x0, y0, x1, y1)."""
        return self.js(
            """([box, n]) => {
              const c = document.querySelector('#avatar');
              const g = c.getContext('2d');
              const x0 = box[0] * c.width, y0 = box[1] * c.height;
              const x1 = box[2] * c.width, y1 = box[3] * c.height;
              const d = g.getImageData(x0, y0, x1 - x0, y1 - y0);
              const out = [];
              for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) {
                const x = Math.floor(((i + 0.5) * d.width) / n);
                const y = Math.floor(((j + 0.5) * d.height) / n);
                const o = 4 * (y * d.width + x);
                out.push((d.data[o] + d.data[o+1] + d.data[o+2]) / 3);
              }
              return out;
            }""",
            [list(box), n],
        )

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))
