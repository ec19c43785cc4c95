"""Cost and model facts with litellm's names, from the catalog; prices
registered at run time."""

from __future__ import annotations

import pytest

import switchboard as litellm
from conftest import USER, on_mock


def test_completion_cost_prices_a_response_from_its_usage(mock, bases):
    r = litellm.completion(model="openai/gpt-4o-mini", messages=USER, **on_mock("openai", bases))
    info = litellm.get_model_info("gpt-4o-mini")
    want = 12 * info["input_cost_per_token"] + 7 * info["output_cost_per_token"]
    assert litellm.completion_cost(completion_response=r) == pytest.approx(want)
    # The same from the usage alone (a response that lost its hidden price).
    r._hidden_params["response_cost"] = None
    assert litellm.completion_cost(completion_response=r) == pytest.approx(want)


def test_cost_per_token_splits_prompt_and_completion():
    info = litellm.get_model_info("anthropic/claude-haiku-4-5")
    prompt, completion = litellm.cost_per_token(model="anthropic/claude-haiku-4-5", prompt_tokens=1000,
                                                completion_tokens=200)
    assert prompt == pytest.approx(1000 * info["input_cost_per_token"])
    assert completion == pytest.approx(200 * info["output_cost_per_token"])
    # Cached reads at their own rate.
    cached, _ = litellm.cost_per_token(model="anthropic/claude-haiku-4-5", prompt_tokens=1000,
                                       cache_read_input_tokens=800)
    assert cached == pytest.approx(200 * info["input_cost_per_token"] + 800 * info["cache_read_input_token_cost"])


def test_completion_cost_from_text():
    cost = litellm.completion_cost(model="gpt-4o", prompt="Hello, world!", completion="Hi")
    info = litellm.get_model_info("gpt-4o")
    assert cost == pytest.approx(4 * info["input_cost_per_token"] + 1 * info["output_cost_per_token"])


def test_unknown_models_raise_rather_than_cost_nothing():
    with pytest.raises(Exception, match="isn't mapped"):
        litellm.cost_per_token(model="openai/no-such-model-xyz", prompt_tokens=1)
    with pytest.raises(Exception, match="isn't mapped"):
        litellm.get_model_info("openai/no-such-model-xyz")


def test_model_info_reads_with_litellms_keys():
    info = litellm.get_model_info("gpt-4o")
    assert info["litellm_provider"] == "openai"
    assert info["max_input_tokens"] >= 128000
    assert info["supports_function_calling"] is True and info["supports_vision"] is True
    assert info["mode"] == "chat"
    # A retired model keeps its last published prices.
    old = litellm.get_model_info("claude-3-haiku-20240307")
    assert old["input_cost_per_token"] > 0 and old["retired"] is True


def test_model_cost_is_a_mapping_of_the_catalog():
    assert "gpt-4o" in litellm.model_cost
    assert "openai/gpt-4o" in litellm.model_cost
    assert litellm.model_cost["gpt-4o"]["output_cost_per_token"] > 0
    names = list(litellm.model_cost)
    assert len(names) == len(litellm.model_cost) > 500
    assert "anthropic/claude-haiku-4-5" in names
    with pytest.raises(KeyError):
        litellm.model_cost["no-provider-claims-this"]


def test_register_model_prices_later_calls(mock, bases):
    litellm.register_model({"my-fine-tune": {"litellm_provider": "openai", "input_cost_per_token": 1e-5,
                                              "output_cost_per_token": 3e-5, "max_tokens": 8192,
                                              "mode": "chat"}})
    info = litellm.get_model_info("openai/my-fine-tune")
    assert info["input_cost_per_token"] == pytest.approx(1e-5)
    assert info["max_input_tokens"] == 8192
    r = litellm.completion(model="openai/my-fine-tune", messages=USER, **on_mock("openai", bases))
    assert litellm.completion_cost(completion_response=r) == pytest.approx(12 * 1e-5 + 7 * 3e-5)
    # Updating one price keeps the rest of an existing entry.
    before = litellm.get_model_info("gpt-4o-mini")
    litellm.register_model({"openai/gpt-4o-mini": {"output_cost_per_token": 9e-6}})
    after = litellm.get_model_info("gpt-4o-mini")
    assert after["output_cost_per_token"] == pytest.approx(9e-6)
    assert after["input_cost_per_token"] == before["input_cost_per_token"]
    assert after["max_input_tokens"] == before["max_input_tokens"]
    litellm.register_model({"openai/gpt-4o-mini": {"output_cost_per_token": before["output_cost_per_token"]}})


def test_an_absurd_registered_price_is_refused():
    with pytest.raises(litellm.BadRequestError, match="openai/absurd"):
        litellm.register_model({"openai/absurd": {"input_cost_per_token": 50.0}})


def test_token_counter_counts_messages_and_text():
    # o200k: "Hello, world!" is 4 tokens; a message adds "user" and framing.
    assert litellm.token_counter(model="gpt-4o", text="Hello, world!") == 4
    assert litellm.token_counter(model="gpt-4o", messages=[{"role": "user", "content": "Hello, world!"}]) == 11
    # Other models: a token per four characters.
    assert litellm.token_counter(model="claude-haiku-4-5", text="abcdefgh") == 2
