"""``python -m knowledge_base``: check the FAQ entries and compile them into training data."""
import sys

from knowledge_base import compiler

try:
    count = compiler.compile_to()
except compiler.KnowledgeBaseError as error:
    print(f"知识库有 {len(str(error).splitlines())} 处问题需要修改:\n{error}", file=sys.stderr)
    sys.exit(1)
print(f"知识库检查通过: {count} 条 FAQ 已编译到 {compiler.COMPILED_PATH.relative_to(compiler.ROOT)}")
print("注意: 只改答案会在重新训练后生效; 改问法需要重新训练 (make train)。")
