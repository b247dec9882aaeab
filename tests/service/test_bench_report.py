"""The benchmark report: each module files its own section in reports/bench.json and .md."""
from __future__ import annotations

import json

from bench import report


def test_a_section_is_printed_filed_and_replaced_on_the_next_run(tmp_path, capsys):
    report.file("nlu", "NLU parse latency", ["p50", "p99"], [["9.6 ms", "12.0 ms"]],
                figures={"p50_ms": 9.6}, reports=tmp_path)
    report.file("handoff", "Handoff", ["figure", "value"], [["claims/s", "1|2"]], "a note",
                reports=tmp_path)
    report.file("nlu", "NLU parse latency", ["p50", "p99"], [["8.1 ms", "11.0 ms"]],
                reports=tmp_path)
    assert "| 8.1 ms | 11.0 ms |" in capsys.readouterr().out
    data = json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))
    assert set(data["sections"]) == {"nlu", "handoff"}
    assert data["sections"]["nlu"]["rows"] == [["8.1 ms", "11.0 ms"]]
    assert data["sections"]["nlu"]["cores"] >= 1
    markdown = (tmp_path / "bench.md").read_text(encoding="utf-8")
    assert markdown.index("## Handoff") < markdown.index("## NLU parse latency")  # fixed order
    assert "| claims/s | 1\\|2 |" in markdown and "a note" in markdown and "9.6 ms" not in markdown
    assert not list(tmp_path.glob("*.tmp"))


def test_a_damaged_report_is_started_afresh(tmp_path):
    (tmp_path / "bench.json").write_text("{not json", encoding="utf-8")
    report.file("memory", "Memory", ["process", "RSS"], [["rasa", "900 MiB"]], reports=tmp_path)
    assert list(json.loads((tmp_path / "bench.json").read_text())["sections"]) == ["memory"]
