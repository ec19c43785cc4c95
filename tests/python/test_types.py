"""The response objects read like litellm's (pydantic) ones."""

from __future__ import annotations

import json

import switchboard as litellm
from switchboard.types import ModelResponse, ModelResponseStream


RAW = {
    "id": "c1", "object": "chat.completion", "created": 1, "model": "m",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": None, "reasoning_content": "thought",
        "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7,
              "prompt_tokens_details": {"cached_tokens": 1}, "cost": {"usd": 0.5, "priced": True}},
}


def test_attribute_key_and_dump_access_agree():
    r = ModelResponse._from_json(json.dumps(RAW))
    call = r.choices[0].message.tool_calls[0]
    assert call.function.name == r["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "f"
    assert r.choices[0].message.reasoning_content == "thought"
    assert r.usage.prompt_tokens_details.cached_tokens == 1
    assert r._hidden_params["response_cost"] == 0.5
    dumped = r.model_dump()
    assert "cost" not in dumped["usage"]
    assert dumped["choices"][0]["message"]["tool_calls"][0]["function"] == {"name": "f", "arguments": "{}"}
    assert dict(r)["model"] == "m"
    assert r == ModelResponse(**r.model_dump())
    assert "content=None" in repr(r.choices[0].message)


def test_an_unpriced_answer_has_no_cost():
    raw = dict(RAW, usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2,
                           "cost": {"usd": 0.0, "priced": False}})
    assert ModelResponse(**json.loads(json.dumps(raw)))._hidden_params["response_cost"] is None


def test_a_chunk_reads_like_litellms():
    c = ModelResponseStream(id="x", object="chat.completion.chunk", created=1, model="m",
                            choices=[{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}])
    assert c.choices[0].delta.content == "hi"
    assert c.choices[0].delta.tool_calls is None and c.choices[0].delta.role is None
    assert isinstance(c, litellm.ModelResponseStream)


def test_exclude_none_and_json_text():
    r = ModelResponse._from_json(json.dumps(RAW))
    lean = r.model_dump(exclude_none=True)
    assert "content" not in lean["choices"][0]["message"]
    assert json.loads(r.model_dump_json())["id"] == "c1"
