"""Router(model_list=[…]): litellm's constructor and calls, its strategy
names, retries, fallbacks, os.environ/NAME keys, over the mock."""

from __future__ import annotations

import asyncio
import collections

import pytest

import switchboard as litellm
from conftest import USER


def deployment(group: str, model: str, base: str, **params):
    return {"model_name": group, "litellm_params": {"model": model, "api_base": base, "api_key": "k", **params}}


def served(mock) -> collections.Counter:
    return collections.Counter(r.model for r in mock.seen())


def test_a_router_calls_the_group_and_names_the_deployment(mock, bases):
    router = litellm.Router(model_list=[deployment("chat", "openai/gpt-4o-mini", bases["openai"])])
    r = router.completion(model="chat", messages=USER)
    assert r.choices[0].message.content == "Hello from gpt-4o-mini"
    assert r._hidden_params["model_id"].startswith("chat:")
    assert router.model_names == ["chat"]


def test_os_environ_keys_are_read_from_the_environment(mock, bases, monkeypatch):
    monkeypatch.setenv("MY_ROUTER_KEY", "from-env")
    mock.keys["openai"] = "from-env"
    router = litellm.Router(model_list=[{"model_name": "chat", "litellm_params": {
        "model": "openai/gpt-4o-mini", "api_base": bases["openai"], "api_key": "os.environ/MY_ROUTER_KEY"}}])
    assert router.completion(model="chat", messages=USER).choices[0].message.content
    assert mock.seen()[0].headers["authorization"] == "Bearer from-env"


def test_an_unset_environment_key_is_named_when_the_router_is_made(mock, bases):
    with pytest.raises(litellm.BadRequestError, match="NO_SUCH_VARIABLE"):
        litellm.Router(model_list=[{"model_name": "chat", "litellm_params": {
            "model": "openai/gpt-4o-mini", "api_key": "os.environ/NO_SUCH_VARIABLE"}}])


def test_a_misspelt_setting_is_an_error_naming_it(mock, bases):
    with pytest.raises(litellm.BadRequestError, match="routing_strategyy"):
        litellm.Router(model_list=[deployment("chat", "openai/gpt-4o-mini", bases["openai"])],
                       routing_strategyy="simple-shuffle")


def test_simple_shuffle_spreads_calls_over_the_groups_deployments(mock, bases):
    router = litellm.Router(model_list=[deployment("chat", "openai/gpt-4o-mini", bases["openai"]),
                                        deployment("chat", "openai/gpt-4o", bases["openai"])],
                            routing_strategy="simple-shuffle")
    for _ in range(40):
        router.completion(model="chat", messages=USER)
    counts = served(mock)
    assert counts["gpt-4o-mini"] >= 5 and counts["gpt-4o"] >= 5, counts


def test_usage_based_routing_v2_avoids_the_deployment_with_no_headroom(mock, bases):
    router = litellm.Router(model_list=[deployment("chat", "openai/gpt-4o-mini", bases["openai"], rpm=1),
                                        deployment("chat", "openai/gpt-4o", bases["openai"], rpm=1000)],
                            routing_strategy="usage-based-routing-v2")
    for _ in range(10):
        router.completion(model="chat", messages=USER)
    # Once its one request this minute is spent, the small one gets no more.
    counts = served(mock)
    assert counts["gpt-4o-mini"] <= 1 and counts["gpt-4o"] >= 9, counts


def test_latency_based_routing_settles_on_the_faster_deployment(mock, bases):
    mock.on("gpt-4o", delay=0.25)
    router = litellm.Router(model_list=[deployment("chat", "openai/gpt-4o-mini", bases["openai"]),
                                        deployment("chat", "openai/gpt-4o", bases["openai"])],
                            routing_strategy="latency-based-routing")
    for _ in range(8):
        router.completion(model="chat", messages=USER)
    # Each is tried once (untried first), then the faster one takes the rest.
    assert served(mock) == {"gpt-4o-mini": 7, "gpt-4o": 1}


def test_cost_based_routing_picks_the_cheaper_deployment(mock, bases):
    router = litellm.Router(model_list=[deployment("chat", "openai/gpt-4o", bases["openai"]),
                                        deployment("chat", "openai/gpt-4o-mini", bases["openai"])],
                            routing_strategy="cost-based-routing")
    for _ in range(6):
        router.completion(model="chat", messages=USER)
    assert served(mock) == {"gpt-4o-mini": 6}


def test_least_busy_balances_calls_in_flight(mock, bases):
    mock.on("gpt-4o-mini", delay=0.3)
    mock.on("gpt-4o", delay=0.3)
    router = litellm.Router(model_list=[deployment("chat", "openai/gpt-4o-mini", bases["openai"]),
                                        deployment("chat", "openai/gpt-4o", bases["openai"])],
                            routing_strategy="least-busy")

    async def run():
        await asyncio.gather(*[router.acompletion(model="chat", messages=USER) for _ in range(10)])

    asyncio.run(run())
    assert served(mock) == {"gpt-4o-mini": 5, "gpt-4o": 5}


def test_fallbacks_answer_when_the_first_group_fails(mock, bases):
    mock.on("gpt-4o", status=500, message="down")
    router = litellm.Router(model_list=[deployment("primary", "openai/gpt-4o", bases["openai"]),
                                        deployment("backup", "anthropic/claude-haiku-4-5", bases["anthropic"])],
                            fallbacks=[{"primary": ["backup"]}], num_retries=2, retry_after=0)
    r = router.completion(model="primary", messages=USER)
    assert r.choices[0].message.content == "Hello from claude-haiku-4-5"
    assert r._hidden_params["model_id"].startswith("backup:")
    # The first group was tried once and retried twice before falling back.
    assert served(mock) == {"gpt-4o": 3, "claude-haiku-4-5": 1}


def test_context_window_fallbacks_take_over_on_a_context_window_error(mock, bases):
    mock.on("gpt-4o-mini", status=400, code="context_length_exceeded",
            message="This model's maximum context length is 128000 tokens")
    router = litellm.Router(model_list=[deployment("small", "openai/gpt-4o-mini", bases["openai"]),
                                        deployment("large", "openai/gpt-4.1", bases["openai"])],
                            context_window_fallbacks=[{"small": ["large"]}], num_retries=0)
    r = router.completion(model="small", messages=USER)
    assert r.choices[0].message.content == "Hello from gpt-4.1"


def test_per_call_fallbacks_and_mock_response(mock, bases):
    router = litellm.Router(model_list=[deployment("a", "openai/gpt-4o", bases["openai"]),
                                        deployment("b", "openai/gpt-4o-mini", bases["openai"])], num_retries=0)
    # The mock answers every attempt, the fallback's too: the error surfaces
    # after both groups were tried, with no request sent.
    with pytest.raises(litellm.RateLimitError) as e:
        router.completion(model="a", messages=USER, mock_response="litellm.RateLimitError", fallbacks=["b"])
    assert [a["deployment"].split(":")[0] for a in e.value.attempts] == ["a", "b"]
    assert mock.seen() == []
    r = router.completion(model="a", messages=USER, mock_response="offline answer")
    assert r.choices[0].message.content == "offline answer"


def test_a_router_retries_a_rate_limited_deployment(mock, bases):
    mock.on("gpt-4o-mini", status=429, message="slow down", times=2)
    router = litellm.Router(model_list=[deployment("chat", "openai/gpt-4o-mini", bases["openai"])],
                            num_retries=3, retry_after=0)
    r = router.completion(model="chat", messages=USER)
    assert r.choices[0].message.content == "Hello from gpt-4o-mini"
    assert len(mock.seen()) == 3


def test_router_streams_and_async_calls(mock, bases):
    mock.on("gpt-4o-mini", text="x y z")
    router = litellm.Router(model_list=[deployment("chat", "openai/gpt-4o-mini", bases["openai"])])
    chunks = list(router.completion(model="chat", messages=USER, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "x y z"

    async def run():
        r = await router.acompletion(model="chat", messages=USER)
        s = await router.acompletion(model="chat", messages=USER, stream=True)
        return r, [c async for c in s]

    r, achunks = asyncio.run(run())
    assert r.choices[0].message.content == "x y z"
    assert "".join(c.choices[0].delta.content or "" for c in achunks) == "x y z"


def test_router_embeddings(mock, bases):
    router = litellm.Router(model_list=[deployment("emb", "openai/text-embedding-3-small", bases["openai"])])
    r = router.embedding(model="emb", input=["a", "b", "c"])
    assert len(r.data) == 3 and r.data[2]["embedding"][0] == pytest.approx(0.3)
    r2 = asyncio.run(router.aembedding(model="emb", input="a"))
    assert r2.data[0].embedding[0] == pytest.approx(0.1)
    assert r2._hidden_params["model_id"].startswith("emb:")
