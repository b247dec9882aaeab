"""The FAQ editor page in real headless Chromium against the service running in-process (uvicorn
on a free port), on a scratch copy of the entries and the ``/model/parse`` stand-in: an editor
logs in on the page, adds an entry (seeing the regression list before confirming), previews it,
and hostile text stays text. Agents are told the page is not for them."""
from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator

import pytest
import uvicorn
import yaml

from knowledge_base import compiler
from knowledge_base.audit import AuditLog
from knowledge_base.editor import KnowledgeBase
from service.app import create_app
from service.settings import Settings
from tests.service.test_dashboard_browser import page  # noqa: F401  (the Chromium fixture)
from tests.service.test_kb_editor_api import HOSTILE, TOKEN, new_entry, rasa_parse  # noqa: F401
from tests.support import free_port, wait_until


@pytest.fixture
def service_url(tmp_path, fresh_redis_url, rasa_parse) -> Iterator[str]:  # noqa: F811
    shutil.copytree(compiler.ENTRIES_DIR, tmp_path / "entries")
    settings = Settings(redis_url=fresh_redis_url, database_url=f"sqlite:///{tmp_path}/s.sqlite3",
                        rasa_url=rasa_parse.url, rasa_auth_token=TOKEN, app_token_secret="e" * 40,
                        router_consumers=False)
    app = create_app(settings)
    app.state.kb = KnowledgeBase(tmp_path / "entries", tmp_path / "retired",
                                 AuditLog(tmp_path / "audit.jsonl"))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, 30, "service")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def log_in_on_the_page(page, service_url: str, username: str) -> None:  # noqa: F811
    page.goto(f"{service_url}/kb")
    page.locator("#login-user").fill(username)
    page.locator("#login-password").fill(f"{username}-demo-password")
    page.locator("#login button[type=submit]").click()


def fill_entry(page, entry: dict, file: str) -> None:  # noqa: F811
    form = page.locator("#entry-form")
    for name in ("id", "title", "owner"):
        form.locator(f"[name={name}]").fill(entry[name])
    form.locator("[name=file]").fill(file)
    form.locator("[name=tags]").fill("，".join(entry["tags"]))
    form.locator("[name=questions]").fill("\n".join(entry["questions"]))
    form.locator("[name=answer]").fill(entry["answer"])


def test_an_editor_adds_an_entry_sees_the_regression_list_and_previews_it(page, service_url, tmp_path):  # noqa: F811
    log_in_on_the_page(page, service_url, "editor1")
    page.locator("body[data-ready]").wait_for(timeout=15_000)
    assert page.locator("#entry-list li").count() >= 45
    page.locator("#new-entry").click()
    entry = new_entry(title="礼品留言卡", answer=f"{HOSTILE} 下单时在备注写留言。")
    fill_entry(page, entry, "service")
    page.locator("#save").click()
    # A new entry changes answers: the regression list comes first, the save on confirmation.
    page.locator("#regression-summary", has_text="回放了").wait_for(timeout=30_000)
    assert page.locator("#regression-rows tr").count() >= 1
    assert "当前模型在测试集上的 FAQ 准确率" in page.locator("#regression-summary").text_content()
    assert not (tmp_path / "audit.jsonl").exists()  # nothing saved yet
    page.locator("#confirm-save").click()
    page.locator("body[data-saved='gift_message']").wait_for(timeout=15_000)
    assert "问法需重新训练" in page.locator("#status").text_content()
    stored = yaml.safe_load((tmp_path / "entries" / "service.yml").read_text(encoding="utf-8"))
    assert any(item["id"] == "gift_message" for item in stored["entries"])
    page.locator("#entry-list button[data-id=gift_message]").wait_for(timeout=15_000)

    page.locator("#preview-text").fill("能帮我写张贺卡吗")
    page.locator("#preview-form button").click()
    page.locator("#preview-estimate", has_text="礼品留言卡（gift_message）").wait_for(timeout=15_000)
    assert "置信度" in page.locator("#preview-model").text_content()
    assert "第二候选" in page.locator("#preview-runner-up").text_content()
    # The hostile answer is in the form as text, never as markup.
    assert HOSTILE in page.locator("[name=answer]").input_value()
    assert page.locator("img").count() == 0


def test_a_save_error_names_the_field_in_chinese(page, service_url):  # noqa: F811
    log_in_on_the_page(page, service_url, "editor1")
    page.locator("body[data-ready]").wait_for(timeout=15_000)
    page.locator("#entry-list button[data-id=refund_time]").click()
    page.locator("#form-title", has_text="退款").wait_for(timeout=15_000)
    page.locator("[name=answer]").fill("")
    page.locator("#save").click()
    page.locator("#problems li", has_text="答案：answer 不能为空").wait_for(timeout=15_000)


def test_an_agent_is_told_the_page_is_for_editors(page, service_url):  # noqa: F811
    log_in_on_the_page(page, service_url, "agent1")
    page.locator("#status", has_text="只有内容编辑可以管理知识库").wait_for(timeout=15_000)
    assert page.locator("#app").is_hidden()
