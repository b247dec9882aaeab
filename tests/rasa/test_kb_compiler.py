"""The FAQ checker and compiler: clear errors with file and line, nothing half-written."""
import shutil
import textwrap
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from actions.policy import SHOP_TZ, load_policy
from bot import training
from knowledge_base import compiler, placeholders

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "kb"

GOOD = """
entries:
  - id: refund_time
    title: 退款时间
    skill_group: returns
    tags: [退款]
    owner: 售后组
    updated_at: 2026-11-20
    questions:
      - 退款多久到账
      - 钱什么时候退回来
      - 退款几天到
      - 退款到账时间
      - 多久能收到退款
    answer: |
      仓库收到退货后 {refunds.working_days_min}–{refunds.working_days_max} 个工作日内原路退回。
"""


def with_fields(*lines: str) -> str:
    """GOOD with more fields after ``owner``."""
    return GOOD.replace("    owner: 售后组\n", "    owner: 售后组\n" + "".join(f"    {x}\n" for x in lines))


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def errors_of(directory: Path) -> list[str]:
    _, problems = compiler.check(directory)
    return [str(problem) for problem in problems if not problem.warning]


def fixture_dir(tmp_path: Path, *names: str) -> Path:
    for name in names:
        shutil.copy(FIXTURES / name, tmp_path / Path(name).name)
    return tmp_path


# --- compiling -----------------------------------------------------------------------------

def test_compiles_questions_and_answers_with_policy_numbers(tmp_path):
    write(tmp_path, "returns.yml", GOOD)
    out = tmp_path / "out" / "faq.yml"
    assert compiler.compile_to(out, tmp_path) == 1
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    policy = load_policy()
    low, high = policy.refund_working_days
    assert data["nlu"][0]["intent"] == "faq/refund_time"
    assert data["nlu"][0]["examples"].splitlines()[0] == "- 退款多久到账"
    assert data["responses"]["utter_faq/refund_time"][0]["text"] == \
        f"仓库收到退货后 {low}–{high} 个工作日内原路退回。"


def test_placeholder_follows_the_policy_file(tmp_path):
    policy = tmp_path / "policy.yml"
    policy.write_text("returns:\n  no_reason_days: 10\nshipping:\n  fee_fen: 1250\n", encoding="utf-8")
    values = placeholders.load_values(policy)
    assert placeholders.fill("{returns.no_reason_days} 天，约 {shipping.fee_fen|yuan} 元，{{原样}}",
                             values) == "10 天，约 12.50 元，{原样}"


def test_shop_answers_quote_the_policy_through_placeholders():
    """One source of truth: the answers about return deadlines name the policy, not a copy."""
    entries = {entry.id: entry for entry in compiler.load_entries()}
    assert "{returns.no_reason_days}" in entries["return_policy"].answer
    assert "{returns.quality_days}" in entries["return_policy"].answer
    assert "{shipping.return_shipping_estimate_fen|yuan}" in entries["return_shipping_fee"].answer
    assert "{refunds.bank_card_working_days_max}" in entries["refund_time"].answer


def test_broken_knowledge_base_leaves_the_compiled_file_untouched(tmp_path):
    out = tmp_path / "out" / "faq.yml"
    entries = tmp_path / "entries"
    entries.mkdir()
    write(entries, "returns.yml", GOOD)
    compiler.compile_to(out, entries)
    before = out.read_bytes()
    write(entries, "broken.yml", "entries:\n  - id: broken\n    title: [\n")
    with pytest.raises(compiler.KnowledgeBaseError):
        compiler.compile_to(out, entries)
    assert out.read_bytes() == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["faq.yml"]  # no temp file left


def test_report_tells_answer_edits_from_question_edits(tmp_path):
    out = tmp_path / "faq.yml"
    entries = tmp_path / "entries"
    entries.mkdir()
    write(entries, "returns.yml", GOOD)
    compiler.build(out, entries)
    write(entries, "returns.yml", GOOD.replace("原路退回。", "原路退回，请留意短信。"))
    report = compiler.build(out, entries)
    assert (report.answers_changed, report.questions_changed) == (["refund_time"], [])
    write(entries, "returns.yml", GOOD.replace("退款几天到", "退款几天能到"))
    report = compiler.build(out, entries)
    assert report.questions_changed == ["refund_time"]


def test_training_fingerprint_ignores_answers_but_not_questions(tmp_path):
    out = tmp_path / "faq.yml"
    entries = tmp_path / "entries"
    entries.mkdir()
    write(entries, "returns.yml", GOOD)
    compiler.build(out, entries)
    first = compiler.training_view(out)
    write(entries, "returns.yml", GOOD.replace("原路退回。", "原路退回，请留意短信。"))
    compiler.build(out, entries)
    assert compiler.training_view(out) == first
    write(entries, "returns.yml", GOOD.replace("退款几天到", "退款几天能到"))
    compiler.build(out, entries)
    assert compiler.training_view(out) != first


def test_model_fingerprint_uses_the_questions_of_the_compiled_faq():
    assert training._content(compiler.COMPILED_PATH) == compiler.training_view()
    assert compiler.COMPILED_PATH in training.model_inputs()


# --- hostile and malformed input: a clear message with file and line ------------------------

@pytest.mark.parametrize("fixture, line, fragment", [
    ("tabs.yml", 4, "制表符 (Tab)"),
    ("wrong_types.yml", 5, "tags 应为列表"),
    ("wrong_types.yml", 7, "updated_at 应为日期"),
    ("wrong_types.yml", 8, "questions 应为列表"),
    ("wrong_types.yml", 10, "answer 应为一段文字，不是列表"),
    ("missing_fields.yml", 2, "缺少字段 answer, tags, owner, updated_at"),
    ("duplicate_ids.yml", 10, "id 'same_id' 重复（duplicate_ids.yml 第 2 行已有）"),
    ("unclosed_quote.yml", 5, "YAML 格式错误"),
    ("duplicate_key.yml", 10, "字段 answer 重复出现（第 9 行已有）"),
    ("unknown_placeholder.yml", 11, "未知占位符 {returns.quality_dayz}"),
])
def test_malformed_files_name_file_and_line(tmp_path, fixture, line, fragment):
    errors = errors_of(fixture_dir(tmp_path, fixture))
    expected = f"{fixture} 第 {line} 行"
    assert any(e.startswith(expected) and fragment in e for e in errors), errors


def test_binary_file_is_refused_with_its_line(tmp_path):
    (tmp_path / "photo.yml").write_bytes(b"entries:\n  - id: x\n\x89PNG\r\n\x1a\n\x00\x00\x00IHDR")
    assert errors_of(tmp_path) == [
        "photo.yml 第 5 行: 含有二进制内容，不是文本文件（是否误放了图片或压缩包？）"]


def test_gbk_file_is_refused_as_not_utf8(tmp_path):
    (tmp_path / "gbk.yml").write_bytes("entries:\n  - id: x\n    title: 退货\n".encode("gbk"))
    [error] = errors_of(tmp_path)
    assert error.startswith("gbk.yml 第 3 行") and "UTF-8" in error


def test_one_megabyte_answer_is_one_clear_error(tmp_path):
    huge = "      " + "很" * 1_000_000 + "仓库收到退货后"
    write(tmp_path, "big.yml", GOOD.replace("      仓库收到退货后", huge))
    errors = errors_of(tmp_path)
    assert len(errors) == 1 and errors[0].startswith("big.yml 第 15 行 [refund_time]: answer 过长")


def test_answer_too_long_for_wechat_asks_for_a_channel_variant(tmp_path):
    text = (FIXTURES / "too_long_for_wechat.yml").read_text(encoding="utf-8")
    write(tmp_path, "long.yml", text.replace("LONG", "很" * 700))
    [error] = errors_of(tmp_path)
    assert error.startswith("long.yml 第 9 行") and "wechat 渠道太长" in error
    assert "answers_by_channel.wechat" in error
    short = text.replace("LONG", "很" * 700) + "    answers_by_channel:\n      wechat: 简短版本\n"
    write(tmp_path, "long.yml", short)
    assert errors_of(tmp_path) == []


def test_questions_colliding_across_entries_after_normalisation(tmp_path):
    errors = errors_of(fixture_dir(tmp_path, "collision/a.yml", "collision/b.yml"))
    assert len(errors) == 1
    assert errors[0].startswith("b.yml 第 12 行 [refund_route]: 问法「退款多久到賬？」与 a.yml 第 9 行")


def test_duplicate_question_within_an_entry(tmp_path):
    write(tmp_path, "returns.yml", GOOD.replace("- 退款到账时间", "- 退款多久到账！！"))
    assert errors_of(tmp_path) == [
        "returns.yml 第 13 行 [refund_time]: 问法「退款多久到账！！」与第 10 行「退款多久到账」重复"]


@pytest.mark.parametrize("text, fragment", [
    ("entries: {}", "'entries:' 列表"),
    (GOOD.replace("refund_time", "Refund-Time"), "snake_case"),
    (GOOD.replace("skill_group: returns", "skill_group: sales"), "skill_group 'sales'"),
    (GOOD.replace("      - 多久能收到退款\n", ""), "至少需要 5 项"),
    (GOOD.replace("- 退款几天到", "- '[退款](product)几天到'"), "方括号"),
    (GOOD.replace("    title: 退款时间\n", ""), "缺少字段 title"),
    (with_fields("valid_until: 2026-12-01"), "未知字段 valid_until"),
    (with_fields("valid_from: 2026-12-02", "valid_to: 2026-12-01"), "valid_to 早于 valid_from"),
    (GOOD.replace("{refunds.working_days_min}", "{refunds.working_days_min|euro}"), "|euro 不存在"),
    (GOOD.replace("{refunds.working_days_min}", "{退款天数}"), "无法识别的占位符"),
    ("entries:\n  - id: a\n---\nentries: []\n", "只能有一份内容"),
])
def test_problems_are_reported_with_file_and_line(tmp_path, text, fragment):
    write(tmp_path, "returns.yml", text)
    with pytest.raises(compiler.KnowledgeBaseError) as error:
        compiler.load_entries(tmp_path)
    assert fragment in str(error.value) and "returns.yml 第 " in str(error.value)


def test_numbers_written_as_questions_stay_text(tmp_path):
    write(tmp_path, "returns.yml", GOOD.replace("- 退款几天到", "- 618"))
    [entry] = compiler.load_entries(tmp_path)
    assert "618" in entry.questions


def test_expired_entry_is_a_warning_not_an_error(tmp_path):
    write(tmp_path, "returns.yml", with_fields("valid_to: 2026-11-13"))
    _, problems = compiler.check(tmp_path, now=datetime(2026, 11, 14, 0, 0, tzinfo=SHOP_TZ))
    [warning] = problems
    assert warning.warning and "已于 2026年11月13日 过期" in str(warning)
    _, problems = compiler.check(tmp_path, now=datetime(2026, 11, 13, 23, 59, tzinfo=SHOP_TZ))
    assert problems == []  # a date includes its whole day


def test_duplicate_ids_across_files_are_reported(tmp_path):
    write(tmp_path, "a.yml", GOOD)
    other_questions = "    questions: [甲, 乙, 丙, 丁, 戊]\n    answer: 另一个答案\n"
    write(tmp_path, "b.yml", GOOD[:GOOD.index("    questions:")] + other_questions)
    errors = errors_of(tmp_path)
    assert errors == ["b.yml 第 3 行 [refund_time]: id 'refund_time' 重复（a.yml 第 3 行已有）"]


# --- the shop's own knowledge base ---------------------------------------------------------

def test_shop_knowledge_base_is_valid_and_has_the_required_entries():
    entries = compiler.load_entries()
    ids = {entry.id for entry in entries}
    required = {"return_policy", "return_shipping_fee", "refund_time", "delivery_time",
                "shipping_fee", "courier", "invoice", "payment_methods", "price_protection",
                "warranty", "exchange_policy", "membership", "coupon", "delivery_area",
                "contact_hours", "presale", "size_guide"}
    assert required <= ids
    assert len(entries) >= 40
    assert all(len(entry.questions) >= 5 and entry.tags and entry.owner and entry.updated_at
               for entry in entries)


def test_current_entries_rereads_only_after_a_change(tmp_path):
    write(tmp_path, "returns.yml", GOOD)
    first = compiler.current_entries(tmp_path)
    assert compiler.current_entries(tmp_path) is first  # unchanged files: no re-read
    write(tmp_path, "returns.yml", GOOD.replace("退款时间", "退款到账时间"))
    assert compiler.current_entries(tmp_path)[0].title == "退款到账时间"


def test_time_window_dates_cover_whole_days_in_shop_time():
    assert compiler.starts_at(date(2026, 12, 1)) == datetime(2026, 12, 1, tzinfo=SHOP_TZ)
    assert compiler.ends_at(date(2026, 12, 14)) == datetime(2026, 12, 15, tzinfo=SHOP_TZ)
