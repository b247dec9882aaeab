"""Rasa graph components of the assistant (imported by Rasa from config.yml; `.venv-rasa` only)."""
from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.normalization import normalize_with_sources
from bot.patterns import courier_of_tracking_number, is_order_id, is_phone


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class ChineseNormalizer(GraphComponent):
    """Put text into the one form the model is trained on, before the tokenizer sees it.

    Registered as a tokenizer-stage component so it runs ahead of JiebaTokenizer; it has no
    state of its own (its variant table ships with the code), so nothing needs persisting.
    """

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> ChineseNormalizer:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            if example.get(TEXT):
                _normalize_message(example)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if text and not text.startswith("/"):  # "/intent{...}" payloads stay exact
                _normalize_message(message)
        return messages


def _normalize_message(message: Message) -> None:
    original = message.get(TEXT)
    result = normalize_with_sources(original)
    if not result.text:  # only emoji or punctuation: let the model see what there was
        return
    message.set(TEXT, result.text)
    entities = []
    for entity in message.get(ENTITIES) or []:
        span = result.remap_span(entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END])
        if span is None:
            continue
        old_slice = original[entity[ENTITY_ATTRIBUTE_START]:entity[ENTITY_ATTRIBUTE_END]]
        updated = {**entity, ENTITY_ATTRIBUTE_START: span[0], ENTITY_ATTRIBUTE_END: span[1]}
        if entity.get(ENTITY_ATTRIBUTE_VALUE) == old_slice:  # a synonym keeps its value
            updated[ENTITY_ATTRIBUTE_VALUE] = result.text[span[0]:span[1]]
        entities.append(updated)
    if message.get(ENTITIES) is not None:
        message.set(ENTITIES, entities)


# Entities whose shape we know: an extracted value that does not have it is dropped, so an
# action never acts on "13812345678" as an order id or on half a waybill number.
_VALIDATORS = {
    "order_id": is_order_id,
    "phone": is_phone,
    "tracking_number": lambda value: courier_of_tracking_number(value) is not None,
}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class EntityValidator(GraphComponent):
    """Runs after the extractors: drops malformed ids and puts waybill numbers in upper case."""

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> EntityValidator:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entities = message.get(ENTITIES)
            if entities:
                message.set(ENTITIES, [_checked(entity) for entity in entities
                                       if _is_valid(entity)], add_to_output=True)
        return messages


def _is_valid(entity: dict[str, Any]) -> bool:
    validate = _VALIDATORS.get(entity.get("entity"))
    value = entity.get(ENTITY_ATTRIBUTE_VALUE)
    return validate is None or (isinstance(value, str) and validate(value))


def _checked(entity: dict[str, Any]) -> dict[str, Any]:
    if entity.get("entity") == "tracking_number":
        return {**entity, ENTITY_ATTRIBUTE_VALUE: entity[ENTITY_ATTRIBUTE_VALUE].strip().upper()}
    return entity
