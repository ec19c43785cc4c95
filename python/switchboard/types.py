"""litellm's response objects: ``ModelResponse``, ``ModelResponseStream``
(a stream's chunk), ``EmbeddingResponse`` and what they hold.

Each reads like litellm's (pydantic) objects: by attribute
(``response.choices[0].message.content``), by key
(``response["choices"][0]["message"]["content"]``), ``.get(key)``,
``key in obj``, ``.model_dump()`` (a plain dict, OpenAI's shape),
``.json()`` (the same dict, as litellm's ``json()`` returns),
``.model_dump_json()``. Fields a provider adds are kept as they came;
names starting with ``_`` (``_hidden_params``) are not dumped. Plain
Python: no pydantic to import.
"""

from __future__ import annotations

import json
from typing import Any, Callable, ClassVar, Dict, Iterator, List, Optional, Tuple


def _dump(value: Any, exclude_none: bool) -> Any:
    if isinstance(value, OpenAIObject):
        return value.model_dump(exclude_none=exclude_none)
    if isinstance(value, list):
        return [_dump(v, exclude_none) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v, exclude_none) for k, v in value.items()}
    return value


class OpenAIObject:
    """An object of OpenAI's API: attribute and key access, dumps to a dict."""

    #: Fields always present (None when the answer has none).
    _defaults: ClassVar[Tuple[str, ...]] = ()
    #: Fields read into objects: name -> converter.
    _nested: ClassVar[Dict[str, Callable[[Any], Any]]] = {}

    def __init__(self, **fields: Any) -> None:
        d = self.__dict__
        for name in self._defaults:
            d[name] = None
        nested = self._nested
        for name, value in fields.items():
            if value is not None and name in nested:
                value = nested[name](value)
            d[name] = value

    @classmethod
    def _of(cls, value: Any) -> Any:
        return value if isinstance(value, cls) or not isinstance(value, dict) else cls(**value)

    # A dict's reading surface.
    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, key, value)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and not key.startswith("_") and key in self.__dict__

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)

    def keys(self) -> List[str]:
        return [k for k in self.__dict__ if not k.startswith("_")]

    def values(self) -> List[Any]:
        return [v for k, v in self.__dict__.items() if not k.startswith("_")]

    def items(self) -> List[Tuple[str, Any]]:
        return [(k, v) for k, v in self.__dict__.items() if not k.startswith("_")]

    def __iter__(self) -> Iterator[Tuple[str, Any]]:
        # As a pydantic model iterates: (field, value) pairs.
        return iter(self.items())

    # pydantic's surface, as litellm's objects have it.
    def model_dump(self, exclude_none: bool = False, **_: Any) -> Dict[str, Any]:
        return {
            k: _dump(v, exclude_none)
            for k, v in self.__dict__.items()
            if not k.startswith("_") and not (exclude_none and v is None)
        }

    def dict(self, **kwargs: Any) -> Dict[str, Any]:
        return self.model_dump(**kwargs)

    def json(self, **kwargs: Any) -> Dict[str, Any]:
        """The dict, as litellm's ``json()`` returns it (``model_dump_json`` gives text)."""
        return self.model_dump(**kwargs)

    def model_dump_json(self, exclude_none: bool = False, indent: Optional[int] = None, **_: Any) -> str:
        return json.dumps(self.model_dump(exclude_none=exclude_none), indent=indent)

    def to_dict(self) -> Dict[str, Any]:
        return self.model_dump()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, OpenAIObject):
            return type(self) is type(other) and self.model_dump() == other.model_dump()
        if isinstance(other, dict):
            return self.model_dump() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.items())
        return f"{type(self).__name__}({fields})"


def _list_of(cls: Any) -> Callable[[Any], Any]:
    def convert(items: Any) -> Any:
        return [cls._of(item) for item in items] if isinstance(items, list) else items

    return convert


class Function(OpenAIObject):
    """A tool call's function: ``name`` and ``arguments`` (JSON text)."""

    _defaults = ("arguments", "name")
    arguments: Optional[str]
    name: Optional[str]


class ChatCompletionMessageToolCall(OpenAIObject):
    _defaults = ("id", "type", "function")
    _nested = {"function": Function._of}
    id: str
    type: str
    function: Function


class Message(OpenAIObject):
    """The assistant's message: ``content``, ``role``, ``tool_calls`` (None
    when there are none), ``function_call``; ``reasoning_content`` and
    ``thinking_blocks`` when the model reasoned."""

    _defaults = ("content", "role", "tool_calls", "function_call")
    _nested = {"tool_calls": _list_of(ChatCompletionMessageToolCall)}
    content: Optional[str]
    role: str
    tool_calls: Optional[List[ChatCompletionMessageToolCall]]
    function_call: Any


class Choices(OpenAIObject):
    _defaults = ("finish_reason", "index", "message")
    _nested = {"message": Message._of}
    finish_reason: Optional[str]
    index: int
    message: Message


class PromptTokensDetails(OpenAIObject):
    cached_tokens: Optional[int]


class CompletionTokensDetails(OpenAIObject):
    reasoning_tokens: Optional[int]


class Usage(OpenAIObject):
    _defaults = ("prompt_tokens", "completion_tokens", "total_tokens")
    _nested = {
        "prompt_tokens_details": PromptTokensDetails._of,
        "completion_tokens_details": CompletionTokensDetails._of,
    }
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


def _take_cost(data: Dict[str, Any], hidden: Dict[str, Any]) -> None:
    """Moves Switchboard's ``usage.cost`` to ``_hidden_params["response_cost"]``
    (litellm's place; None when nothing prices the model), so the usage
    dumps in OpenAI's shape."""
    usage = data.get("usage")
    cost = usage.pop("cost", None) if isinstance(usage, dict) else None
    if cost is not None:
        hidden["response_cost"] = cost.get("usd") if cost.get("priced") else None


class ModelResponse(OpenAIObject):
    """A chat completion, as litellm's ``completion()`` returns it."""

    _defaults = ("id", "created", "model", "object", "system_fingerprint", "choices", "usage")
    _nested = {"choices": _list_of(Choices), "usage": Usage._of}
    id: str
    created: int
    model: str
    object: str
    system_fingerprint: Optional[str]
    choices: List[Choices]
    usage: Optional[Usage]
    _hidden_params: Dict[str, Any]

    def __init__(self, **fields: Any) -> None:
        hidden: Dict[str, Any] = {"response_cost": None, "model_id": None}
        _take_cost(fields, hidden)
        super().__init__(**fields)
        self._hidden_params = hidden

    @classmethod
    def _from_json(cls, text: str) -> "ModelResponse":
        return cls(**json.loads(text))


class ChatCompletionDeltaToolCall(OpenAIObject):
    _defaults = ("id", "type", "function", "index")
    _nested = {"function": Function._of}
    id: Optional[str]
    type: Optional[str]
    function: Function
    index: int


class Delta(OpenAIObject):
    """What one chunk adds: ``content``, ``role``, ``tool_calls``…"""

    _defaults = ("content", "role", "tool_calls", "function_call")
    _nested = {"tool_calls": _list_of(ChatCompletionDeltaToolCall)}
    content: Optional[str]
    role: Optional[str]
    tool_calls: Optional[List[ChatCompletionDeltaToolCall]]
    function_call: Any


class StreamingChoices(OpenAIObject):
    _defaults = ("finish_reason", "index", "delta")
    _nested = {"delta": Delta._of}
    finish_reason: Optional[str]
    index: int
    delta: Delta


class ModelResponseStream(OpenAIObject):
    """One chunk of a stream (``chunk.choices[0].delta.content``)."""

    _defaults = ("id", "created", "model", "object", "system_fingerprint", "choices")
    _nested = {"choices": _list_of(StreamingChoices), "usage": Usage._of}
    id: str
    created: int
    model: str
    object: str
    system_fingerprint: Optional[str]
    choices: List[StreamingChoices]
    _hidden_params: Dict[str, Any]

    def __init__(self, **fields: Any) -> None:
        hidden: Dict[str, Any] = {}
        _take_cost(fields, hidden)
        super().__init__(**fields)
        self._hidden_params = hidden

    @classmethod
    def _from_json(cls, text: str) -> "ModelResponseStream":
        return cls(**json.loads(text))


class Embedding(OpenAIObject):
    _defaults = ("embedding", "index", "object")
    embedding: Any
    index: int
    object: str


class EmbeddingResponse(OpenAIObject):
    """OpenAI's ``list`` of embeddings (``response.data[0]["embedding"]``)."""

    _defaults = ("model", "data", "object", "usage")
    _nested = {"data": _list_of(Embedding), "usage": Usage._of}
    model: Optional[str]
    data: List[Embedding]
    object: str
    usage: Optional[Usage]
    _hidden_params: Dict[str, Any]

    def __init__(self, **fields: Any) -> None:
        hidden: Dict[str, Any] = {"response_cost": None, "model_id": None}
        _take_cost(fields, hidden)
        super().__init__(**fields)
        self._hidden_params = hidden

    @classmethod
    def _from_json(cls, text: str) -> "EmbeddingResponse":
        return cls(**json.loads(text))


#: litellm's other name for a chunk.
ChatCompletionChunk = ModelResponseStream

__all__ = [
    "OpenAIObject",
    "ModelResponse",
    "ModelResponseStream",
    "ChatCompletionChunk",
    "Choices",
    "StreamingChoices",
    "Message",
    "Delta",
    "Function",
    "ChatCompletionMessageToolCall",
    "ChatCompletionDeltaToolCall",
    "Usage",
    "PromptTokensDetails",
    "CompletionTokensDetails",
    "Embedding",
    "EmbeddingResponse",
]
