"""The char n-gram blender: trains on intents and FAQ keys, persists, and rewrites the rankings."""
from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu_components import CharNgramBlender, blend

TRAINING = {
    "query_logistics": ["快递到哪了", "物流怎么不动了", "我的包裹到哪了", "查一下快递", "快递什么时候到"],
    "request_return": ["我要退货", "这个想退掉", "帮我申请退货", "不想要了退了吧", "申请退货退款"],
    "greet": ["你好", "在吗", "哈喽", "早上好", "有人吗"],
    "affirm": ["好的", "好哒", "嗯嗯", "可以的", "是的呀"],
}
FAQ = {
    "faq/invoice": ["怎么开发票", "发票怎么开", "能开专票吗", "电子发票在哪下载", "发票抬头写错了"],
    "faq/courier": ["你们发什么快递", "默认哪家快递", "可以发顺丰吗", "用的哪个快递公司", "能指定快递吗"],
}


def training_data() -> TrainingData:
    examples = [Message(data={"text": text, "intent": intent})
                for intent, texts in TRAINING.items() for text in texts]
    examples += [Message(data={"text": text, "intent": "faq", "intent_response_key": key})
                 for key, texts in FAQ.items() for text in texts]
    responses = {f"utter_{key}": [{"text": f"{key} 的回答"}] for key in FAQ}
    return TrainingData(examples, responses=responses)


@pytest.fixture()
def storage_and_context(tmp_path):
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    (tmp_path / "train").mkdir()
    return LocalModelStorage(tmp_path / "train"), ExecutionContext(GraphSchema({}), "test")


def diet_says(text: str, ranking: list[tuple[str, float]]) -> Message:
    """A message as DIET and the ResponseSelector leave it."""
    message = Message(data={"text": text})
    message.set("intent", {"name": ranking[0][0], "confidence": ranking[0][1]}, add_to_output=True)
    message.set("intent_ranking", [{"name": n, "confidence": c} for n, c in ranking],
                add_to_output=True)
    message.set("response_selector", {"all_retrieval_intents": ["faq"], "faq": {
        "response": {"responses": [{"text": "x"}], "confidence": 0.6,
                     "intent_response_key": "faq/courier", "utter_action": "utter_faq/courier"},
        "ranking": [{"id": 1, "confidence": 0.6, "intent_response_key": "faq/courier"},
                    {"id": 2, "confidence": 0.4, "intent_response_key": "faq/invoice"}]}},
        add_to_output=True)
    return message


def test_blend_is_a_weighted_mean_and_keeps_labels_only_one_side_knows():
    mixed = dict(blend([("a", 0.8), ("b", 0.2)], {"b": 0.6, "c": 0.4}, model_weight=0.25))
    assert mixed == pytest.approx({"a": 0.2, "b": 0.5, "c": 0.3})
    assert [name for name, _ in blend([("a", 0.8), ("b", 0.2)], {"b": 0.6, "c": 0.4}, 0.25)] == [
        "b", "c", "a"]


def test_linear_model_overrules_an_unsure_diet_and_fixes_the_faq_pick(storage_and_context):
    from rasa.engine.storage.resource import Resource

    storage, context = storage_and_context
    blender = CharNgramBlender.create(CharNgramBlender.get_default_config(), storage,
                                      Resource("blend"), context)
    blender.train(training_data())
    # DIET is torn between greet and logistics; the text is plainly about a parcel.
    message = diet_says("我的快递到哪了", [("greet", 0.5), ("query_logistics", 0.45), ("faq", 0.05)])
    blender.process([message])
    assert message.get("intent")["name"] == "query_logistics"
    ranking = message.get("intent_ranking")
    assert ranking[0]["name"] == "query_logistics"
    # Only the noise class's small share is missing from a real message's ranking.
    assert 0.9 < sum(item["confidence"] for item in ranking) <= 1.0
    assert message.get("intent")["confidence"] == ranking[0]["confidence"]

    # The selector leans to the courier entry; the words are about invoices.
    faq = diet_says("发票怎么开啊", [("faq", 0.9), ("greet", 0.1)])
    blender.process([faq])
    response = faq.get("response_selector")["faq"]["response"]
    assert response["intent_response_key"] == "faq/invoice"
    assert response["utter_action"] == "utter_faq/invoice"
    assert response["responses"] == [{"text": "faq/invoice 的回答"}]
    assert faq.get("response_selector")["faq"]["ranking"][0]["intent_response_key"] == "faq/invoice"


def test_intent_payloads_are_left_as_rasa_set_them(storage_and_context):
    from rasa.engine.storage.resource import Resource

    storage, context = storage_and_context
    blender = CharNgramBlender.create(CharNgramBlender.get_default_config(), storage,
                                      Resource("blend"), context)
    blender.train(training_data())
    payload = diet_says("/request_return", [("request_return", 1.0)])
    blender.process([payload])
    assert payload.get("intent") == {"name": "request_return", "confidence": 1.0}


def test_trained_models_are_persisted_and_loaded_with_the_model(tmp_path, storage_and_context):
    from rasa.engine.graph import GraphModelConfiguration, GraphSchema
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.core.domain import Domain
    from rasa.shared.data import TrainingType

    assert DefaultV1Recipe._from_registry("CharNgramBlender").is_trainable
    storage, context = storage_and_context
    config = CharNgramBlender.get_default_config()
    resource = Resource("train_CharNgramBlender0")
    assert CharNgramBlender.create(config, storage, resource, context).train(
        training_data()) == resource

    archive = tmp_path / "model.tar.gz"
    storage.create_model_package(archive, GraphModelConfiguration(
        GraphSchema({}), GraphSchema({}), TrainingType.NLU, "test", "zh", None, None), Domain.empty())
    (tmp_path / "run").mkdir()
    unpacked, _ = LocalModelStorage.from_model_archive(tmp_path / "run", archive)
    loaded = CharNgramBlender.load(config, unpacked, resource, context)
    message = diet_says("帮我申请退货", [("greet", 0.6), ("request_return", 0.4)])
    loaded.process([message])
    assert message.get("intent")["name"] == "request_return"
    assert message.get("response_selector")["faq"]["response"]["responses"]


def test_a_model_without_persisted_state_passes_predictions_through(tmp_path, storage_and_context):
    from rasa.engine.storage.resource import Resource

    storage, context = storage_and_context
    loaded = CharNgramBlender.load(CharNgramBlender.get_default_config(), storage,
                                   Resource("never_trained"), context)
    message = diet_says("你好", [("greet", 0.7), ("faq", 0.3)])
    loaded.process([message])
    assert message.get("intent") == {"name": "greet", "confidence": 0.7}
    assert message.get("response_selector")["faq"]["response"]["intent_response_key"] == "faq/courier"


def test_without_a_response_selector_it_picks_the_faq_entry_alone(storage_and_context):
    """No ResponseSelector in the pipeline: the blender writes the selection in its format."""
    from rasa.engine.storage.resource import Resource

    storage, context = storage_and_context
    blender = CharNgramBlender.create(CharNgramBlender.get_default_config(), storage,
                                      Resource("blend"), context)
    blender.train(training_data())
    message = Message(data={"text": "你们默认发哪家快递"})
    message.set("intent", {"name": "faq", "confidence": 0.8}, add_to_output=True)
    message.set("intent_ranking", [{"name": "faq", "confidence": 0.8},
                                   {"name": "greet", "confidence": 0.2}], add_to_output=True)
    blender.process([message])
    selector = message.get("response_selector")
    assert selector["all_retrieval_intents"] == ["faq"]
    response = selector["faq"]["response"]
    assert response["intent_response_key"] == "faq/courier"
    assert response["utter_action"] == "utter_faq/courier"
    ranking = selector["faq"]["ranking"]
    assert [item["intent_response_key"] for item in ranking] == ["faq/courier", "faq/invoice"]
    # The linear model's own probabilities, not scaled down by an absent selector's share.
    assert sum(item["confidence"] for item in ranking) == pytest.approx(1.0)
    assert response["confidence"] == ranking[0]["confidence"] > 0.5


def test_faq_entries_are_learnt_apart_and_summed_into_the_faq_intent(storage_and_context):
    from rasa.engine.storage.resource import Resource

    storage, context = storage_and_context
    blender = CharNgramBlender.create(CharNgramBlender.get_default_config(), storage,
                                      Resource("blend"), context)
    blender.train(training_data())
    linear_classes = set(blender._intent_model.classes_)
    assert {"faq/invoice", "faq/courier", "greet"} <= linear_classes and "faq" not in linear_classes

    message = Message(data={"text": "可以开发票吗"})
    blender.process([message])
    ranking = {item["name"]: item["confidence"] for item in message.get("intent_ranking")}
    assert message.get("intent")["name"] == "faq"
    assert not any("/" in name for name in ranking)  # the dialogue only knows the intent "faq"
    per_entry = blender._probabilities(blender._intent_model, "可以开发票吗")
    assert ranking["faq"] == pytest.approx(per_entry["faq/invoice"] + per_entry["faq/courier"])


def test_nonsense_keeps_a_low_confidence_and_a_short_real_answer_does_not(storage_and_context):
    """Gibberish must not confirm anything: the noise class takes its share away."""
    from rasa.engine.storage.resource import Resource

    storage, context = storage_and_context
    blender = CharNgramBlender.create(CharNgramBlender.get_default_config(), storage,
                                      Resource("blend"), context)
    blender.train(training_data())
    assert "__noise__" in blender._intent_model.classes_
    nonsense = diet_says("呜啦啦嘀嘀嗒嗒", [("affirm", 0.9), ("greet", 0.1)])
    real = diet_says("好哒好哒", [("affirm", 0.9), ("greet", 0.1)])
    blender.process([nonsense, real])
    assert nonsense.get("intent")["confidence"] < 0.3  # below the FallbackClassifier's threshold
    assert all(item["name"] != "__noise__" for item in nonsense.get("intent_ranking"))
    assert real.get("intent") == {"name": "affirm", "confidence": pytest.approx(
        real.get("intent_ranking")[0]["confidence"])}
    assert real.get("intent")["confidence"] > 0.5


def test_noise_examples_are_fixed_and_nonsense():
    from bot.nlu_components import NOISE_SOUNDS, noise_examples

    examples = noise_examples(30)
    assert examples == noise_examples(30)  # the same model from the same data
    assert len(set(examples)) > 20
    for text in examples:
        assert set(text) <= set(NOISE_SOUNDS) or text.isascii() and text.isalpha()
