"""The official `openai` Python SDK against a running `switchboard serve`.

Usage: python3 tests/clients/openai_sdk.py BASE_URL MASTER_KEY

The server must serve these model groups (tests/it/server.rs sets them up
over mock upstreams): `chat` answers "Hello from the mock"; `streamer`
streams "Hel" + "lo"; `cut` streams one chunk and then breaks; `embedder`
returns two 3-dimensional vectors; `limited` is rate limited upstream.
Prints "all checks passed" and exits 0, or raises.
"""

import sys

import openai
from openai import OpenAI


def expect(exc_class, call):
    try:
        call()
    except exc_class as e:
        assert e.message, f"{exc_class.__name__} without a message"
        return e
    except Exception as e:  # noqa: BLE001 - report what was raised instead
        raise AssertionError(f"expected {exc_class.__name__}, got {type(e).__name__}: {e}") from e
    raise AssertionError(f"expected {exc_class.__name__}, got an answer")


def main(base_url, key):
    # No SDK retries: a 429 must surface as it came.
    client = OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=30)
    hi = [{"role": "user", "content": "hi"}]

    resp = client.chat.completions.create(model="chat", messages=hi)
    assert resp.choices[0].message.content == "Hello from the mock", resp
    assert resp.usage.total_tokens == 7, resp.usage

    raw = client.chat.completions.with_raw_response.create(model="chat", messages=hi)
    assert raw.headers.get("x-switchboard-deployment") == "chat-dep", raw.headers

    text, finish = "", None
    for chunk in client.chat.completions.create(model="streamer", messages=hi, stream=True):
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
    assert text == "Hello", text
    assert finish == "stop", finish

    # A stream cut after its first chunk raises; it never ends quietly.
    def read_cut():
        for _ in client.chat.completions.create(model="cut", messages=hi, stream=True):
            pass

    expect(openai.APIError, read_cut)

    # The SDK asks for base64 by default and decodes it back to floats.
    emb = client.embeddings.create(model="embedder", input=["a", "b"])
    assert len(emb.data) == 2, emb
    assert emb.data[1].embedding == [0.125, 0.0, -1.0], emb.data[1].embedding
    emb = client.embeddings.create(model="embedder", input="a", encoding_format="float")
    assert emb.data[0].embedding == [0.5, -0.25, 1.0], emb.data[0].embedding

    ids = sorted(m.id for m in client.models.list())
    assert ids == ["chat", "cut", "embedder", "limited", "streamer"], ids
    assert client.models.retrieve("chat").id == "chat"

    wrong = OpenAI(base_url=base_url, api_key="sk-wrong", max_retries=0)
    expect(openai.AuthenticationError, lambda: wrong.models.list())
    expect(openai.AuthenticationError, lambda: wrong.chat.completions.create(model="chat", messages=hi))

    e = expect(
        openai.RateLimitError,
        lambda: client.chat.completions.create(model="limited", messages=hi),
    )
    assert e.response.headers.get("retry-after") == "7", e.response.headers

    expect(openai.NotFoundError, lambda: client.chat.completions.create(model="no-such-model", messages=hi))
    expect(openai.NotFoundError, lambda: client.models.retrieve("no-such-model"))

    e = expect(openai.BadRequestError, lambda: client.chat.completions.create(model="chat", messages=[]))
    assert e.param == "messages", e.body
    e = expect(
        openai.BadRequestError,
        lambda: client.chat.completions.create(model="chat", messages=hi, extra_body={"temperature": "hot"}),
    )
    assert e.param == "temperature", e.body
    e = expect(
        openai.BadRequestError,
        lambda: client.chat.completions.create(
            model="chat", messages=hi, extra_body={"api_base": "http://127.0.0.1:9"}
        ),
    )
    assert e.param == "api_base", e.body

    print("all checks passed")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: openai_sdk.py BASE_URL MASTER_KEY")
    main(sys.argv[1], sys.argv[2])
