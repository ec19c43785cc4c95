"""litellm's keyword arguments, sorted: the call's own settings (key, base
URL, timeout, prices) apart from the request body, litellm's settings that
change nothing here dropped, and everything else passed through in the
body — where the library itself takes out and acts on litellm's routing
arguments (``fallbacks``, ``num_retries``, ``mock_response``…) and
parameter policy (``drop_params``…), so no provider ever sees them.
Python objects become JSON: a response's message appended to
``messages``, a pydantic class as ``response_format``."""

from __future__ import annotations

import json
import sys
from typing import Any, Dict, Optional, Tuple

#: Keyword arguments that are the call's settings, and their native names.
_SETTINGS = {
    "api_key": "api_key",
    "api_base": "api_base",
    "base_url": "api_base",
    "timeout": "timeout",
    "request_timeout": "timeout",
    "input_cost_per_token": "input_cost_per_token",
    "output_cost_per_token": "output_cost_per_token",
}

#: litellm's own arguments that change nothing here (logging, caching,
#: proxy bookkeeping): accepted, never sent.
_IGNORED = frozenset({
    "metadata",
    "litellm_metadata",
    "caching",
    "cache",
    "logger_fn",
    "litellm_logging_obj",
    "litellm_call_id",
    "litellm_trace_id",
    "litellm_session_id",
    "tags",
    "proxy_server_request",
    "preset_cache_key",
    "model_info",
    "client",
    "acompletion",
    "aembedding",
    "no-log",
    "verbose",
})

#: Arguments the core cannot honour: refused, naming them, rather than
#: silently doing something else.
_UNSUPPORTED = {
    "extra_headers": "per-call HTTP headers are not supported; a provider's headers come from its spec",
    "headers": "per-call HTTP headers are not supported; a provider's headers come from its spec",
    "model_list": "pass a model_list to switchboard.Router",
}


def _package() -> Any:
    return sys.modules["switchboard"]


def _jsonable(value: Any) -> Any:
    """``json.dumps``'s fallback: objects with ``model_dump`` (this package's
    responses and messages, pydantic models) as their dicts."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(exclude_none=True)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _strict(schema: Any) -> Any:
    """A JSON schema as OpenAI's strict structured outputs want it: every
    object closed to other properties, with every property required."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "properties" in schema:
            schema.setdefault("additionalProperties", False)
            schema["required"] = list(schema["properties"])
        for value in schema.values():
            _strict(value)
    elif isinstance(schema, list):
        for item in schema:
            _strict(item)
    return schema


def response_format(value: Any) -> Any:
    """A pydantic model class as litellm sends it (a strict ``json_schema``
    named after the class); anything else as it is."""
    if isinstance(value, type) and hasattr(value, "model_json_schema"):
        return {
            "type": "json_schema",
            "json_schema": {
                "name": value.__name__,
                "schema": _strict(value.model_json_schema()),
                "strict": True,
            },
        }
    return value


def _split(kwargs: Dict[str, Any], body: Dict[str, Any]) -> Dict[str, Any]:
    """Moves ``kwargs`` into ``body`` or the returned settings."""
    settings: Dict[str, Any] = {}
    for name, value in kwargs.items():
        if name in _SETTINGS:
            if value is not None:
                settings[_SETTINGS[name]] = float(value) if _SETTINGS[name] == "timeout" else value
        elif name in _IGNORED:
            continue
        elif name in _UNSUPPORTED:
            if value:
                _bad_request(f"{name}: {_UNSUPPORTED[name]}", body.get("model"))
        elif name == "custom_llm_provider":
            if value and not str(body.get("model", "")).startswith(f"{value}/"):
                body["model"] = f"{value}/{body.get('model', '')}"
        elif name == "max_retries":
            # The openai client's retries, as litellm passes them on.
            if value is not None and "num_retries" not in kwargs:
                body["num_retries"] = value
        elif value is not None:
            body[name] = value
    return settings


def _defaults(body: Dict[str, Any], settings: Dict[str, Any]) -> None:
    """The package's module-level settings (``switchboard.drop_params = True``…)
    where the call gives none."""
    pkg = _package()
    if pkg.api_key is not None:
        settings.setdefault("api_key", pkg.api_key)
    if pkg.api_base is not None:
        settings.setdefault("api_base", pkg.api_base)
    if pkg.request_timeout is not None:
        settings.setdefault("timeout", float(pkg.request_timeout))
    if pkg.num_retries is not None:
        body.setdefault("num_retries", pkg.num_retries)
    if pkg.drop_params:
        body.setdefault("drop_params", True)


def _bad_request(message: str, model: Optional[str]) -> None:
    from .exceptions import _classes

    raise _classes()["BadRequestError"](message, model=model, llm_provider=None)


def chat(model: str, messages: Any, kwargs: Dict[str, Any]) -> Tuple[str, str, bool]:
    """A chat call's (body, settings, stream)."""
    if not isinstance(model, str) or not model:
        _bad_request("model must be a model name, e.g. 'openai/gpt-4o-mini'", None)
    body: Dict[str, Any] = {"model": model, "messages": messages if messages is not None else []}
    settings = _split(kwargs, body)
    _defaults(body, settings)
    stream = bool(body.pop("stream", False))
    if stream:
        body["stream"] = True
    if "response_format" in body:
        body["response_format"] = response_format(body["response_format"])
    return json.dumps(body, default=_jsonable), json.dumps(settings), stream


def embedding(model: str, input: Any, kwargs: Dict[str, Any]) -> Tuple[str, str]:
    """An embedding call's (body, settings)."""
    if not isinstance(model, str) or not model:
        _bad_request("model must be a model name, e.g. 'openai/text-embedding-3-small'", None)
    body: Dict[str, Any] = {"model": model, "input": input}
    settings = _split(kwargs, body)
    _defaults(body, settings)
    body.pop("drop_params", None)
    return json.dumps(body, default=_jsonable), json.dumps(settings)


#: A Router call's own routing arguments, and their native names.
_ROUTE = {"num_retries": "num_retries", "timeout": "timeout", "request_timeout": "timeout",
          "fallbacks": "fallbacks", "mock_response": "mock_response"}


def routed(model: str, kwargs: Dict[str, Any], body: Dict[str, Any]) -> Tuple[str, str]:
    """A Router call's (body, routing settings): the routing arguments out
    of the body; the deployment's own key and base URL are its config's."""
    route: Dict[str, Any] = {}
    for name, value in kwargs.items():
        if name in _ROUTE:
            if value is not None:
                route[_ROUTE[name]] = value
        elif name in _IGNORED or name == "max_retries":
            continue
        elif name in _UNSUPPORTED or name in ("api_key", "api_base", "base_url"):
            if value:
                _bad_request(f"{name}: a Router call takes its deployment's settings", model)
        elif value is not None:
            body[name] = value
    if "timeout" in route:
        route["timeout"] = float(route["timeout"])
    if "fallbacks" in route:
        route["fallbacks"] = _route_fallbacks(model, route["fallbacks"])
    if "response_format" in body:
        body["response_format"] = response_format(body["response_format"])
    return json.dumps(body, default=_jsonable), json.dumps(route)


def _route_fallbacks(model: str, given: Any) -> Any:
    """A Router call's fallbacks as a list of groups: litellm's
    ``[{"group": ["other"]}]`` form gives the list for this call's group."""
    if isinstance(given, str):
        return [given]
    out = []
    for item in given or []:
        if isinstance(item, dict):
            for group, targets in item.items():
                if group == model:
                    out.extend([targets] if isinstance(targets, str) else list(targets))
        else:
            out.append(item)
    return out
