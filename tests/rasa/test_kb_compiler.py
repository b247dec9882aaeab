import textwrap

import pytest
import yaml

from knowledge_base import compiler

GOOD = """
entries:
  - id: refund_time
    title: 退款时间
    skill_group: returns
    questions:
      - 退款多久到账
      - 钱什么时候退回来
      - 退款几天到
      - 退款到账时间
      - 多久能收到退款
    answer: |
      仓库收到退货后 1–3 个工作日内原路退回。
"""


def write(tmp_path, name, text):
    (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")


def test_compiles_questions_and_answers(tmp_path):
    write(tmp_path, "returns.yml", GOOD)
    out = tmp_path / "out" / "faq.yml"
    assert compiler.compile_to(out, tmp_path) == 1
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert data["nlu"][0]["intent"] == "faq/refund_time"
    assert data["nlu"][0]["examples"].splitlines()[0] == "- 退款多久到账"
    assert data["responses"]["utter_faq/refund_time"][0]["text"].startswith("仓库收到退货后")


@pytest.mark.parametrize("text, problem", [
    ("entries: {}", "entries"),
    ("entries: [oops", "YAML"),
    (GOOD.replace("refund_time", "Refund-Time"), "snake_case"),
    (GOOD.replace("skill_group: returns", "skill_group: sales"), "skill_group"),
    (GOOD.replace("      - 多久能收到退款\n", ""), "至少需要 5"),
    (GOOD.replace("- 退款几天到", "- '[退款](product)几天到'"), "方括号"),
    (GOOD.replace("    title: 退款时间\n", ""), "title"),
])
def test_problems_are_reported_with_file_and_entry(tmp_path, text, problem):
    write(tmp_path, "returns.yml", text)
    with pytest.raises(compiler.KnowledgeBaseError) as error:
        compiler.load_entries(tmp_path)
    assert problem in str(error.value) and "returns.yml" in str(error.value)


def test_duplicate_ids_across_files_are_reported(tmp_path):
    write(tmp_path, "a.yml", GOOD)
    write(tmp_path, "b.yml", GOOD)
    with pytest.raises(compiler.KnowledgeBaseError, match="重复"):
        compiler.load_entries(tmp_path)


def test_shop_knowledge_base_is_valid_and_has_the_required_entries():
    ids = {entry.id for entry in compiler.load_entries()}
    required = {"return_policy", "return_shipping_fee", "refund_time", "delivery_time",
                "shipping_fee", "courier", "invoice", "payment_methods", "price_protection",
                "warranty", "exchange_policy", "membership", "coupon", "delivery_area",
                "contact_hours", "presale", "size_guide"}
    assert required <= ids


def test_current_entries_rereads_only_after_a_change(tmp_path):
    write(tmp_path, "returns.yml", GOOD)
    first = compiler.current_entries(tmp_path)
    assert compiler.current_entries(tmp_path) is first  # unchanged files: no re-read
    write(tmp_path, "returns.yml", GOOD.replace("退款时间", "退款到账时间"))
    assert compiler.current_entries(tmp_path)[0].title == "退款到账时间"
