"""The normaliser on its own, and as the Rasa component that feeds the tokenizer."""
from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu_components import ChineseNormalizer
from bot.normalization import _table, normalize, normalize_with_sources


@pytest.mark.parametrize("raw, expected", [
    ("我的訂單到哪了", "我的订单到哪了"),                         # traditional
    ("退貨運費誰出", "退货运费谁出"),
    ("订单２６１１０８１２３４５６７８９０", "订单2611081234567890"),  # full-width digits
    ("ＯＲＤＥＲ 还没到", "order 还没到"),                         # full-width Latin, case
    ("快第怎么还没到", "快递怎么还没到"),                         # input-method typo
    ("物留信息", "物流信息"),
    ("神马时候发货", "什么时候发货"),                             # colloquial variant
    ("到底发不发货！！！？？？", "到底发不发货!?"),                # repeated punctuation
    ("气死了😡😡", "气死了 生气 生气"),                          # emoji with a feeling
    ("好的😀", "好的"),                                           # other emoji dropped
    ("  多个   空格  ", "多个 空格"),
    ("控制\x00字符\x07", "控制字符"),
    ("", ""),
])
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_sources_map_every_output_character_to_its_input():
    raw = "訂單：２６１１０８１２３４５６７８９０！！"
    result = normalize_with_sources(raw)
    assert len(result.sources) == len(result.text)
    start = raw.index("２")
    span = result.remap_span(start, start + 16)
    assert result.text[span[0]:span[1]] == "2611081234567890"


def test_span_of_dropped_characters_vanishes():
    result = normalize_with_sources("好😀")
    assert result.remap_span(1, 2) is None


def test_long_and_hostile_input_does_not_break_it():
    assert len(normalize("退貨" * 2500)) == 5000
    assert normalize("<script>alert(1)</script>'; DROP TABLE orders;--") == \
        "<script>alert(1)</script>'; drop table orders;-"
    assert normalize("\udcff\ufffe\u0000") is not None


def test_variant_table_loads_and_has_no_identity_mappings():
    table = _table()
    assert table["typos"] and table["colloquial"] and table["emoji_words"]
    for section in ("typos", "colloquial"):
        assert all(key != value for key, value in table[section].items())


def test_component_moves_entity_spans_onto_normalised_text():
    text = "訂單　２６１１０８１２３４５６７８９０到哪了😡"
    start = text.index("２")
    example = Message(data={"text": text, "intent": "query_logistics", "entities": [
        {"entity": "order_id", "start": start, "end": start + 16, "value": text[start:start + 16]}]})
    ChineseNormalizer().process_training_data(TrainingData([example]))
    entity = example.get("entities")[0]
    assert example.get("text") == "订单 2611081234567890到哪了 生气"
    assert example.get("text")[entity["start"]:entity["end"]] == "2611081234567890"
    assert entity["value"] == "2611081234567890"


def test_component_keeps_synonym_values_and_intent_payloads():
    synonym = Message(data={"text": "買了羽絨衣", "entities": [
        {"entity": "product", "start": 2, "end": 5, "value": "羽绒服"}]})
    payload = Message(data={"text": '/query_order{"order_id": "2611081234567890"}'})
    only_emoji = Message(data={"text": "😀😀"})
    ChineseNormalizer().process([synonym, payload, only_emoji])
    assert synonym.get("text") == "买了羽绒衣" and synonym.get("entities")[0]["value"] == "羽绒服"
    assert payload.get("text") == '/query_order{"order_id": "2611081234567890"}'
    assert only_emoji.get("text") == "😀😀"


def test_entity_validator_drops_malformed_ids_and_uppercases_waybills():
    from bot.nlu_components import EntityValidator
    message = Message(data={"text": "x", "entities": [
        {"entity": "order_id", "value": "2611081234567890"},
        {"entity": "order_id", "value": "13812345678"},
        {"entity": "phone", "value": "13812345678"},
        {"entity": "phone", "value": "12812345678"},
        {"entity": "tracking_number", "value": "sf1234567890123"},
        {"entity": "tracking_number", "value": "SF12"},
        {"entity": "product", "value": "羽绒服"},
    ]})
    EntityValidator().process([message])
    assert [(e["entity"], e["value"]) for e in message.get("entities")] == [
        ("order_id", "2611081234567890"), ("phone", "13812345678"),
        ("tracking_number", "SF1234567890123"), ("product", "羽绒服")]


def test_normalizer_persists_its_variant_table_with_the_model(tmp_path):
    """A trained model keeps the table it was trained with, whatever the source tree has later."""
    from rasa.engine.graph import ExecutionContext, GraphModelConfiguration, GraphSchema
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.core.domain import Domain
    from rasa.shared.data import TrainingType

    from bot.normalization import VARIANTS_PATH

    assert DefaultV1Recipe._from_registry("ChineseNormalizer").is_trainable  # gets a train node
    source = tmp_path / "source" / "variants.yml"
    source.parent.mkdir()
    source.write_text(VARIANTS_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    config = {**ChineseNormalizer.get_default_config(), "variants_path": str(source)}
    (tmp_path / "train").mkdir()
    storage = LocalModelStorage(tmp_path / "train")
    resource = Resource("train_ChineseNormalizer0")
    context = ExecutionContext(GraphSchema({}), "test")
    trained = ChineseNormalizer.create(config, storage, resource, context)
    fingerprint = ChineseNormalizer.fingerprint_addon(config)
    assert trained.train(TrainingData([])) == resource
    assert trained.process([Message(data={"text": "快第到了没"})])[0].get("text") == "快递到了没"

    # Packed into a model archive and unpacked elsewhere, as `rasa train` and `rasa run` do.
    archive = tmp_path / "model.tar.gz"
    storage.create_model_package(archive, GraphModelConfiguration(
        GraphSchema({}), GraphSchema({}), TrainingType.NLU, "test", "zh", None, None), Domain.empty())
    (tmp_path / "run").mkdir()
    unpacked, _ = LocalModelStorage.from_model_archive(tmp_path / "run", archive)

    # The source table changes after training: 快第 goes, a new typo comes in.
    assert "物硫" not in trained.table.variants
    source.write_text("typos:\n  物硫: 物流\ncolloquial: {}\nemoji_words: {}\n", encoding="utf-8")
    assert ChineseNormalizer.fingerprint_addon(config) != fingerprint  # no stale cached resource

    loaded = ChineseNormalizer.load(config, unpacked, resource, context)
    kuaidi, new_typo, angry = loaded.process([Message(data={"text": "快第到了没"}),
                                               Message(data={"text": "物硫到了没"}),
                                               Message(data={"text": "气死😡"})])
    assert kuaidi.get("text") == "快递到了没"       # still the table it was trained with
    assert new_typo.get("text") == "物硫到了没"     # the later edit does not leak in
    assert angry.get("text") == "气死 生气"
    example = Message(data={"text": "物留呢", "intent": "query_logistics"})
    loaded.process_training_data(TrainingData([example]))
    assert example.get("text") == "物流呢"

    fresh = ChineseNormalizer.create(config, storage, Resource("other"), context)
    assert fresh.process([Message(data={"text": "物硫到了没"})])[0].get("text") == "物流到了没"


def test_normalizer_without_a_persisted_table_falls_back_to_the_source_table(tmp_path):
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    loaded = ChineseNormalizer.load(ChineseNormalizer.get_default_config(),
                                    LocalModelStorage(tmp_path), Resource("never_trained"),
                                    ExecutionContext(GraphSchema({}), "t"))
    assert loaded.process([Message(data={"text": "物留"})])[0].get("text") == "物流"
