"""The trend dashboard in a real browser: Streamlit in a subprocess on the marts dbt built over the
demo lake, loaded in headless Chromium (Debian's chromium + chromedriver) through selenium.

Checks what a viewer sees: the latest date's top hashtag (from the DuckDB file itself) and the
day's quality-gate verdict; saves a screenshot to ``test-artifacts/trend_dashboard.png`` (directory
overridable with ``REELHOUSE_TEST_ARTIFACTS``). Also: ``reelhouse dashboard`` on a database that
does not exist yet says which command builds it. The servers are always killed."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from reelhouse.bi.dashboard import APP, streamlit_command

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("REELHOUSE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("REELHOUSE_CHROMEDRIVER", "/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("REELHOUSE_TEST_ARTIFACTS", REPO / "test-artifacts"))

_missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (Path(p).exists() or shutil.which(p))]
pytestmark = pytest.mark.skipif(
    bool(_missing), reason=f"browser test needs Debian's chromium and chromedriver; missing: {', '.join(_missing)} "
                           "(apt-get install chromium chromium-driver)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _server(cmd: list[str], port: int, log: Path, env: dict[str, str] | None = None):
    """Run ``cmd`` (a Streamlit server on ``port``) in its own process group until Streamlit's
    health endpoint answers; kill the whole group afterwards, whatever happened."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=APP.parent, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **(env or {})})
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the dashboard exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the dashboard did not come up on port {port}:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which(CHROMIUM) or CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                "--disable-dev-shm-usage", "--window-size=1440,1400"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which(CHROMEDRIVER) or CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def marts_db(request) -> Path:
    """The DuckDB file ``dbt build`` wrote over the demo lake (``demo_marts``), or the file named by
    ``REELHOUSE_TEST_MARTS_DUCKDB`` (to run this test against an existing build)."""
    if os.environ.get("REELHOUSE_TEST_MARTS_DUCKDB"):
        return Path(os.environ["REELHOUSE_TEST_MARTS_DUCKDB"])
    marts = request.getfixturevalue("demo_marts")
    return Path(marts.duckdb_path)


def _rendered(driver) -> bool:
    """True once the page shows the verdict, the hashtag board and two charts and is not running;
    False while Streamlit is still replacing elements (a stale element is "not yet")."""
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        return _rendered_now(driver)
    except StaleElementReferenceException:
        return False


def _rendered_now(driver) -> bool:
    from selenium.webdriver.common.by import By

    running = driver.find_elements(By.CSS_SELECTOR, "[data-testid='stStatusWidget']")
    return (bool(driver.find_elements(By.CSS_SELECTOR, "[data-testid='gate-verdict']"))
            and bool(driver.find_elements(By.CSS_SELECTOR, "[data-testid='hashtag-board']"))
            and len(driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")) >= 2
            and not any(e.is_displayed() and "Running" in e.text for e in running))


def test_dashboard_shows_top_hashtag_and_gate_verdict(marts_db, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    con = duckdb.connect(str(marts_db), read_only=True)
    try:
        latest, top = con.execute(
            "select ds, hashtag from marts.mart_trending_hashtags where region = 'ALL' "
            "and ds = (select max(ds) from marts.mart_trending_hashtags) order by trend_rank limit 1").fetchone()
        row = con.execute("select upper(verdict) from marts.mart_quality_verdicts where ds = ?", [latest]).fetchone()
    finally:
        con.close()
    verdict = row[0] if row else "NOT GATED"

    port = _free_port()
    with _server(streamlit_command(port=port, duckdb_file=marts_db), port, tmp_path / "streamlit.log") as url:
        t0 = time.monotonic()
        browser.get(url)
        WebDriverWait(browser, 180, poll_frequency=0.5).until(_rendered)
        time.sleep(1.5)  # let plotly finish drawing before the screenshot
        seconds = time.monotonic() - t0

        board = browser.find_element(By.CSS_SELECTOR, "[data-testid='hashtag-board']").text
        first_row = board.splitlines()[1] if len(board.splitlines()) > 1 else ""
        assert f"#{top}" in first_row, board[:500]
        assert f"Top trending hashtag: #{top}" in browser.find_element(By.CSS_SELECTOR, ".rh-hero").text
        badge = browser.find_element(By.CSS_SELECTOR, "[data-testid='gate-verdict']").text
        assert verdict in badge.split() and latest.strftime("%d %b") in badge, badge
        assert f"Trends · all regions · {latest:%d %b %Y}" in browser.find_element(By.TAG_NAME, "h1").text
        assert len(browser.find_elements(By.CSS_SELECTOR, "[data-testid='stMetric']")) >= 8

        height = browser.execute_script(
            "const m = document.querySelector('[data-testid=\"stMainBlockContainer\"]');"
            "return m ? m.getBoundingClientRect().height + 240 : document.body.scrollHeight;")
        browser.set_window_size(1440, int(min(max(height, 900), 4000)))
        time.sleep(1.0)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "trend_dashboard.png"
        assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 20_000
        browser.set_window_size(1440, 1400)
    print(f"dashboard rendered in {seconds:.1f}s; screenshot {shot}")


def test_cli_dashboard_says_how_to_build_missing_marts(browser, tmp_path):
    from selenium.webdriver.support.ui import WebDriverWait

    port = _free_port()
    missing = tmp_path / "_bi" / "reelhouse.duckdb"
    cmd = [sys.executable, "-m", "reelhouse.cli", "dashboard", "--port", str(port), "--duckdb", str(missing)]
    with _server(cmd, port, tmp_path / "cli.log") as url:
        browser.get(url)
        WebDriverWait(browser, 120, poll_frequency=0.5).until(lambda d: "reelhouse dbt build" in d.page_source)
        text = browser.find_element("tag name", "body").text
        assert "The trend marts are not built yet" in text and f"no BI database at {missing}" in text
    assert "note: no BI database at" in (tmp_path / "cli.log").read_text()
