"""The rendered leaderboard in headless Chromium: rows, sorting by a header click, entry page, screenshot.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON messages
ending in NUL on file descriptors 3 and 4), so nothing beyond Debian's ``chromium`` is needed: no
driver, no websocket package, no port. Skips when Chromium is not installed.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from fixtures.leaderboard import factory

from mlqa_domain.leaderboard.dataset_info import init_leaderboard
from mlqa_domain.leaderboard.render import render_site
from mlqa_domain.leaderboard.store import LocalStore
from mlqa_domain.leaderboard.verify import submit


def find_chromium() -> str | None:
    """Debian's chromium (or another Chromium build) on PATH, else None."""
    for name in (os.environ.get("MLQA_DOMAIN_CHROMIUM"), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


class Chromium:
    """Headless Chromium and a minimal DevTools-protocol client over its debugging pipe."""

    FLAGS = (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        "--remote-debugging-pipe",
    )

    def __init__(self, executable: str, profile: Path, timeout: float = 30.0) -> None:
        self.timeout = timeout
        args = [executable, *self.FLAGS, f"--user-data-dir={profile}", "about:blank"]
        # fd 3 <- our stdin pipe (commands), fd 4 -> our stdout pipe (replies and events)
        self.proc = subprocess.Popen(
            ["sh", "-c", 'exec "$@" 3<&0 4>&1 0</dev/null 1>&2', "sh", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.inbox: queue.Queue = queue.Queue()
        self.pending: list[dict] = []
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        while chunk := self.proc.stdout.read1(1 << 16):
            buffer += chunk
            while b"\0" in buffer:
                message, buffer = buffer.split(b"\0", 1)
                self.inbox.put(json.loads(message))
        self.inbox.put(None)

    def wait_for(self, match, timeout: float | None = None) -> dict:
        """The first message (kept or new) for which ``match`` is true."""
        for i, message in enumerate(self.pending):
            if match(message):
                return self.pending.pop(i)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                message = self.inbox.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError("no answer from Chromium") from None
            if message is None:
                raise RuntimeError("Chromium exited")
            if match(message):
                return message
            self.pending.append(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and return its result (raises on a protocol error)."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.proc.stdin.write(json.dumps(message).encode() + b"\0")
        self.proc.stdin.flush()
        reply = self.wait_for(lambda m, mid=self.next_id: m.get("id") == mid)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def close(self) -> None:
        try:
            self.send("Browser.close")
            self.proc.wait(timeout=10)
        except Exception:  # noqa: BLE001 - make sure it is gone whatever state it is in
            self.proc.kill()
            self.proc.wait(timeout=10)


class Page:
    """One tab."""

    def __init__(self, browser: Chromium, width: int = 1280, height: int = 900) -> None:
        self.browser = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def send(self, method: str, params: dict | None = None) -> dict:
        return self.browser.send(method, params, self.session)

    def goto(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})
        self.browser.wait_for(
            lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == self.session
        )

    def eval(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element."""
        script = (
            "(() => { const e = document.querySelector(%s);"
            " e.scrollIntoView({block: 'center', inline: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        box = self.eval(script % json.dumps(selector))
        for kind in ("mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1},
            )

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def exceptions(self) -> list[dict]:
        """Uncaught script errors seen so far."""
        return [
            m
            for m in self.browser.pending
            if m.get("method") == "Runtime.exceptionThrown" and m.get("sessionId") == self.session
        ]


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    executable = find_chromium()
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    browser = Chromium(
        executable, Path(tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path_factory.getbasetemp()))
    )
    yield browser
    browser.close()


# the real taxonomy's domains, so the main table has as many columns as a real leaderboard
DOMAINS = ["biomedical", "finance", "legal", "science"]
WIDTH = 1400


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory, request) -> tuple[Path, list[Path]]:
    """Where screenshots go; their paths are named in pytest's terminal summary."""
    folder = tmp_path_factory.mktemp("screenshots")
    saved: list[Path] = []

    class Summary:
        def pytest_terminal_summary(self, terminalreporter) -> None:
            for path in saved:
                terminalreporter.write_line(f"leaderboard screenshot: {path}")

    request.config.pluginmanager.register(Summary(), f"leaderboard-screenshots-{id(saved)}")
    return folder, saved


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, list]:
    root = tmp_path_factory.mktemp("lb-browser")
    dataset = factory.build_dataset_repo(root / "dataset", domains=DOMAINS)
    gold = factory.load_gold(dataset)
    store = LocalStore(root / "board")
    init_leaderboard(store, dataset)
    models = [  # overall ranking and legal ranking disagree, so sorting by legal changes the order
        ("org/xlm-roberta-large-squad2-finetuned-baseline", 0.45, [], {"legal": 0.9}),
        ("org/xlm-roberta-large-mnli-then-squad-seed-42-checkpoint", 0.8, ["mnli"], {"legal": 0.1}),
        ("org/mbert-cuad-squad", 0.6, ["cuad", "mnli"], {"legal": 0.5}),
    ]
    for i, (model, skill, tasks, domain_skill) in enumerate(models):
        run = factory.write_results_dir(
            root / f"run{i}", dataset, gold, model, skill, intermediate_tasks=tasks, domain_skill=domain_skill
        )
        submit(run, store, submitter="<i>Ana</i>")
    out = root / "site"
    table = render_site(store, out)
    return out, table.rows


ROWS_JS = "Array.from(document.querySelectorAll('#leaderboard tbody tr')).map(r => r.dataset.entry)"
COLUMN_JS = (
    "Array.from(document.querySelectorAll('#leaderboard thead tr:last-child th'))"
    ".findIndex(th => th.dataset.key === %s)"
)
BOX_JS = """(() => { const e = document.querySelector(%s); if (!e) return null;
  const r = e.getBoundingClientRect(); return {left: r.left, right: r.right, width: r.width}; })()"""


def box(page: Page, selector: str) -> dict | None:
    return page.eval(BOX_JS % json.dumps(selector))


def test_leaderboard_page_sorts_and_links(chromium, site, screenshots):
    out, rows = site
    page = Page(chromium)
    page.goto((out / "index.html").as_uri())
    assert page.eval("document.title") == "MLQA-Domain leaderboard"
    assert page.eval(ROWS_JS) == [r.entry_id for r in rows]  # ranked by MLQA F1
    submitter = page.eval(COLUMN_JS % json.dumps("submitter")) + 1
    cell = f"document.querySelector('#leaderboard tbody td:nth-child({submitter})').textContent"
    assert page.eval(cell).startswith("<i>Ana</i>")  # escaped, shown as typed

    by_legal = sorted(rows, key=lambda r: r.domain_f1["legal"], reverse=True)
    assert [r.entry_id for r in by_legal] != [r.entry_id for r in rows]  # the click must change the order
    page.click("th[data-key='f1_legal'] button")
    assert page.eval(ROWS_JS) == [r.entry_id for r in by_legal]
    assert (
        page.eval("document.querySelector(\"th[data-key='f1_legal']\").getAttribute('aria-sort')")
        == "descending"
    )
    page.click("th[data-key='f1_legal'] button")
    assert page.eval(ROWS_JS) == [r.entry_id for r in reversed(by_legal)]
    page.click("th[data-key='model'] button")
    assert page.eval(ROWS_JS) == [r.entry_id for r in sorted(rows, key=lambda r: r.model)]

    page.click("th[data-key='rank'] button")
    first = rows[0].entry_id  # the MNLI run: its page compares it with the plain-SQuAD run
    page.click(f"tr[data-entry='{first}'] a")
    page.browser.wait_for(
        lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == page.session
    )
    assert page.eval("location.pathname").endswith(f"/entries/{first}.html")
    assert page.eval("document.querySelectorAll('#configs tbody tr').length") == len(rows[0].configs)
    baseline = next(r for r in rows if not r.intermediate_tasks)
    assert (
        page.eval("document.querySelector('#baseline h2 a').getAttribute('href')")
        == f"{baseline.entry_id}.html"
    )
    assert page.eval("document.querySelector('#comparison tbody td code').textContent") == "mlqa"
    images = page.eval(
        "Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth])"
    )
    assert len(images) == 3 and all(width > 100 for _, width in images), images  # forest, heatmap, gaps
    folder, saved = screenshots
    saved.append(page.screenshot(folder / "entry.png"))
    assert page.exceptions() == []


def test_the_main_table_fits_1400_px_without_sideways_scrolling(chromium, site, screenshots):
    out, rows = site
    page = Page(chromium, width=WIDTH, height=900)
    page.goto((out / "index.html").as_uri())
    assert page.eval("window.innerWidth") == WIDTH
    assert page.eval("document.documentElement.scrollWidth") <= WIDTH  # the page does not scroll sideways
    wrap = box(page, ".table-wrap")
    assert (
        page.eval(
            "(() => { const w = document.querySelector('.table-wrap');"
            " return w.scrollWidth - w.clientWidth; })()"
        )
        <= 0
    )
    required = [
        "model",
        "mlqa_f1",
        "mlqa_em",
        *(f"f1_{d}" for d in [*DOMAINS, "general"]),
        *(f"gap_{d}" for d in DOMAINS),
    ]
    for key in required:
        header = box(page, f"th[data-key='{key}']")
        assert header and header["width"] > 0, key
        assert wrap["left"] <= header["left"] and header["right"] <= min(wrap["right"], WIDTH), key
        for row in rows:  # every cell of the column is on screen too, with its value
            index = page.eval(COLUMN_JS % json.dumps(key)) + 1
            cell = box(page, f"tr[data-entry='{row.entry_id}'] td:nth-child({index})")
            assert cell["right"] <= WIDTH, (key, row.entry_id)
    # the other columns wait behind the toggle
    details = ["base_model", "intermediate_tasks", "submitter", "f1_lang_de"]
    assert all(box(page, f"th[data-key='{key}']")["width"] == 0 for key in details)
    folder, saved = screenshots
    shot = page.screenshot(folder / f"leaderboard-{WIDTH}px.png")
    saved.append(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    page.click("#toggle-details")
    assert page.eval("document.getElementById('toggle-details').getAttribute('aria-pressed')") == "true"
    assert all(box(page, f"th[data-key='{key}']")["width"] > 0 for key in details)
    saved.append(page.screenshot(folder / f"leaderboard-{WIDTH}px-more-columns.png"))
    assert page.exceptions() == []
