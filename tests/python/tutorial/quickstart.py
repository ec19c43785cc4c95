# Getting started, in the style of litellm's docs: one call shape for every
# provider, streaming, exceptions, cost. Written for litellm; the one line
# changed is the import.
#
# Set your keys first (and, to use a gateway or a local server, the base URLs):
#   export OPENAI_API_KEY=…  ANTHROPIC_API_KEY=…  GEMINI_API_KEY=…
#   export OPENAI_API_BASE=…  ANTHROPIC_API_BASE=…  GEMINI_API_BASE=…   (optional)
import switchboard as litellm

messages = [{"content": "Hello, how are you?", "role": "user"}]

# openai call
response = litellm.completion(model="openai/gpt-4o", messages=messages)
print(response.choices[0].message.content)

# anthropic call (an older model name, as tutorials still write it)
response = litellm.completion(model="claude-3-haiku-20240307", messages=messages)
print(response["choices"][0]["message"]["content"])

# gemini call
response = litellm.completion(model="gemini/gemini-1.5-flash", messages=messages)
print(response.choices[0].message.content)

# streaming: chunks with a delta
response = litellm.completion(model="openai/gpt-4o", messages=messages, stream=True)
for part in response:
    print(part.choices[0].delta.content or "", end="")
print()

# exceptions map to OpenAI's exception types
try:
    litellm.completion(model="anthropic/claude-3-5-sonnet-20241022", messages=messages, api_key="bad-key")
except litellm.AuthenticationError as e:
    print(f"AuthenticationError from {e.llm_provider}: status {e.status_code}")

# cost of a call
response = litellm.completion(model="openai/gpt-4o", messages=messages)
cost = litellm.completion_cost(completion_response=response)
print(f"cost: ${cost:.8f}")
