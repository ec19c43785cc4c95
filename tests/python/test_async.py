"""acompletion / aembedding: real asyncio awaitables on Switchboard's own
runtime — many in flight at once, cancellable."""

from __future__ import annotations

import asyncio

import pytest

import switchboard as litellm
from conftest import MODELS, USER, on_mock, provider_model


def test_acompletion_answers_like_completion(mock, bases, api):
    mock.on(provider_model(api), text="async hello")
    r = asyncio.run(litellm.acompletion(model=MODELS[api], messages=USER, **on_mock(api, bases)))
    assert r.choices[0].message.content == "async hello"


def test_fifty_calls_gathered_run_at_once(mock, bases):
    # Each request is held until all 50 have arrived: calls made one after
    # another would wait forever (the mock gives up after 20 s with a 503).
    mock.hold(50)

    async def run():
        calls = [litellm.acompletion(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": f"n{i}"}],
                                     **on_mock("openai", bases)) for i in range(50)]
        return await asyncio.gather(*calls)

    answers = asyncio.run(run())
    assert len(answers) == 50
    assert all(a.choices[0].message.content == "Hello from gpt-4o-mini" for a in answers)
    assert sorted(r.body["messages"][0]["content"] for r in mock.seen()) == sorted(f"n{i}" for i in range(50))


def test_a_cancelled_call_raises_cancelled_and_leaves_the_loop_working(mock, bases):
    mock.on("gpt-4o-mini", delay=5)

    async def run():
        task = asyncio.ensure_future(litellm.acompletion(model="openai/gpt-4o-mini", messages=USER,
                                                         **on_mock("openai", bases)))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        r = await litellm.acompletion(model="gpt-4o", messages=USER, mock_response="still fine")
        return r.choices[0].message.content

    assert asyncio.run(run()) == "still fine"


def test_async_errors_are_the_same_classes(mock, bases, api):
    mock.on(provider_model(api), status=401, message="bad key")

    async def run():
        await litellm.acompletion(model=MODELS[api], messages=USER, **on_mock(api, bases))

    with pytest.raises(litellm.AuthenticationError) as e:
        asyncio.run(run())
    assert e.value.status_code == 401


def test_aembedding(mock, bases):
    r = asyncio.run(litellm.aembedding(model="openai/text-embedding-3-small", input=["a", "b"],
                                       **on_mock("openai", bases)))
    assert [d["index"] for d in r.data] == [0, 1]
