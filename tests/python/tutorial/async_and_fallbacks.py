# Async calls and reliability, in the style of litellm's docs: acompletion,
# many calls at once, async streaming, retries and fallbacks. Written for
# litellm; the one line changed is the import.
#
#   export OPENAI_API_KEY=…  ANTHROPIC_API_KEY=…   (and *_API_BASE to use a gateway)
import asyncio

import switchboard as litellm

messages = [{"content": "Hello, how are you?", "role": "user"}]


async def test_get_response():
    response = await litellm.acompletion(model="openai/gpt-4o-mini", messages=messages)
    return response


async def many():
    calls = [litellm.acompletion(model="openai/gpt-4o-mini", messages=messages) for _ in range(10)]
    return await asyncio.gather(*calls)


async def stream():
    response = await litellm.acompletion(model="anthropic/claude-3-5-haiku-20241022", messages=messages, stream=True)
    async for chunk in response:
        print(chunk.choices[0].delta.content or "", end="")
    print()


response = asyncio.run(test_get_response())
print(response.choices[0].message.content)
print(f"{len(asyncio.run(many()))} answers")
asyncio.run(stream())

# retries: try a rate-limited call again
response = litellm.completion(model="openai/gpt-4o-mini", messages=messages, num_retries=2)
print(response.choices[0].message.content)

# fallbacks: when gpt-4o fails, try the next model
response = litellm.completion(model="openai/gpt-4o", messages=messages,
                              fallbacks=["anthropic/claude-3-5-haiku-20241022"])
print(f"fallback answered: {response.choices[0].message.content}")

# context window fallbacks: a larger model when the prompt does not fit
response = litellm.completion(model="openai/gpt-3.5-turbo", messages=messages,
                              context_window_fallbacks=[{"openai/gpt-3.5-turbo": ["openai/gpt-4o-mini"]}])
print(f"context window fallback answered: {response.choices[0].message.content}")
