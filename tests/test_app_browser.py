"""The web app as a user meets it: ``custseg app`` serving a real headless Chromium.

The server test needs no browser; the end-to-end test needs Debian's
``/usr/bin/chromium`` and the ``playwright`` Python package (never
``playwright install``), and skips cleanly without them. Every wait is bounded
and the server is always stopped.

Set CUSTSEG_UPDATE_SCREENSHOT=1 to refresh ``docs/img/app.png`` (the README's
screenshot) from the end-to-end run; otherwise the screenshot goes to tmp_path
so that running the tests never changes the source tree.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from custseg import make_customers, segment

pytest.importorskip("streamlit")

# One worker runs these: a server test counts the private folders servers create, so a
# second app started by another worker at the same moment would be counted too.
pytestmark = pytest.mark.xdist_group("app-server")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "img" / "app.png"
START_TIMEOUT = 90  # seconds for the server to answer
STEP_TIMEOUT_MS = 90_000  # per browser wait; the machine may be busy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _private_dirs(tmp: Path | None = None) -> set[str]:
    return {p.name for p in (tmp or Path(tempfile.gettempdir())).glob("custseg-app-*")}


@contextlib.contextmanager
def running_app(log_path: Path, *args: str, home: Path | None = None, tmp: Path | None = None):
    """Start ``custseg app --no-browser`` on a free port; yield (url, process); always stop it.

    ``tmp`` becomes the server's TMPDIR, so that its private folder is told apart from
    those of other apps started at the same time (other tests, other workers).
    """
    env = dict(os.environ)
    if home is not None:
        env["HOME"] = str(home)
    if tmp is not None:
        env["TMPDIR"] = str(tmp)
    port = _free_port()
    url = f"http://localhost:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "custseg", "app", "--no-browser", "--port", str(port), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: nothing can outlive the test
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            # Ready when Streamlit answers and the launcher has said so (it polls too).
            while not (_health(url) and b"custseg app running at" in log_path.read_bytes()):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"custseg app did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.3)
            yield url, proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=20)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_server_serves_locally_and_cleans_up_when_stopped(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    before = _private_dirs(tmp)
    home = tmp_path / "home"
    home.mkdir()
    with running_app(tmp_path / "server.log", "--max-upload-mb", "7", home=home, tmp=tmp) as (
        url,
        proc,
    ):
        with urllib.request.urlopen(url + "/", timeout=10) as r:
            assert r.status == 200
            assert b"<html" in r.read().lower()
        with urllib.request.urlopen(url + "/_stcore/host-config", timeout=10) as r:
            assert r.status == 200
        created = _private_dirs(tmp) - before
        assert len(created) == 1  # the server's private temporary folder
        proc.terminate()  # SIGTERM to `custseg app` must stop the Streamlit server too
        assert proc.wait(timeout=20) == 0
        port = int(url.rsplit(":", 1)[1])
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, "the server still listens"
        assert not (_private_dirs(tmp) & created), "the private temporary folder was left behind"
    assert list(home.iterdir()) == []  # nothing written to the user's home (~/.streamlit)
    log = (tmp_path / "server.log").read_text()
    assert f"custseg app running at {url}" in log
    assert "uploads up to 7 MB" in log


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_end_to_end_in_headless_chromium(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    demo = tmp_path / "customers.csv"
    frame = make_customers(1000, seed=0)
    frame.to_csv(demo, index=False)
    expected_k = segment(frame).k

    home = tmp_path / "home"
    home.mkdir()
    with (
        running_app(tmp_path / "server.log", home=home) as (url, _),
        sync_api.sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            page.set_default_timeout(STEP_TIMEOUT_MS)
            elsewhere: list[str] = []  # nothing may be fetched from or sent to other hosts
            page.on(
                "request",
                lambda r: (
                    None if r.url.startswith((url, "data:", "blob:")) else elsewhere.append(r.url)
                ),
            )
            page.goto(url)
            page.get_by_text("Upload limit: 200 MB per file").wait_for()
            page.locator("input[type=file]").first.set_input_files(str(demo))

            cards = page.locator("h4").filter(has_text=re.compile(r"^\d+ · "))
            cards.first.wait_for()
            slider = page.get_by_role("slider")
            auto_k = int(slider.get_attribute("aria-valuenow") or 0) or cards.count()
            sync_api.expect(cards).to_have_count(auto_k, timeout=STEP_TIMEOUT_MS)
            assert auto_k == expected_k  # the library's automatic choice for this table

            slider.focus()
            page.keyboard.press("ArrowLeft")  # one segment fewer
            sync_api.expect(cards).to_have_count(expected_k - 1, timeout=STEP_TIMEOUT_MS)
            page.get_by_text(f"Showing k = {expected_k - 1}, your choice").wait_for()

            # The charts are SVG images drawn without matplotlib; each one loads and has a size.
            images = page.locator("img[src^='data:image/svg+xml']")
            sync_api.expect(images).to_have_count(
                3, timeout=STEP_TIMEOUT_MS
            )  # elbow, silhouette, profiles
            sizes = images.evaluate_all("els => els.map(e => [e.complete, e.naturalWidth])")
            assert all(done and width > 100 for done, width in sizes), sizes

            button = page.get_by_role("button", name="Download assignments.csv")
            button.wait_for()
            with page.expect_download(timeout=STEP_TIMEOUT_MS) as info:
                button.click()
            download = info.value
            assert download.suggested_filename == "assignments.csv"
            got = pd.read_csv(io.BytesIO(Path(download.path()).read_bytes()))

            # The picture for the README: the k evidence, then the cards.
            shot = tmp_path / "app.png"
            page.set_viewport_size({"width": 1400, "height": 1500})
            page.get_by_role("heading", name="Number of segments").first.evaluate(
                "e => e.scrollIntoView({block: 'start'})"
            )
            page.wait_for_timeout(500)  # let the scroll settle before the picture
            page.screenshot(path=str(shot))
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            if os.environ.get("CUSTSEG_UPDATE_SCREENSHOT") == "1":
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(shot, SCREENSHOT)
        finally:
            browser.close()

    assert len(got) == 1000
    assert got["CustomerID"].tolist() == frame["CustomerID"].tolist()
    assert sorted(got["segment"].unique()) == list(range(1, expected_k))
    assert got["segment_name"].str.len().gt(0).all()
    assert elsewhere == []  # the page fetched nothing from other hosts
    assert list(home.iterdir()) == []  # and the server wrote nothing to the home folder
