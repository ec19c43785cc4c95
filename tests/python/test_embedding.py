"""embedding(model, input): OpenAI's and Gemini's wire formats, one text or many."""

from __future__ import annotations

import pytest

import switchboard as litellm
from conftest import on_mock


def test_openai_embeddings(mock, bases):
    r = litellm.embedding(model="openai/text-embedding-3-small", input=["good morning", "hello"],
                          dimensions=3, **on_mock("openai", bases))
    assert r.object == "list"
    assert len(r.data) == 2
    assert r.data[0]["embedding"] == pytest.approx([0.1, 0.2, 0.3])
    assert r.data[1].embedding[0] == pytest.approx(0.2)
    assert r.usage.prompt_tokens == 8
    body = mock.seen()[0].body
    assert body == {"model": "text-embedding-3-small", "input": ["good morning", "hello"], "dimensions": 3}
    assert r.model_dump()["data"][0]["index"] == 0


def test_gemini_embeddings(mock, bases):
    r = litellm.embedding(model="gemini/text-embedding-004", input="one text", **on_mock("gemini", bases))
    assert r.data[0]["embedding"] == pytest.approx([0.5, 0.25, 0.0])
    (seen,) = mock.seen()
    assert seen.path.endswith("/models/text-embedding-004:batchEmbedContents")
    assert seen.body["requests"][0]["content"]["parts"][0]["text"] == "one text"


def test_an_embedding_error_is_litellms_class(mock, bases):
    mock.on("text-embedding-3-small", status=404, message="no such model")
    with pytest.raises(litellm.NotFoundError):
        litellm.embedding(model="openai/text-embedding-3-small", input="x", **on_mock("openai", bases))
