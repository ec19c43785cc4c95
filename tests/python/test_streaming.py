"""stream=True: chunks as litellm yields them, from each API's own stream
format, sync and async."""

from __future__ import annotations

import asyncio
import json

import pytest

import switchboard as litellm
from conftest import MODELS, USER, on_mock, provider_model


def test_a_stream_yields_chunks_with_delta_content(mock, bases, api):
    mock.on(provider_model(api), text="one two three four")
    response = litellm.completion(model=MODELS[api], messages=USER, stream=True, **on_mock(api, bases))
    chunks = list(response)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four"
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["content"] is not None or chunks[0].choices[0].delta.role
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert mock.seen()[0].body.get("stream", True) is True


def test_an_async_stream_is_an_async_iterator(mock, bases, api):
    mock.on(provider_model(api), text="alpha beta gamma")

    async def run():
        response = await litellm.acompletion(model=MODELS[api], messages=USER, stream=True,
                                             **on_mock(api, bases))
        return [c async for c in response]

    chunks = asyncio.run(run())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "alpha beta gamma"


def test_a_stream_can_end_with_usage_and_be_rebuilt_into_a_response(mock, bases, api):
    mock.on(provider_model(api), text="a b c")
    response = litellm.completion(model=MODELS[api], messages=USER, stream=True,
                                  stream_options={"include_usage": True}, **on_mock(api, bases))
    chunks = list(response)
    usage = [c.usage for c in chunks if c.get("usage") is not None]
    assert usage and usage[-1].prompt_tokens == 12 and usage[-1].completion_tokens == 7
    assert response.usage.total_tokens == 19
    whole = litellm.stream_chunk_builder(chunks, messages=USER)
    assert whole.choices[0].message.content == "a b c"
    assert whole.usage.completion_tokens == 7


def test_a_streamed_tool_call_arrives_in_deltas(mock, bases, api):
    mock.on(provider_model(api), tool_call=("lookup", '{"q": "x"}'))
    chunks = list(litellm.completion(model=MODELS[api], messages=USER, stream=True,
                                     tools=[{"type": "function", "function": {"name": "lookup"}}],
                                     **on_mock(api, bases)))
    whole = litellm.stream_chunk_builder(chunks)
    call = whole.choices[0].message.tool_calls[0]
    assert call["function"]["name"] == "lookup"
    assert json.loads(call["function"]["arguments"]) == {"q": "x"}


def test_a_failure_before_the_first_chunk_raises_from_the_call(mock, bases, api):
    mock.on(provider_model(api), status=429, message="slow down")
    with pytest.raises(litellm.RateLimitError, match="slow down"):
        litellm.completion(model=MODELS[api], messages=USER, stream=True, **on_mock(api, bases))


def test_mock_streams_need_no_network(mock):
    chunks = list(litellm.completion(model="gpt-4o", messages=USER, stream=True, mock_response="Hi you"))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hi you"
    assert mock.seen() == []


def test_closing_a_stream_early_ends_it(mock, bases):
    mock.on("gpt-4o-mini", text="a b c d e f")
    response = litellm.completion(model="openai/gpt-4o-mini", messages=USER, stream=True, **on_mock("openai", bases))
    with response:
        first = next(response)
    assert first.choices
    assert list(response) == []
