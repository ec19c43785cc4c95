"""completion(fallbacks=…, num_retries=…, context_window_fallbacks=…): the
call's own routing, acted on by the library and never sent."""

from __future__ import annotations

import pytest

import switchboard as litellm
from conftest import USER


def test_a_failing_first_model_falls_back_to_the_next(mock, bases, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "anthropic-env-key")
    mock.on("gpt-4o-mini", status=500, message="down")
    r = litellm.completion(
        model="openai/gpt-4o-mini", messages=USER, api_key="k", api_base=bases["openai"],
        fallbacks=[{"model": "anthropic/claude-haiku-4-5", "api_base": bases["anthropic"]}],
    )
    assert r.choices[0].message.content == "Hello from claude-haiku-4-5"
    first, second = mock.seen()
    assert (first.model, second.model) == ("gpt-4o-mini", "claude-haiku-4-5")
    # The fallback got its own provider's key, never the call's.
    assert second.headers["x-api-key"] == "anthropic-env-key"
    assert set(first.body) == {"model", "messages"}


def test_num_retries_retries_a_retryable_failure(mock, bases):
    mock.on("gpt-4o-mini", status=429, message="slow down", times=2)
    r = litellm.completion(model="openai/gpt-4o-mini", messages=USER, num_retries=2, api_key="k",
                           api_base=bases["openai"])
    assert r.choices[0].message.content == "Hello from gpt-4o-mini"
    assert len(mock.seen()) == 3


def test_without_retries_a_failure_is_tried_once(mock, bases):
    mock.on("gpt-4o-mini", status=429, message="slow down")
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(model="openai/gpt-4o-mini", messages=USER, api_key="k", api_base=bases["openai"])
    assert len(mock.seen()) == 1


def test_context_window_fallbacks_are_taken_on_a_context_window_error(mock, bases, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    mock.on("gpt-4o-mini", status=400, code="context_length_exceeded", message="maximum context length")
    r = litellm.completion(
        model="openai/gpt-4o-mini", messages=USER, api_base=bases["openai"],
        context_window_fallbacks=[{"openai/gpt-4o-mini": [{"model": "openai/gpt-4.1", "api_base": bases["openai"]}]}],
    )
    assert r.choices[0].message.content == "Hello from gpt-4.1"


def test_a_fallback_chain_can_be_tried_offline():
    r = litellm.completion(model="gpt-4o", messages=USER, mock_response="litellm.RateLimitError",
                           fallbacks=[{"model": "claude-haiku-4-5", "mock_response": "from the fallback"}])
    assert r.choices[0].message.content == "from the fallback"


def test_a_stream_falls_back_before_its_first_chunk(mock, bases):
    mock.on("gpt-4o", status=503, message="busy")
    mock.on("gpt-4o-mini", text="fell back")
    chunks = litellm.completion(model="openai/gpt-4o", messages=USER, stream=True, api_key="k",
                                api_base=bases["openai"],
                                fallbacks=[{"model": "openai/gpt-4o-mini", "api_key": "k",
                                            "api_base": bases["openai"]}])
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "fell back"


def test_embedding_fallbacks(mock, bases):
    mock.on("text-embedding-3-large", status=500)
    r = litellm.embedding(model="openai/text-embedding-3-large", input="x", api_key="k", api_base=bases["openai"],
                          fallbacks=[{"model": "openai/text-embedding-3-small", "api_key": "k",
                                      "api_base": bases["openai"]}])
    assert r.model == "text-embedding-3-small"
    assert set(mock.seen()[0].body) == {"model", "input"}
