"""The benchmark's scorer and our request summary on the CSDS sample in tests/fixtures/csds
(20 test dialogues, copied with attribution): the scores are computed, in range, and ours beats
the first-user-utterance and longest-user-utterance baselines on it (as on all 800, see
``python -m bench.summary``)."""
from __future__ import annotations

import pytest

from bench import summary as bench

SAMPLE = bench.FIXTURES / "csds_test_sample.jsonl"


@pytest.fixture(scope="module")
def dialogues():
    return bench.load_dialogues(SAMPLE)


@pytest.fixture(params=["shared", "fixture copy"])
def scorer(request, monkeypatch):
    if request.param == "fixture copy":
        monkeypatch.setattr(bench, "SHARED", bench.FIXTURES / "no-such-directory")
    elif not (bench.SHARED / "char_rouge.py").exists():
        pytest.skip("../shared is not on this machine")
    return bench.load_scorer()


def test_the_sample_is_a_small_attributed_copy(dialogues):
    assert 1 <= len(dialogues) <= 20
    assert all(d["user_summary"] and d["key_utterances"] for d in dialogues)
    assert "Lin et al." in (bench.FIXTURES / "SOURCE.txt").read_text(encoding="utf-8")


def test_the_scorer_is_the_benchmarks_own(scorer):
    assert scorer.rouge_n("用户询问快递", "用户询问快递", 1) == 1.0
    assert scorer.rouge_n("用户询问快递", "", 2) == 0.0
    assert 0 < scorer.rouge_l("用户询问快递。用户要求退货。", "用户询问快递在哪。") < 1


def test_ours_beats_the_simple_baselines_on_the_sample(dialogues, scorer):
    rows = {row.name: row for row in bench.evaluate(dialogues, {"ours": bench.ours, **bench.BASELINES},
                                                      scorer)}
    for row in rows.values():
        assert all(0 <= value <= 100 for value in (row.rouge_1, row.rouge_2, row.rouge_l))
    ours = rows["ours"]
    for baseline in ("baseline: first user utterance", "baseline: longest user utterance"):
        assert ours.rouge_1 > rows[baseline].rouge_1
        assert ours.rouge_l > rows[baseline].rouge_l


def test_both_copies_of_the_scorer_agree(dialogues, monkeypatch):
    if not (bench.SHARED / "char_rouge.py").exists():
        pytest.skip("../shared is not on this machine")
    shared = bench.load_scorer()
    monkeypatch.setattr(bench, "SHARED", bench.FIXTURES / "no-such-directory")
    copy = bench.load_scorer()
    references = [d["user_summary"] for d in dialogues]
    predictions = [bench.ours(d) for d in dialogues]
    assert bench.score(shared, references, predictions) == bench.score(copy, references, predictions)
