"""Cost tracking with litellm's names: ``completion_cost``,
``cost_per_token``, ``get_model_info``, ``model_cost``, ``register_model``,
``token_counter``. Prices come from Switchboard's catalog (regenerated from
litellm's own price map, retired models kept); an entry reads with
litellm's keys (USD per token, ``max_input_tokens``, ``supports_*``…).

Keys of litellm's price map and Switchboard's catalog, side by side: the
same schema ``scripts/update_pricing.py`` reads when it regenerates
``pricing/``. Switchboard's per-token rates are USD per million tokens.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union

from . import _native

#: USD per token (litellm) ↔ USD per million tokens (Switchboard).
_PER_TOKEN = (
    ("input_cost_per_token", "input"),
    ("output_cost_per_token", "output"),
    ("cache_read_input_token_cost", "cached-input"),
    ("cache_creation_input_token_cost", "cache-write"),
    ("output_cost_per_reasoning_token", "reasoning"),
    ("input_cost_per_audio_token", "input-audio"),
    ("output_cost_per_audio_token", "output-audio"),
    ("input_cost_per_image_token", "input-image"),
    ("output_cost_per_image_token", "output-image"),
)
#: USD per unit in both.
_PER_UNIT = (
    ("input_cost_per_image", "per-input-image"),
    ("output_cost_per_image", "per-output-image"),
    ("input_cost_per_query", "per-request"),
)
_CAPABILITIES = (
    ("supports_function_calling", "tools"),
    ("supports_parallel_function_calling", "parallel-tools"),
    ("supports_vision", "vision"),
    ("supports_response_schema", "structured-output"),
    ("supports_reasoning", "reasoning"),
    ("supports_prompt_caching", "prompt-caching"),
    ("supports_audio_input", "audio-input"),
    ("supports_pdf_input", "pdf-input"),
)
_TIERED = re.compile(
    r"(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost"
    r"|cache_creation_input_token_cost)_above_(\d+)k_tokens"
)


class ModelNotMapped(ValueError):
    """No price is known for the model (litellm raises a plain Exception here)."""


def _to_litellm(provider: str, name: str, ours: Dict[str, Any]) -> Dict[str, Any]:
    """A catalog entry with litellm's keys."""
    out: Dict[str, Any] = {"key": name, "litellm_provider": provider}
    for theirs, key in _PER_TOKEN:
        value = ours.get(key)
        out[theirs] = value / 1e6 if value is not None else None
    for theirs, key in _PER_UNIT:
        if ours.get(key) is not None:
            out[theirs] = ours[key]
    for tier in ours.get("tiers") or []:
        k = f"{tier['above'] // 1000}k"
        for theirs, key in _PER_TOKEN[:4]:
            if tier.get(key) is not None:
                out[f"{theirs}_above_{k}_tokens"] = tier[key] / 1e6
    out["max_input_tokens"] = ours.get("context-window")
    out["max_output_tokens"] = ours.get("max-output")
    out["max_tokens"] = ours.get("max-output") or ours.get("context-window")
    out["mode"] = ours.get("mode")
    caps = set(ours.get("capabilities") or ())
    for theirs, cap in _CAPABILITIES:
        out[theirs] = cap in caps
    out["supports_system_messages"] = True
    if ours.get("retired"):
        out["retired"] = True
    return out


def _from_litellm(entry: Mapping[str, Any]) -> Dict[str, Any]:
    """A litellm price-map entry as a catalog entry (unknown keys are left out)."""
    ours: Dict[str, Any] = {}
    for theirs, key in _PER_TOKEN:
        if entry.get(theirs) is not None:
            ours[key] = float(entry[theirs]) * 1e6
    for theirs, key in _PER_UNIT:
        if entry.get(theirs) is not None:
            ours[key] = float(entry[theirs])
    tiers: Dict[int, Dict[str, float]] = {}
    for theirs, value in entry.items():
        m = _TIERED.fullmatch(theirs)
        if m and value is not None:
            key = dict(_PER_TOKEN)[m.group(1)]
            tiers.setdefault(int(m.group(2)) * 1000, {})[key] = float(value) * 1e6
    if tiers:
        ours["tiers"] = [dict(above=above, **rates) for above, rates in sorted(tiers.items())]
    window = entry.get("max_input_tokens") or entry.get("max_tokens")
    if window:
        ours["context-window"] = int(window)
    if entry.get("max_output_tokens"):
        ours["max-output"] = int(entry["max_output_tokens"])
    if entry.get("mode"):
        ours["mode"] = entry["mode"]
    if any(theirs in entry for theirs, _ in _CAPABILITIES):
        ours["capabilities"] = sorted(cap for theirs, cap in _CAPABILITIES if entry.get(theirs) is True)
    return ours


def _qualified(model: str, custom_llm_provider: Optional[str]) -> str:
    if custom_llm_provider and not model.startswith(f"{custom_llm_provider}/"):
        return f"{custom_llm_provider}/{model}"
    return model


def get_model_info(model: str, custom_llm_provider: Optional[str] = None) -> Dict[str, Any]:
    """Prices, limits and capabilities of ``model``, with litellm's keys.
    Raises when the catalog has no entry for it (as litellm does)."""
    found = _native.model_info(_qualified(model, custom_llm_provider))
    if found is None:
        raise ModelNotMapped(f"This model isn't mapped yet. model={model}")
    provider, name, ours = found
    return _to_litellm(provider, name, json.loads(ours))


class _ModelCost(Mapping[str, Dict[str, Any]]):
    """litellm's ``model_cost``: every catalog entry by ``provider/model``,
    read on demand. A bare name (``"gpt-4o"``) finds its provider's entry;
    assigning an entry registers it (as ``register_model`` does)."""

    def _names(self) -> List[str]:
        return [f"{p}/{m}" for p, m in _native.model_names()]

    def __getitem__(self, model: str) -> Dict[str, Any]:
        try:
            return get_model_info(model)
        except ModelNotMapped:
            raise KeyError(model) from None

    def __setitem__(self, model: str, entry: Mapping[str, Any]) -> None:
        register_model({model: entry})

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and _native.model_info(model) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(_native.model_names())

    def __repr__(self) -> str:
        return f"<model_cost: {len(self)} models>"


model_cost = _ModelCost()


def register_model(model_cost: Union[Dict[str, Mapping[str, Any]], str]) -> Dict[str, Any]:
    """Adds or replaces catalog entries for every later call (litellm's
    ``register_model``): ``{"my-model": {"litellm_provider": "openai",
    "input_cost_per_token": …, "output_cost_per_token": …, "max_tokens": …}}``;
    a key may also be ``provider/model``. An absurd price is a
    :class:`~switchboard.BadRequestError` naming it."""
    if isinstance(model_cost, str):
        raise ValueError("register_model takes a dict here: Switchboard fetches no price map from a URL")
    for key, entry in model_cost.items():
        provider = entry.get("litellm_provider")
        model = key if "/" in key or not provider else f"{provider}/{key}"
        current = _native.model_info(model)
        ours = json.loads(current[2]) if current else {}
        ours.update(_from_litellm(entry))
        _native.register_model(model, json.dumps(ours))
    return dict(model_cost)


def _usage(prompt_tokens: int, completion_tokens: int, cached: int = 0, written: int = 0) -> str:
    usage: Dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if cached or written:
        usage["prompt_tokens_details"] = {"cached_tokens": cached, "cache_write_tokens": written}
    return json.dumps(usage)


def cost_per_token(
    model: str = "",
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    custom_llm_provider: Optional[str] = None,
    cache_read_input_tokens: int = 0,
    cache_creation_input_tokens: int = 0,
    usage_object: Any = None,
    **_: Any,
) -> Tuple[float, float]:
    """USD of ``prompt_tokens`` and of ``completion_tokens`` on ``model``,
    with no call made: ``(prompt_cost, completion_cost)``. Raises when no
    price is known for the model."""
    name = _qualified(model, custom_llm_provider)
    if usage_object is not None:
        data = usage_object.model_dump() if hasattr(usage_object, "model_dump") else dict(usage_object)
        data.pop("cost", None)
        usage = json.dumps(data)
    else:
        usage = _usage(prompt_tokens, completion_tokens, cache_read_input_tokens, cache_creation_input_tokens)
    prompt, completion, priced = _native.cost_per_token(name, usage)
    if not priced:
        raise ModelNotMapped(f"This model isn't mapped yet. model={model}")
    return prompt, completion


def completion_cost(
    completion_response: Any = None,
    model: Optional[str] = None,
    prompt: str = "",
    messages: Optional[List[Any]] = None,
    completion: str = "",
    custom_llm_provider: Optional[str] = None,
    **_: Any,
) -> float:
    """USD a call cost: from its response (the price Switchboard attached
    when it answered, else its model and usage), or from a ``model`` with
    ``prompt``/``messages`` and ``completion`` text (tokens counted)."""
    if completion_response is not None:
        hidden = getattr(completion_response, "_hidden_params", None) or {}
        if model is None and hidden.get("response_cost") is not None:
            return float(hidden["response_cost"])
        usage = completion_response.get("usage") if hasattr(completion_response, "get") else None
        name = model or completion_response.get("model")
        if usage is None or not name:
            raise ModelNotMapped("the response carries no usage to price")
        p, c = cost_per_token(name, custom_llm_provider=custom_llm_provider, usage_object=usage)
        return p + c
    if not model:
        raise ValueError("completion_cost needs a completion_response, or a model")
    prompt_tokens = token_counter(model, text=prompt or None, messages=messages)
    completion_tokens = token_counter(model, text=completion) if completion else 0
    p, c = cost_per_token(model, prompt_tokens, completion_tokens, custom_llm_provider)
    return p + c


def token_counter(
    model: str = "",
    text: Optional[Union[str, List[str]]] = None,
    messages: Optional[List[Any]] = None,
    **_: Any,
) -> int:
    """Tokens of ``messages`` (with OpenAI's per-message framing) or of
    plain ``text`` in ``model``'s prompt: exact for OpenAI's tokenizers,
    else an estimate of a token per four characters."""
    from ._args import _jsonable

    if isinstance(text, list):
        text = "".join(text)
    listed = json.dumps(messages, default=_jsonable) if messages else None
    tokens, _exact = _native.token_counter(model, messages=listed, text=text)
    return tokens
