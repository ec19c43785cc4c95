"""litellm's calls: ``completion``, ``acompletion``, ``embedding``,
``aembedding``, and the stream wrapper a ``stream=True`` call returns."""

from __future__ import annotations

from typing import Any, AsyncIterator, Iterator, List, Optional, Union

from . import _args, _native
from .types import EmbeddingResponse, ModelResponse, ModelResponseStream


class CustomStreamWrapper:
    """The chunks of a ``stream=True`` call (litellm's name): iterate it
    (``for chunk in response``), or ``async for`` over one that
    ``acompletion`` returned; each chunk is a :class:`ModelResponseStream`.
    A failure mid-stream raises from the iteration; the stream is then over.
    ``close()`` (or leaving a ``with`` block) ends it early."""

    def __init__(self, native: Any, model: str, deployment: Optional[str] = None) -> None:
        self._native = native
        self.model = model
        self._hidden_params = {"model_id": deployment}

    def __iter__(self) -> Iterator[ModelResponseStream]:
        return self

    def __next__(self) -> ModelResponseStream:
        chunk = self._native.next()
        if chunk is None:
            raise StopIteration
        return ModelResponseStream._from_json(chunk)

    def __aiter__(self) -> AsyncIterator[ModelResponseStream]:
        return self

    async def __anext__(self) -> ModelResponseStream:
        from . import _bridge

        chunk = await _bridge.run(self._native.anext)
        if chunk is None:
            raise StopAsyncIteration
        return ModelResponseStream._from_json(chunk)

    def close(self) -> None:
        self._native.close()

    async def aclose(self) -> None:
        self._native.close()

    def __enter__(self) -> "CustomStreamWrapper":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    async def __aenter__(self) -> "CustomStreamWrapper":
        return self

    async def __aexit__(self, *_: Any) -> None:
        self.close()

    @property
    def usage(self) -> Optional[Any]:
        """Usage of the whole stream once it has ended (a :class:`~switchboard.types.Usage`)."""
        import json

        from .types import Usage

        text = self._native.usage()
        if text is None:
            return None
        data = json.loads(text)
        data.pop("cost", None)
        return Usage(**data)


def completion(
    model: str,
    messages: Optional[List[Any]] = None,
    **kwargs: Any,
) -> Union[ModelResponse, CustomStreamWrapper]:
    """A chat completion, as litellm's ``completion()``: ``model`` as
    ``provider/model`` (or a bare name its provider claims), OpenAI's
    ``messages`` and parameters, and litellm's own arguments (``api_key``,
    ``api_base``, ``timeout``, ``num_retries``, ``fallbacks``,
    ``context_window_fallbacks``, ``mock_response``…). With ``stream=True``,
    an iterator of chunks."""
    body, settings, stream = _args.chat(model, messages, kwargs)
    if stream:
        return CustomStreamWrapper(_native.stream(body, settings), model)
    return ModelResponse._from_json(_native.completion(body, settings))


async def acompletion(
    model: str,
    messages: Optional[List[Any]] = None,
    **kwargs: Any,
) -> Union[ModelResponse, CustomStreamWrapper]:
    """:func:`completion` for asyncio: the call runs on Switchboard's own
    runtime, so many run at once. With ``stream=True``, an async iterator."""
    from . import _bridge

    body, settings, stream = _args.chat(model, messages, kwargs)
    if stream:
        native = await _bridge.run(_native.astream, body, settings)
        return CustomStreamWrapper(native, model)
    return ModelResponse._from_json(await _bridge.run(_native.acompletion, body, settings))


def embedding(model: str, input: Any = None, **kwargs: Any) -> EmbeddingResponse:
    """Embeddings of one text or a list (litellm's ``embedding()``)."""
    body, settings = _args.embedding(model, input, kwargs)
    return EmbeddingResponse._from_json(_native.embedding(body, settings))


async def aembedding(model: str, input: Any = None, **kwargs: Any) -> EmbeddingResponse:
    """:func:`embedding` for asyncio."""
    from . import _bridge

    body, settings = _args.embedding(model, input, kwargs)
    return EmbeddingResponse._from_json(await _bridge.run(_native.aembedding, body, settings))
