"""``python -m knowledge_base`` (``make kb-check``): check the FAQ entries, compile them into
training data, and tell the editor whether the change needs a retrain.

Exit status 0 when the knowledge base is usable (warnings such as expired entries are printed),
1 when something must be fixed; then the compiled file is left exactly as it was.

``python -m knowledge_base seed``: fill an empty ``KNOWLEDGE_BASE_DIR`` with the entries of this
checkout or image (``knowledge_base/seed.py``); a directory that has entries is left alone.
Exit status 0 when the directory is ready, 2 when it cannot be written or the command is wrong.
"""
from __future__ import annotations

import sys
from typing import Optional

from knowledge_base import compiler, seed


def _retrain_advice() -> str:
    # Imported here: bot.training is the one place that knows what the model was trained on.
    from bot import training
    if not training.MODEL_PATH.exists():
        return "还没有训练好的模型: 请运行 make train。"
    if training.is_stale():
        return ("需要重新训练: 问法(或其他训练数据)有变化, 运行 make train 后新问法才能被识别; "
                "答案的修改现在已经生效。")
    return "无需重新训练: 答案的修改保存后几秒内即在运行中的机器人上生效。"


def _names(ids: list[str]) -> str:
    return "、".join(ids[:8]) + (f" 等 {len(ids)} 条" if len(ids) > 8 else "")


def main(argv: Optional[list[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["seed"]:
        return _seed()
    if args:
        print("用法: python -m knowledge_base [seed]", file=sys.stderr)
        return 2
    return _check()


def _seed() -> int:
    if compiler.KB_DIR == compiler.BUNDLED_DIR:
        print("KNOWLEDGE_BASE_DIR 未设置 (或就是代码自带的目录): 无需初始化。")
        return 0
    try:
        copied = seed.seed()
    except seed.SeedError as error:
        print(error, file=sys.stderr)
        return 2
    if copied:
        print(f"知识库目录 {compiler.KB_DIR} 已初始化: 复制了 {len(copied)} 个文件。")
    else:
        print(f"知识库目录 {compiler.KB_DIR} 已有 FAQ 条目, 保持不变 (不覆盖编辑的修改)。")
    return 0


def _check() -> int:
    try:
        report = compiler.build()
    except compiler.KnowledgeBaseError as error:
        print(f"知识库有 {len(error.problems)} 处问题需要修改 (编译结果未改动):\n{error}",
              file=sys.stderr)
        return 1
    target = compiler.COMPILED_PATH.relative_to(compiler.ROOT)
    print(f"知识库检查通过: {report.count} 条 FAQ 已编译到 {target}")
    for warning in report.warnings:
        print(f"提醒: {warning}")
    if report.questions_changed:
        print(f"问法有变化: {_names(report.questions_changed)}")
    if report.answers_changed:
        print(f"答案有变化: {_names(report.answers_changed)}")
    print(_retrain_advice())
    return 0


if __name__ == "__main__":
    sys.exit(main())
