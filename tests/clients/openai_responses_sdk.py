"""The official `openai` Python SDK's Responses API against Switchboard's /v1/responses.

Run by tests/it/server_responses.rs as `openai_responses_sdk.py BASE_URL KEY`
(BASE_URL ends in /v1) against a server with these groups, each an
OpenAI-chat-shaped mock:
  gpt         answers "Hello from the mock" (9 input, 4 output tokens)
  gpt-stream  streams "Let me look." then a get_weather call (call_1, {"city":"Paris"})
  limited     answers 429
and an Anthropic-shaped mock:
  claude      answers thinking (signature EqQBCgIYAhIM), "Looking it up." and a
              get_weather tool_use (toolu_01, {"city":"Oslo"})
  claude-count  answers Anthropic's count_tokens with 4242 input tokens
Prints "all checks passed" when every check holds.
"""

import sys

import openai
from openai.types.responses import Response

base, key = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=base, api_key=key, max_retries=0)

tools = [{
    "type": "function", "name": "get_weather", "description": "Weather by city", "strict": True,
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"], "additionalProperties": False},
}]

# Text, with instructions, max_output_tokens, reasoning effort and a JSON schema format.
r = client.responses.create(
    model="gpt", instructions="Be brief.", input="Hi",
    max_output_tokens=64, reasoning={"effort": "low"}, temperature=0.2,
    text={"format": {"type": "json_schema", "name": "greeting", "strict": True,
                     "schema": {"type": "object", "properties": {"g": {"type": "string"}},
                                "required": ["g"], "additionalProperties": False}}},
)
assert isinstance(r, Response), type(r)
assert r.id.startswith("resp_") and r.object == "response", r
assert r.status == "completed", r.status
assert r.output_text == "Hello from the mock", r.output_text
assert r.output[0].type == "message" and r.output[0].role == "assistant", r.output
assert r.usage.input_tokens == 9 and r.usage.output_tokens == 4 and r.usage.total_tokens == 13, r.usage
assert r.usage.input_tokens_details.cached_tokens == 0, r.usage
assert r.usage.output_tokens_details.reasoning_tokens == 0, r.usage

# input_tokens: counted locally for an OpenAI group, by Anthropic's own count API for claude-count.
n = client.responses.input_tokens.count(model="gpt", instructions="Be brief.", input="Hello there")
assert n.object == "response.input_tokens" and n.input_tokens > 0, n
n = client.responses.input_tokens.count(model="claude-count", input="Hello there", tools=tools)
assert n.input_tokens == 4242, n

# A list of input items, message shape without `type`.
r = client.responses.create(model="gpt", input=[
    {"role": "developer", "content": "Be brief."},
    {"role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
])
assert r.output_text == "Hello from the mock", r

# stream=True: the SDK's typed events, in order, with sequence numbers.
events = list(client.responses.create(model="gpt-stream", input="Weather in Paris?",
                                      tools=tools, stream=True))
types = [e.type for e in events]
assert types[:4] == ["response.created", "response.in_progress",
                     "response.output_item.added", "response.content_part.added"], types
assert types[-1] == "response.completed", types
assert [e.sequence_number for e in events] == list(range(len(events))), events
text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
assert text == "Let me look.", text
args = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
assert args == '{"city":"Paris"}', args
done = [e for e in events if e.type == "response.function_call_arguments.done"]
assert len(done) == 1 and done[0].arguments == args, done
final = events[-1].response
assert isinstance(final, Response), type(final)
assert final.output_text == "Let me look.", final.output_text
call = final.output[1]
assert call.type == "function_call" and call.name == "get_weather" and call.call_id == "call_1", call
assert final.usage.input_tokens == 20 and final.usage.output_tokens == 9, final.usage

# The streaming helper accumulates the same response.
with client.responses.stream(model="gpt-stream", input="Weather in Paris?", tools=tools) as s:
    for _ in s:
        pass
    helper = s.get_final_response()
assert helper.output_text == "Let me look.", helper
assert helper.output[1].arguments == '{"city":"Paris"}', helper.output

# The function_call_output follow-up: the previous output items, then the result.
follow = client.responses.create(
    model="gpt", tools=tools,
    input=[{"role": "user", "content": "Weather in Paris?"}]
    + [item.model_dump(exclude_none=True) for item in final.output]
    + [{"type": "function_call_output", "call_id": call.call_id, "output": "18C"}],
)
assert follow.output_text == "Hello from the mock", follow

# An Anthropic backend: reasoning, text and a function call as output items.
own = client.responses.create(model="claude", input="Weather in Oslo?", tools=tools,
                              max_output_tokens=256)
assert [i.type for i in own.output] == ["reasoning", "message", "function_call"], own.output
assert own.output[0].encrypted_content == "EqQBCgIYAhIM", own.output[0]
assert own.output_text == "Looking it up.", own.output_text
assert own.output[2].call_id == "toolu_01" and own.output[2].arguments == '{"city":"Oslo"}', own.output[2]
assert own.usage.input_tokens == 107 and own.usage.input_tokens_details.cached_tokens == 100, own.usage


# The SDK's own exception classes, raised from OpenAI's error shape.
def raises(cls, model, c=client, **kwargs):
    try:
        c.responses.create(model=model, input="Hi", **kwargs)
    except cls as e:
        assert isinstance(e.body, dict) and isinstance(e.body.get("message"), str), e.body
        return e
    raise AssertionError(f"{cls.__name__} not raised")


raises(openai.NotFoundError, "no-such-group")
raises(openai.RateLimitError, "limited")
e = raises(openai.BadRequestError, "gpt", previous_response_id="resp_123")
assert e.param == "previous_response_id" and "not store" in e.message, (e.param, e.message)
# Its own client: the proxy refuses a wrong key before reading the body.
wrong = openai.OpenAI(base_url=base, api_key="sk-wrong", max_retries=0)
raises(openai.AuthenticationError, "gpt", c=wrong)

print("all checks passed")
