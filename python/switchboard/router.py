"""litellm's ``Router``: model groups of deployments (``model_list``), a
routing strategy by litellm's names, retries, cooldowns and fallbacks —
Switchboard's Router, configured by the same reader as the proxy's
litellm ``config.yaml``, so every litellm key means the same in both and a
key that means nothing here is named (a typo is an error)."""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional, Union

from . import _args, _native
from .main import CustomStreamWrapper
from .types import EmbeddingResponse, ModelResponse

_log = logging.getLogger("switchboard")

#: Router(...) arguments that are litellm's ``router_settings``.
_SETTINGS = (
    "routing_strategy",
    "num_retries",
    "timeout",
    "fallbacks",
    "context_window_fallbacks",
    "content_policy_fallbacks",
    "allowed_fails",
    "cooldown_time",
    "retry_after",
    "enable_pre_call_checks",
)


class Router:
    """``Router(model_list=[{"model_name": "gpt", "litellm_params": {"model":
    "openai/gpt-4o-mini", "api_key": "os.environ/OPENAI_API_KEY", "rpm": 100}},
    …], routing_strategy="usage-based-routing-v2", num_retries=2,
    fallbacks=[{"gpt": ["claude"]}])``. Calls name a ``model_name`` (a group);
    ``response._hidden_params["model_id"]`` names the deployment that answered."""

    def __init__(
        self,
        model_list: Optional[List[Dict[str, Any]]] = None,
        routing_strategy: Optional[str] = None,
        num_retries: Optional[int] = None,
        timeout: Optional[float] = None,
        fallbacks: Optional[List[Any]] = None,
        context_window_fallbacks: Optional[List[Any]] = None,
        content_policy_fallbacks: Optional[List[Any]] = None,
        **kwargs: Any,
    ) -> None:
        given = dict(
            routing_strategy=routing_strategy,
            num_retries=num_retries,
            timeout=timeout,
            fallbacks=fallbacks,
            context_window_fallbacks=context_window_fallbacks,
            content_policy_fallbacks=content_policy_fallbacks,
            **kwargs,
        )
        settings = {k: v for k, v in given.items() if v is not None}
        self.model_list = list(model_list or [])
        config = {"model_list": self.model_list, "router_settings": settings}
        from ._args import _jsonable

        self._native = _native.Router(json.dumps(config, default=_jsonable))
        for warning in self._native.warnings:
            _log.info("%s", warning)

    @property
    def model_names(self) -> List[str]:
        """The model groups (``model_name``s), sorted."""
        return self._native.groups()

    def get_model_names(self) -> List[str]:
        return self.model_names

    def _chat(self, model: str, messages: Any, kwargs: Dict[str, Any]) -> Any:
        body: Dict[str, Any] = {"model": model, "messages": messages or []}
        stream = bool(kwargs.pop("stream", False))
        if stream:
            body["stream"] = True
        text, route = _args.routed(model, kwargs, body)
        return text, route, stream

    def completion(self, model: str, messages: Optional[List[Any]] = None, **kwargs: Any
                   ) -> Union[ModelResponse, CustomStreamWrapper]:
        """A chat completion for the group ``model``, routed; per call,
        ``num_retries``, ``timeout``, ``fallbacks`` and ``mock_response``."""
        body, route, stream = self._chat(model, messages, kwargs)
        if stream:
            native, deployment = self._native.stream(body, route)
            return CustomStreamWrapper(native, model, deployment)
        text, deployment = self._native.completion(body, route)
        return _answered(ModelResponse._from_json(text), deployment)

    async def acompletion(self, model: str, messages: Optional[List[Any]] = None, **kwargs: Any
                          ) -> Union[ModelResponse, CustomStreamWrapper]:
        """:meth:`completion` for asyncio."""
        from . import _bridge

        body, route, stream = self._chat(model, messages, kwargs)
        if stream:
            native, deployment = await _bridge.run(self._native.astream, body, route)
            return CustomStreamWrapper(native, model, deployment)
        text, deployment = await _bridge.run(self._native.acompletion, body, route)
        return _answered(ModelResponse._from_json(text), deployment)

    def embedding(self, model: str, input: Any = None, **kwargs: Any) -> EmbeddingResponse:
        """Embeddings for the group ``model``, routed."""
        body, route = _args.routed(model, kwargs, {"model": model, "input": input})
        text, deployment = self._native.embedding(body, route)
        return _answered(EmbeddingResponse._from_json(text), deployment)

    async def aembedding(self, model: str, input: Any = None, **kwargs: Any) -> EmbeddingResponse:
        """:meth:`embedding` for asyncio."""
        from . import _bridge

        body, route = _args.routed(model, kwargs, {"model": model, "input": input})
        text, deployment = await _bridge.run(self._native.aembedding, body, route)
        return _answered(EmbeddingResponse._from_json(text), deployment)


def _answered(response: Any, deployment: str) -> Any:
    response._hidden_params["model_id"] = deployment
    return response
