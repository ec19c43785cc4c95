"""litellm's ``litellm.utils`` helpers that code reaches for by that path:
``check_valid_key``, ``get_supported_openai_params``, ``stream_chunk_builder``, and the cost and model-info
functions again."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from . import _native
from .cost import completion_cost, cost_per_token, get_model_info, register_model, token_counter
from .types import ModelResponse


def check_valid_key(model: str, api_key: str, api_base: Optional[str] = None) -> bool:
    """Whether ``api_key`` works for ``model``, by the cheapest call its
    provider allows (litellm's ``check_valid_key``). False when the key is
    refused, and when it could not tell. Without ``api_base``, the
    package's ``switchboard.api_base``, else the provider's own."""
    import switchboard

    valid, _reason = _native.check_key(model, api_key, api_base or switchboard.api_base)
    return valid is True


def get_supported_openai_params(
    model: str, custom_llm_provider: Optional[str] = None, request_type: str = "chat_completion"
) -> Optional[List[str]]:
    """The OpenAI parameters ``model``'s provider carries, as its spec
    declares them (litellm's ``get_supported_openai_params``); None when no
    provider is known for it. Anything else in a call is refused with a
    ``BadRequestError`` naming it, unless ``drop_params`` drops it."""
    if request_type != "chat_completion":
        return None
    name = f"{custom_llm_provider}/{model}" if custom_llm_provider and "/" not in model else model
    found = _native.supported_params(name)
    return list(found) if found is not None else None


def stream_chunk_builder(chunks: List[Any], messages: Optional[List[Any]] = None) -> Optional[ModelResponse]:
    """The whole answer of a stream from its chunks (litellm's helper):
    content, reasoning and tool calls joined, the last finish reason and
    usage kept."""
    if not chunks:
        return None
    first = chunks[0]
    choices: Dict[int, Dict[str, Any]] = {}
    usage = None
    for chunk in chunks:
        if chunk.get("usage") is not None:
            usage = chunk["usage"]
        for c in chunk.get("choices") or []:
            choice = choices.setdefault(c["index"], {
                "index": c["index"], "finish_reason": None,
                "message": {"role": "assistant", "content": None, "tool_calls": {}},
            })
            if c.get("finish_reason"):
                choice["finish_reason"] = c["finish_reason"]
            delta = c.get("delta") or {}
            message = choice["message"]
            for key in ("content", "reasoning_content"):
                if delta.get(key):
                    message[key] = (message.get(key) or "") + delta[key]
            for call in delta.get("tool_calls") or []:
                slot = message["tool_calls"].setdefault(call["index"], {
                    "id": None, "type": "function", "function": {"name": "", "arguments": ""},
                })
                if call.get("id"):
                    slot["id"] = call["id"]
                function = call.get("function") or {}
                if function.get("name"):
                    slot["function"]["name"] += function["name"]
                if function.get("arguments"):
                    slot["function"]["arguments"] += function["arguments"]
    for choice in choices.values():
        calls = choice["message"].pop("tool_calls")
        choice["message"]["tool_calls"] = [calls[i] for i in sorted(calls)] or None
    data: Dict[str, Any] = {
        "id": first.get("id"), "object": "chat.completion", "created": first.get("created"),
        "model": first.get("model"), "choices": [choices[i] for i in sorted(choices)],
    }
    if usage is not None:
        data["usage"] = usage.model_dump() if hasattr(usage, "model_dump") else dict(usage)
    return ModelResponse(**data)


__all__ = [
    "check_valid_key",
    "stream_chunk_builder",
    "completion_cost",
    "cost_per_token",
    "get_model_info",
    "register_model",
    "token_counter",
]
