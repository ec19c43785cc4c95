"""completion(): litellm's call against OpenAI, Anthropic and Gemini wire
formats, its response object, its keyword arguments."""

from __future__ import annotations

import json

import pytest

import switchboard as litellm
from conftest import MODELS, USER, on_mock, provider_model


def test_a_completion_reads_like_litellms_model_response(mock, bases, api):
    mock.on(provider_model(api), text="Hello, world!")
    r = litellm.completion(model=MODELS[api], messages=USER, **on_mock(api, bases))
    assert r.choices[0].message.content == "Hello, world!"
    assert r["choices"][0]["message"]["content"] == "Hello, world!"
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.tool_calls is None
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens == 12 and r.usage.completion_tokens == 7 and r.usage.total_tokens == 19
    assert r.model
    assert r.object == "chat.completion"
    dumped = r.model_dump()
    assert dumped["choices"][0]["message"]["content"] == "Hello, world!"
    assert dumped["usage"] == {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
    assert r.json() == dumped
    assert json.loads(r.model_dump_json()) == dumped
    assert r.get("nope", 5) == 5 and "choices" in r and "_hidden_params" not in r
    # Priced by the catalog when it answered.
    assert r._hidden_params["response_cost"] > 0


def test_the_request_reaches_each_api_in_its_own_shape(mock, bases, api):
    litellm.completion(model=MODELS[api], messages=[{"role": "system", "content": "Be brief."}, *USER],
                       temperature=0.2, max_tokens=50, **on_mock(api, bases))
    (seen,) = mock.seen()
    assert seen.api == api
    if api == "openai":
        assert seen.headers["authorization"] == "Bearer key-openai"
        assert seen.body["messages"][0] == {"role": "system", "content": "Be brief."}
        assert seen.body["max_tokens"] == 50
    elif api == "anthropic":
        assert seen.headers["x-api-key"] == "key-anthropic"
        assert seen.body["system"] == "Be brief."
        assert seen.body["max_tokens"] == 50
    else:
        assert seen.headers["x-goog-api-key"] == "key-gemini"
        assert seen.body["systemInstruction"]["parts"][0]["text"] == "Be brief."
        assert seen.body["generationConfig"]["maxOutputTokens"] == 50
    assert seen.body.get("temperature", seen.body.get("generationConfig", {}).get("temperature")) == 0.2


def test_tool_calls_come_back_as_objects_and_go_back_in_the_next_turn(mock, bases, api):
    mock.on(provider_model(api), tool_call=("get_weather", '{"city": "Paris"}'))
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
                                               "parameters": {"type": "object",
                                                              "properties": {"city": {"type": "string"}}}}}]
    messages = list(USER)
    r = litellm.completion(model=MODELS[api], messages=messages, tools=tools, tool_choice="auto",
                           **on_mock(api, bases))
    call = r.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert r.choices[0].finish_reason == "tool_calls"
    # litellm's tutorial pattern: the response's message appended as it is.
    messages.append(r.choices[0].message)
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "sunny"})
    mock.on(provider_model(api), text="It is sunny.")
    r2 = litellm.completion(model=MODELS[api], messages=messages, tools=tools, **on_mock(api, bases))
    assert r2.choices[0].message.content == "It is sunny."
    sent = mock.seen()[-1].body
    assert "get_weather" in json.dumps(sent) and "sunny" in json.dumps(sent)


def test_the_librarys_own_arguments_never_reach_the_provider(mock, bases):
    # The mock answers 400 to any field OpenAI does not know.
    r = litellm.completion(
        model="openai/gpt-4o-mini", messages=USER, api_key="k", base_url=bases["openai"],
        timeout=30, num_retries=1, fallbacks=["openai/gpt-4o"], context_window_fallbacks=[{"gpt-4o-mini": ["gpt-4o"]}],
        metadata={"user": "me"}, caching=False, litellm_call_id="x", tags=["a"], max_retries=1,
        input_cost_per_token=1e-6, output_cost_per_token=2e-6,
    )
    assert r.choices[0].message.content == "Hello from gpt-4o-mini"
    (seen,) = mock.seen()
    assert set(seen.body) == {"model", "messages"}


def test_openai_parameters_and_unknown_ones_pass_through(mock, bases):
    litellm.completion(model="openai/gpt-4o-mini", messages=USER, seed=7, n=1, user="u1",
                       response_format={"type": "json_object"}, stop=["\n"],
                       logit_bias={"50256": -100}, **on_mock("openai", bases))
    body = mock.seen()[0].body
    assert body["seed"] == 7 and body["user"] == "u1" and body["stop"] == ["\n"]
    assert body["response_format"] == {"type": "json_object"}
    assert body["logit_bias"] == {"50256": -100}
    # A field no one knows goes through too, and the provider says what it thinks of it.
    with pytest.raises(litellm.BadRequestError, match="frobnicate"):
        litellm.completion(model="openai/gpt-4o-mini", messages=USER, frobnicate=True, **on_mock("openai", bases))


def test_a_pydantic_class_as_response_format_is_sent_as_a_strict_json_schema(mock, bases):
    pydantic = pytest.importorskip("pydantic")

    class CalendarEvent(pydantic.BaseModel):
        name: str
        participants: list

    mock.on("gpt-4o-mini", text='{"name": "fair", "participants": ["Bob"]}')
    r = litellm.completion(model="openai/gpt-4o-mini", messages=USER, response_format=CalendarEvent,
                           **on_mock("openai", bases))
    assert CalendarEvent.model_validate_json(r.choices[0].message.content).participants == ["Bob"]
    rf = mock.seen()[0].body["response_format"]
    assert rf["type"] == "json_schema"
    assert rf["json_schema"]["name"] == "CalendarEvent" and rf["json_schema"]["strict"] is True
    schema = rf["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert sorted(schema["required"]) == ["name", "participants"]


def test_keys_come_from_the_providers_environment_variable(mock, bases, api, monkeypatch):
    env = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "gemini": "GEMINI_API_KEY"}[api]
    monkeypatch.setenv(env, f"env-key-{api}")
    mock.keys[api] = f"env-key-{api}"
    r = litellm.completion(model=MODELS[api], messages=USER, api_base=bases[api])
    assert r.choices[0].message.content.startswith("Hello from")
    # The call's own key wins over the variable (and this one is refused).
    with pytest.raises(litellm.AuthenticationError):
        litellm.completion(model=MODELS[api], messages=USER, api_base=bases[api], api_key="wrong")


def test_a_missing_key_is_an_authentication_error_naming_the_variable(mock, bases):
    with pytest.raises(litellm.AuthenticationError, match="ANTHROPIC_API_KEY"):
        litellm.completion(model="anthropic/claude-haiku-4-5", messages=USER, api_base=bases["anthropic"])
    assert mock.seen() == []


def test_module_level_settings_apply_to_every_call(mock, bases, monkeypatch):
    monkeypatch.setattr(litellm, "api_key", "module-key")
    monkeypatch.setattr(litellm, "api_base", bases["openai"])
    litellm.completion(model="openai/gpt-4o-mini", messages=USER)
    assert mock.seen()[0].headers["authorization"] == "Bearer module-key"


def test_custom_llm_provider_names_the_provider_of_a_bare_model(mock, bases):
    litellm.completion(model="my-model", custom_llm_provider="openai", messages=USER, **on_mock("openai", bases))
    assert mock.seen()[0].body["model"] == "my-model"


def test_mock_response_answers_with_no_network(mock):
    r = litellm.completion(model="gpt-4o-mini", messages=USER, mock_response="It's simple!")
    assert r.choices[0].message.content == "It's simple!"
    assert mock.seen() == []


def test_per_call_prices_price_the_answer(mock, bases):
    r = litellm.completion(model="openai/gpt-4o-mini", messages=USER, input_cost_per_token=1e-5,
                           output_cost_per_token=2e-5, **on_mock("openai", bases))
    assert r._hidden_params["response_cost"] == pytest.approx(12 * 1e-5 + 7 * 2e-5)
    assert litellm.completion_cost(completion_response=r) == pytest.approx(12 * 1e-5 + 7 * 2e-5)


def test_absurd_arguments_are_bad_requests_naming_them(mock, bases):
    for kwargs, named in (
        ({"temperature": 1e308}, "temperature"),
        ({"timeout": -1}, "timeout"),
        ({"num_retries": 1000}, "num_retries"),
        ({"input_cost_per_token": 5.0}, "input_cost_per_token"),
    ):
        with pytest.raises(litellm.BadRequestError, match=named):
            litellm.completion(model="openai/gpt-4o-mini", messages=USER, **on_mock("openai", bases), **kwargs)
    assert mock.seen() == []


def test_unsupported_arguments_are_refused_not_ignored(mock, bases):
    with pytest.raises(litellm.BadRequestError, match="extra_headers"):
        litellm.completion(model="openai/gpt-4o-mini", messages=USER, extra_headers={"x": "y"},
                           **on_mock("openai", bases))


def test_litellms_provider_prefixes_name_switchboards_providers(mock, bases):
    r = litellm.completion(model="together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", messages=USER,
                           **on_mock("openai", bases))
    assert r.choices[0].message.content == "Hello from meta-llama/Llama-3.3-70B-Instruct-Turbo"
    litellm.completion(model="meta-llama/Llama-3.3-70B-Instruct-Turbo", custom_llm_provider="together_ai",
                       messages=USER, **on_mock("openai", bases))
    assert [s.body["model"] for s in mock.seen()] == ["meta-llama/Llama-3.3-70B-Instruct-Turbo"] * 2


def test_drop_params_is_acted_on_and_never_sent(mock, bases, monkeypatch):
    monkeypatch.setattr(litellm, "drop_params", True)
    litellm.completion(model="openai/gpt-4o-mini", messages=USER, **on_mock("openai", bases))
    assert set(mock.seen()[0].body) == {"model", "messages"}
    litellm.completion(model="openai/gpt-4o-mini", messages=USER, additional_drop_params=["seed"], seed=1,
                       **on_mock("openai", bases))
    assert "seed" not in mock.seen()[1].body and "additional_drop_params" not in mock.seen()[1].body


def test_base_urls_come_from_litellms_environment_variables(mock, monkeypatch):
    monkeypatch.setenv("OPENAI_API_BASE", f"{mock.url}/v1")
    monkeypatch.setenv("ANTHROPIC_API_BASE", mock.url)
    monkeypatch.setenv("GEMINI_API_BASE", f"{mock.url}/v1beta")
    for model in MODELS.values():
        assert litellm.completion(model=model, messages=USER, api_key="k").choices[0].message.content
    assert [s.api for s in mock.seen()] == ["openai", "anthropic", "gemini"]


def test_supported_params_are_the_specs_and_the_rest_is_refused_or_dropped(mock, bases):
    openai_params = litellm.get_supported_openai_params("gpt-4o-mini", custom_llm_provider="openai")
    assert {"temperature", "tools", "n", "logprobs"} <= set(openai_params)
    anthropic_params = litellm.get_supported_openai_params("anthropic/claude-3-5-haiku-20241022")
    assert "temperature" in anthropic_params and "logprobs" not in anthropic_params
    assert litellm.utils.get_supported_openai_params("no-such-provider/x") is None
    # What the provider does not carry is refused by name, or dropped when asked.
    with pytest.raises(litellm.BadRequestError, match="logprobs"):
        litellm.completion(model="anthropic/claude-3-5-haiku-20241022", messages=USER, logprobs=True,
                           **on_mock("anthropic", bases))
    assert mock.seen() == []
    litellm.completion(model="anthropic/claude-3-5-haiku-20241022", messages=USER, logprobs=True,
                       drop_params=True, **on_mock("anthropic", bases))
    assert "logprobs" not in mock.seen()[0].body
