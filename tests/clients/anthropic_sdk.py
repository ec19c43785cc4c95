"""The official `anthropic` Python SDK against Switchboard's /v1/messages.

Run by tests/it/server_messages.rs as `anthropic_sdk.py BASE_URL KEY`
against a server with these groups, each an OpenAI-shaped mock:
  gpt         answers "Hello from the mock" (9 input, 4 output tokens)
  gpt-stream  streams "Let me look." then a get_weather tool call
  limited     answers 429
and each an Anthropic-shaped mock (the body passes through):
  claude         answers thinking + "Hi!" (stop_sequence END)
  claude-stream  streams "Hello"
Prints "all checks passed" when every check holds.
"""

import sys

import anthropic

base, key = sys.argv[1], sys.argv[2]
client = anthropic.Anthropic(base_url=base, api_key=key, max_retries=0)

# messages.create
msg = client.messages.create(
    model="gpt", max_tokens=64, system="Be brief.",
    messages=[{"role": "user", "content": "Hi"}],
)
assert isinstance(msg, anthropic.types.Message), type(msg)
assert msg.content[0].type == "text" and msg.content[0].text == "Hello from the mock", msg
assert msg.stop_reason == "end_turn", msg.stop_reason
assert msg.usage.input_tokens == 9 and msg.usage.output_tokens == 4, msg.usage

# Bearer auth (what ANTHROPIC_AUTH_TOKEN sends) works the same.
bearer = anthropic.Anthropic(base_url=base, auth_token=key, max_retries=0)
assert bearer.messages.create(
    model="gpt", max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
).content[0].text == "Hello from the mock"

# messages.stream: text then a tool call, accumulated by the SDK.
tools = [{"name": "get_weather", "description": "Weather by city",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
texts = []
with client.messages.stream(
    model="gpt-stream", max_tokens=64, tools=tools,
    messages=[{"role": "user", "content": "Weather in Paris?"}],
) as stream:
    for text in stream.text_stream:
        texts.append(text)
    final = stream.get_final_message()
assert "".join(texts) == "Let me look.", texts
assert [b.type for b in final.content] == ["text", "tool_use"], final.content
call = final.content[1]
assert call.name == "get_weather" and call.input == {"city": "Paris"}, call
assert final.stop_reason == "tool_use", final.stop_reason
assert final.usage.output_tokens == 9, final.usage

# The tool_result follow-up.
follow = client.messages.create(
    model="gpt", max_tokens=64, tools=tools,
    messages=[
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": [c.model_dump() for c in final.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "18C"}]},
    ],
)
assert follow.content[0].text == "Hello from the mock", follow

# count_tokens
count = client.messages.count_tokens(model="gpt", messages=[{"role": "user", "content": "Hello there"}])
assert count.input_tokens > 0, count
# An Anthropic backend counts with its own count_tokens API.
raw = client.messages.with_raw_response.count_tokens(
    model="claude-count",
    system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
    messages=[{"role": "user", "content": "Hello there"}],
)
assert raw.headers.get("x-switchboard-token-count") == "provider", raw.headers
assert raw.parse().input_tokens == 4242, raw.parse()

# An Anthropic backend: the provider's own answer, thinking signature and all.
own = client.messages.create(model="claude", max_tokens=64, messages=[{"role": "user", "content": "Hi"}])
assert [b.type for b in own.content] == ["thinking", "text"], own.content
assert own.content[0].signature == "EqQBCgIYAhIM", own.content[0]
assert own.stop_reason == "stop_sequence" and own.stop_sequence == "END", own
assert own.usage.cache_read_input_tokens == 100, own.usage
with client.messages.stream(model="claude-stream", max_tokens=64,
                            messages=[{"role": "user", "content": "Hi"}]) as stream:
    streamed = stream.get_final_message()
assert streamed.content[0].text == "Hello" and streamed.stop_reason == "end_turn", streamed
assert streamed.usage.output_tokens == 6, streamed.usage

# The SDK's own exception classes, raised from Anthropic's error shape.
def raises(cls, model, **options):
    try:
        client.with_options(**options).messages.create(
            model=model, max_tokens=8, messages=[{"role": "user", "content": "Hi"}])
    except cls as e:
        assert isinstance(e.body, dict) and e.body.get("type") == "error", e.body
        return
    raise AssertionError(f"{cls.__name__} not raised")


raises(anthropic.AuthenticationError, "gpt", api_key="sk-wrong")
raises(anthropic.NotFoundError, "no-such-group")
raises(anthropic.RateLimitError, "limited")

print("all checks passed")
