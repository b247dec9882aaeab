"""Rasa graph components of the assistant (imported by Rasa from config.yml; `.venv-rasa` only)."""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any, Optional

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

from bot.normalization import VARIANTS_PATH, VariantTable, default_table, normalize_with_sources
from bot.patterns import courier_of_tracking_number, is_order_id, is_phone

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class ChineseNormalizer(GraphComponent):
    """Put text into the one form the model is trained on, before the tokenizer sees it.

    Registered as a tokenizer-stage component so it runs ahead of JiebaTokenizer. Its state is
    the variants table (``bot/data/variants.yml`` unless ``variants_path`` says otherwise): at
    train time the table's text is written into the component's model resource, and a loaded
    model reads it back from there, so a model keeps behaving as it was trained even when the
    table in the source tree changes later (as JiebaTokenizer does with its dictionary).
    """

    TABLE_FILE = "variants.yml"

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"variants_path": None}  # None: bot/data/variants.yml

    def __init__(self, table: Optional[VariantTable] = None,
                 model_storage: Optional[ModelStorage] = None,
                 resource: Optional[Resource] = None) -> None:
        self._table = table or default_table()
        self._model_storage = model_storage
        self._resource = resource

    @property
    def table(self) -> VariantTable:
        return self._table

    @staticmethod
    def _source_table(config: dict[str, Any]) -> VariantTable:
        return VariantTable.from_file(Path(config.get("variants_path") or VARIANTS_PATH))

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> Optional[str]:
        """Retrain (no cached resource) when the table's content changes."""
        path = Path(config.get("variants_path") or VARIANTS_PATH)
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return None

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> ChineseNormalizer:
        return cls(cls._source_table(config), model_storage, resource)

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> ChineseNormalizer:
        """The table persisted with the model; the source table only for models without one."""
        try:
            with model_storage.read_from(resource) as directory:
                source = (Path(directory) / cls.TABLE_FILE).read_text(encoding="utf-8")
            return cls(VariantTable(source), model_storage, resource)
        except (ValueError, FileNotFoundError):
            logger.warning("ChineseNormalizer: no variants table in the model resource "
                           "'%s'; using the table in the source tree", resource.name)
            return cls.create(config, model_storage, resource, execution_context)

    def train(self, training_data: TrainingData) -> Resource:
        """Writes the table this component normalises with into its model resource."""
        self.persist()
        return self._resource

    def persist(self) -> None:
        if self._model_storage is None or self._resource is None:
            raise ValueError("ChineseNormalizer needs a model storage and a resource to persist")
        with self._model_storage.write_to(self._resource) as directory:
            (Path(directory) / self.TABLE_FILE).write_text(self._table.source, encoding="utf-8")

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            if example.get(TEXT):
                _normalize_message(example, self._table)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if text and not text.startswith("/"):  # "/intent{...}" payloads stay exact
                _normalize_message(message, self._table)
        return messages


def _normalize_message(message: Message, table: VariantTable) -> None:
    original = message.get(TEXT)
    result = normalize_with_sources(original, table)
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
