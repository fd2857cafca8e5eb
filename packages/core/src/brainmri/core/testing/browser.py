"""Headless Chromium for tests of the HTML reports, driven over the DevTools pipe (stdlib only).

:class:`Browser` starts the Debian ``chromium`` with ``--remote-debugging-pipe`` (JSON messages
separated by NUL bytes on file descriptors 3 and 4) and the network cut off: every host name
resolves to nothing, so a page that fetches anything from the internet fails to. Pages are
opened from disk (``file://``); console errors, uncaught exceptions and every requested URL
are recorded.

    with Browser() as browser:
        page = browser.open(path)
        page.evaluate("document.title")
        page.screenshot()          # (H, W, 3) uint8
"""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: Why browser tests skip where Chromium is absent.
MISSING = "chromium not installed (apt-get install chromium)"


def find_chromium() -> str | None:
    """The Chromium executable (``chromium``, ``chromium-browser``), or None."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(RuntimeError):
    """The browser did not answer, or answered with an error."""


class Page:
    """One tab: evaluate JavaScript, click, screenshot; ``errors`` and ``requests`` are recorded."""

    def __init__(self, browser: Browser, session: str):
        self.browser = browser
        self.session = session
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.loaded = False

    @property
    def remote(self) -> list[str]:
        """Requested URLs that are not local (``file:``, ``data:``, ``blob:``): empty for a self-contained page."""
        return [u for u in self.requests if not u.startswith(("file:", "data:", "blob:"))]

    def send(self, method: str, params: dict | None = None, timeout: float = 30.0) -> dict:
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    def evaluate(self, expression: str, timeout: float = 30.0) -> Any:
        """The value of a JavaScript expression (promises awaited); a thrown error raises."""
        result = self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, timeout
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:60]!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0) -> Any:
        """Evaluate ``expression`` until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {expression!r}")
            time.sleep(0.05)

    def screenshot(self):
        """The visible viewport as an ``(H, W, 3)`` uint8 array."""
        import numpy as np
        from PIL import Image

        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


class Browser:
    """A headless Chromium process with the network cut off.

    Args:
        width, height: Viewport in CSS pixels (device scale 1).
        download_dir: Where the pages' downloads land (default: a temporary folder).
    """

    def __init__(self, width: int = 1400, height: int = 1000, download_dir: str | os.PathLike | None = None):
        exe = find_chromium()
        if exe is None:
            raise BrowserError(MISSING)
        self.width, self.height = width, height
        self._profile = tempfile.mkdtemp(prefix="brainmri-chromium-")
        self.download_dir = Path(download_dir or tempfile.mkdtemp(prefix="brainmri-downloads-"))
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # The child's ends move above 9 so that placing them on 3 and 4 cannot clobber one with the other.
        for name in ("to_child_r", "from_child_w"):
            fd = locals()[name]
            high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
            os.close(fd)
            if name == "to_child_r":
                to_child_r = high
            else:
                from_child_w = high
        args = [
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--remote-debugging-pipe",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-extensions",
            "--allow-file-access-from-files",
            "--enable-unsafe-swiftshader",
            f"--user-data-dir={self._profile}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        trampoline = (
            f"import os, sys; os.dup2({to_child_r}, 3); os.dup2({from_child_w}, 4); os.execv(sys.argv[1], sys.argv[1:])"
        )
        self._proc = subprocess.Popen(
            [sys.executable, "-c", trampoline, exe, *args],
            pass_fds=(to_child_r, from_child_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0
        self._pages: dict[str, Page] = {}
        self.send("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(self.download_dir)})

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """End the browser and remove its profile."""
        if self._proc.poll() is None:
            try:
                self.send("Browser.close", timeout=5)
            except BrowserError:
                pass
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self._profile, ignore_errors=True)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30.0) -> dict:
        """Send one DevTools command and wait for its answer (events meanwhile are recorded)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline, method)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self._event(reply)

    def _read(self, deadline: float, waiting_for: str) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or self._proc.poll() is not None:
                raise BrowserError(f"no answer from Chromium to {waiting_for}")
            ready, _, _ = select.select([self._from_child], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise BrowserError(f"Chromium closed the pipe (waiting for {waiting_for})")
                self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(raw)

    def _event(self, event: dict) -> None:
        page = self._pages.get(event.get("sessionId", ""))
        if page is None:
            return
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            page.errors.append(str(details.get("exception", {}).get("description") or details.get("text")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            page.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            page.errors.append(f"{params['entry'].get('text')} ({params['entry'].get('url', '')})")
        elif method == "Network.requestWillBeSent":
            page.requests.append(params.get("request", {}).get("url", ""))
        elif method == "Page.loadEventFired":
            page.loaded = True

    def open(self, path: str | os.PathLike, ready: str | None = None, timeout: float = 30.0) -> Page:
        """Open a file in a new tab and wait for its load event (and ``ready``, a JS expression)."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        self._pages[session] = page
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.send(f"{domain}.enable")
        page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
        )
        page.send("Page.navigate", {"url": Path(path).resolve().as_uri()})
        page.wait_for("document.readyState === 'complete'", timeout)
        if ready:
            page.wait_for(ready, timeout)
        return page

    def downloaded(self, name: str, timeout: float = 15.0) -> Path:
        """A finished download of that name in :attr:`download_dir`."""
        path = self.download_dir / name
        deadline = time.monotonic() + timeout
        while not path.is_file() or (self.download_dir / f"{name}.crdownload").exists():
            if time.monotonic() > deadline:
                raise BrowserError(f"{name} was not downloaded (found: {sorted(os.listdir(self.download_dir))})")
            time.sleep(0.05)
        return path


#: Marker colours of QC-page rows (``report.css``): flagged red, others green.
ROW_COLOURS = {"flagged": (214, 39, 40), "ok": (44, 160, 44)}


def marker_runs(shot, x: int) -> list[str]:
    """The row markers seen top to bottom in column ``x`` of a screenshot: ``flagged`` or ``ok`` each."""
    import numpy as np

    column = shot[:, x, :].astype(int)
    kinds = np.full(len(column), "", dtype=object)
    for kind, rgb in ROW_COLOURS.items():
        kinds[np.abs(column - np.array(rgb)).max(axis=1) <= 12] = kind
    runs, previous = [], ""
    for kind in kinds:
        if kind and kind != previous:
            runs.append(kind)
        previous = kind
    return runs


def read_batch_page(
    path: str | os.PathLike, ratings: dict[str, tuple[str, str]] | None = None, height: int = 1600
) -> dict:
    """Load a batch QC page in headless Chromium (network off) and read what a person would see.

    Args:
        path: The page.
        ratings: ``{scan: (rating, comment)}`` entered in the page's controls, then exported.
        height: Viewport height: tall enough to show every row of the first page.

    Returns:
        ``errors`` (console errors, exceptions, failed loads), ``remote`` (requested URLs that
        are not ``file:``/``data:``/``blob:``), ``rows`` (``{scan, flagged, cells: {key: text}}``
        in page order), ``markers`` (row markers counted from the screenshot's pixels),
        ``pictures_loaded`` (every picture decoded) and ``exported`` (the ratings CSV's text).
    """
    with Browser(1500, height) as browser:
        page = browser.open(path, ready="document.body.dataset.ready")
        page.wait_for("[...document.images].every(i => i.complete)")
        rows = page.evaluate("""[...document.querySelectorAll('#rows tr')].map(tr => ({
            scan: tr.dataset.scan, flagged: tr.classList.contains('flagged'),
            cells: Object.fromEntries([...tr.querySelectorAll('td[data-key]')]
                .map(td => [td.dataset.key, td.textContent]))
        }))""")
        loaded = page.evaluate("[...document.images].every(i => i.naturalWidth > 0)")
        x = page.evaluate(
            "(() => { const r = document.querySelector('td.marker').getBoundingClientRect();"
            " return Math.round(r.left + r.width / 2); })()"
        )
        markers = marker_runs(page.screenshot(), int(x))
        exported = None
        if ratings is not None:
            for scan, (rating, comment) in ratings.items():
                page.evaluate(f"""(() => {{
                    const s = document.querySelector('select[data-scan="{scan}"]');
                    s.value = {json.dumps(rating)}; s.dispatchEvent(new Event('change'));
                    const c = document.querySelector('input[data-scan="{scan}"]');
                    c.value = {json.dumps(comment)}; c.dispatchEvent(new Event('input')); }})()""")
            page.evaluate("document.getElementById('export').click()")
            exported = browser.downloaded(f"{Path(path).stem}_ratings.csv").read_text(encoding="utf-8")
        return {
            "errors": list(page.errors),
            "remote": page.remote,
            "rows": rows,
            "markers": markers,
            "pictures_loaded": loaded,
            "exported": exported,
        }


def cell_mismatches(rows: list[dict], expected: dict[str, dict], columns) -> list[str]:
    """Cells of :func:`read_batch_page` rows that differ from ``expected`` (``{scan: {key: value}}``,
    e.g. a batch's CSV rows) at the precision the page shows (``columns``: the page's
    :class:`~brainmri.core.report.Column` list). An empty list: every number equals its CSV value."""
    wrong = []
    for row in rows:
        want = expected.get(row["scan"])
        if want is None:
            wrong.append(f"{row['scan']}: not in the CSV")
            continue
        for column in columns:
            shown, value = row["cells"].get(column.key, ""), want.get(column.key)
            if column.kind == "number" and value not in (None, ""):
                ok = shown != "" and abs(float(shown) - float(value)) <= 0.5 * 10.0**-column.digits + 1e-9
            else:
                ok = shown == ("" if value is None else str(value))
            if not ok:
                wrong.append(f"{row['scan']} {column.key}: page {shown!r}, CSV {value!r}")
    return wrong


def read_run_page(path: str | os.PathLike) -> dict:
    """Load a run's ``report.html`` in headless Chromium (network off).

    Returns:
        ``errors``, ``remote`` (as :func:`read_batch_page`), ``sections`` (headings),
        ``pictures`` (``{file stem: natural width}``, 0 when it did not load) and ``metrics``
        (``{(split, metric): (value, interval)}`` as shown).
    """
    with Browser(1300, 1000) as browser:
        page = browser.open(path, ready="document.body.dataset.ready")
        page.evaluate("[...document.images].forEach(i => i.loading = 'eager')")
        page.wait_for("[...document.images].every(i => i.complete)")
        sections = page.evaluate("[...document.querySelectorAll('h2')].map(h => h.textContent)")
        pictures = page.evaluate("Object.fromEntries([...document.images].map(i => [i.alt, i.naturalWidth]))")
        table = page.evaluate(
            "[...document.querySelectorAll('#metrics tbody tr')].map(tr => [...tr.children].map(td => td.textContent))"
        )
        return {
            "errors": list(page.errors),
            "remote": page.remote,
            "sections": sections,
            "pictures": pictures,
            "metrics": {(r[0], r[1]): (r[2], r[3]) for r in (table or [])},
        }
