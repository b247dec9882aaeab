"""The dashboard page in real headless Chromium against the service running in-process (uvicorn
on a free port) over seeded records and the real demo shop: a supervisor logs in through the
console's login API, the page loads, its charts draw the seeded values, hostile text from the
records stays text, the filters work and the CSV export downloads."""
from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from service.app import create_app
from service.settings import Settings
from tests.service.test_dashboard_api import (  # noqa: F401  (shop_url is a fixture)
    HOSTILE_INTENT,
    HOSTILE_PRODUCT,
    HOSTILE_REASON,
    SHOP_KEY,
    seed_records,
    shop_url,
)
from tests.support import free_port, wait_until

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WINDOW = "from=2026-03-01&to=2026-03-03"


@pytest.fixture
def service_url(tmp_path, fresh_redis_url, shop_url) -> Iterator[str]:  # noqa: F811
    settings = Settings(redis_url=fresh_redis_url, database_url=f"sqlite:///{tmp_path}/s.sqlite3",
                        rasa_url="http://127.0.0.1:9", app_token_secret="d" * 40,
                        shop_api_url=shop_url, shop_api_key=SHOP_KEY, handoff_hours="00:00-00:00")
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, 30, "service")
        seed_records(app.state.transcripts.engine)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def page(tmp_path, request):
    if not shutil.which(CHROMIUM):
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run does this)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                      accept_downloads=True)
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        yield page
        page.screenshot(path=str(tmp_path / f"{request.node.name}.png"), full_page=True)
        browser.close()
        assert dialogs == [], "a record's text ran as script"


def log_in(page, service_url: str, username: str) -> None:
    answer = page.request.post(f"{service_url}/api/agent/login",
                               data={"username": username, "password": f"{username}-demo-password"})
    assert answer.status == 200, answer.text()


def open_board(page, service_url: str, query: str = WINDOW) -> None:
    page.goto(f"{service_url}/dashboard?{query}")
    page.locator("body[data-loaded]").wait_for(timeout=15_000)


def values(page, selector: str) -> list[str]:
    return page.locator(selector).evaluate_all("nodes => nodes.map(n => n.getAttribute('data-value'))")


def texts(page, selector: str) -> list[str]:
    return page.locator(selector).all_text_contents()


def test_a_supervisor_reads_the_seeded_figures_in_charts(page, service_url):
    log_in(page, service_url, "supervisor1")
    open_board(page, service_url)
    kpis = {name: page.locator(f"#kpi-{name}").text_content()
            for name in ("conversations", "containment", "handoff", "fallback", "satisfaction")}
    assert kpis == {"conversations": "10", "containment": "30.0%", "handoff": "70.0%",
                    "fallback": "16.7%", "satisfaction": "3.67"}
    # Conversations per day and channel: 3 days x 3 channels of columns.
    assert values(page, "#chart-conversations rect") == ["2", "1", "1", "3", "1", "0", "2", "0", "0"]
    assert texts(page, "#chart-conversations text.total") == ["4", "4", "2"]
    assert values(page, "#chart-containment circle") == ["0.25", "0.5", "0"]
    assert values(page, "#chart-fallback circle") == ["0.4", "0", "0"]
    assert values(page, "#chart-satisfaction circle") == ["3.5", "4"]  # no rating on day 3
    assert values(page, "#chart-reasons rect") == ["3", "1", "1", "1", "1"]
    assert texts(page, "#chart-reasons text.value")[0] == "3（30.0%）"
    assert texts(page, "#chart-intents text.label")[:3] == ["常见问题", "查物流", "未听懂（兜底）"]
    assert values(page, "#chart-faq rect") == ["2", "1"]
    assert texts(page, "#chart-faq text.label") == ["退货政策", "发货与送达时间"]
    assert texts(page, "#chart-waits text.label") == ["VIP p50", "VIP p90", "普通客户 p50", "普通客户 p90"]
    assert values(page, "#chart-waits rect") == ["30", "90", "400", "400"]
    sla = page.locator("#table-sla").inner_text()
    assert "1 分 30 秒" in sla and "5 小时 0 分" in sla
    assert values(page, "#chart-skus rect") == ["3", "2", "1"]
    assert texts(page, "#chart-return-reasons text.label") == ["尺码不合适", "颜色与图片不符"]


def test_hostile_text_from_the_records_stays_text(page, service_url):
    log_in(page, service_url, "supervisor1")
    open_board(page, service_url)
    assert HOSTILE_REASON in texts(page, "#chart-reasons text.label")
    assert "<b>****</b>" in texts(page, "#chart-intents text.label")
    assert HOSTILE_INTENT not in page.content()  # the phone number never reaches the page
    assert f"ZZ-0002 {HOSTILE_PRODUCT}" in texts(page, "#chart-skus text.label")
    assert page.locator("img").count() == 0 and page.locator("b").count() == 0
    assert page.locator("#chart-skus svg").count() == 1  # no <svg> from a product name


def test_filters_and_csv_export(page, service_url):
    log_in(page, service_url, "supervisor1")
    open_board(page, service_url)
    page.locator("#channel").select_option("wechat")
    page.locator("#filter button[type=submit]").click()
    page.locator("body[data-loaded='2026-03-01_2026-03-03_wechat']").wait_for(timeout=15_000)
    assert page.locator("#kpi-conversations").text_content() == "2"
    assert values(page, "#chart-conversations rect") == ["1", "1", "0"]
    with page.expect_download() as info:
        page.locator("#export").click()
    download = info.value
    assert download.suggested_filename == "xiaoshou-dashboard-2026-03-01_2026-03-03-wechat.csv"
    body = Path(download.path()).read_text(encoding="utf-8-sig")
    assert body.startswith("板块,日期,渠道,项目,数值")
    assert "总览,2026-03-01~2026-03-03,微信公众号,conversations,2" in body


def test_a_bad_range_is_explained_in_chinese(page, service_url):
    log_in(page, service_url, "supervisor1")
    page.goto(f"{service_url}/dashboard?from=2026-03-05&to=2026-03-01")
    page.locator("#status", has_text="开始日期不能晚于结束日期").wait_for(timeout=15_000)
    assert page.locator("#board").is_hidden()


@pytest.mark.parametrize("username, message", [
    (None, "请先登录"), ("agent1", "只有主管可以查看数据看板"), ("editor1", "没有")])
def test_only_supervisors_get_the_figures(page, service_url, username, message):
    if username:
        log_in(page, service_url, username)
    page.goto(f"{service_url}/dashboard?{WINDOW}")
    page.locator("#status", has_text=message).wait_for(timeout=15_000)
    assert page.locator("#board").is_hidden()
