# The Router and cost tracking, in the style of litellm's docs: one model
# name over several deployments, a routing strategy, fallbacks between
# groups; prices and token counts. Written for litellm; the one line changed
# is the import.
#
#   export OPENAI_API_KEY=…  OPENAI_API_BASE=…  ANTHROPIC_API_KEY=…  ANTHROPIC_API_BASE=…
import asyncio

import switchboard as litellm

model_list = [
    {
        "model_name": "gpt-4o-mini",  # the name callers use
        "litellm_params": {
            "model": "openai/gpt-4o-mini",
            "api_key": "os.environ/OPENAI_API_KEY",
            "api_base": "os.environ/OPENAI_API_BASE",
            "rpm": 100,
        },
    },
    {
        "model_name": "gpt-4o-mini",
        "litellm_params": {
            "model": "openai/gpt-4o-mini-2024-07-18",
            "api_key": "os.environ/OPENAI_API_KEY",
            "api_base": "os.environ/OPENAI_API_BASE",
            "rpm": 100,
        },
    },
    {
        "model_name": "claude",
        "litellm_params": {
            "model": "anthropic/claude-3-5-haiku-20241022",
            "api_key": "os.environ/ANTHROPIC_API_KEY",
            "api_base": "os.environ/ANTHROPIC_API_BASE",
        },
    },
]

router = litellm.Router(
    model_list=model_list,
    routing_strategy="usage-based-routing-v2",
    num_retries=2,
    fallbacks=[{"gpt-4o-mini": ["claude"]}],
)

messages = [{"role": "user", "content": "Hey, how's it going?"}]
response = router.completion(model="gpt-4o-mini", messages=messages)
print(response.choices[0].message.content)


async def router_acompletion():
    response = await router.acompletion(model="claude", messages=messages)
    return response


print(asyncio.run(router_acompletion()).choices[0].message.content)

# cost: per token, per call, and the catalog
prompt_cost, completion_cost = litellm.cost_per_token(model="gpt-4o-mini", prompt_tokens=1000, completion_tokens=500)
print(f"1000 prompt + 500 completion tokens on gpt-4o-mini: ${prompt_cost + completion_cost:.6f}")
print(f"this call: ${litellm.completion_cost(completion_response=response):.8f}")
print(f"tokens in the prompt: {litellm.token_counter(model='gpt-4o-mini', messages=messages)}")
info = litellm.get_model_info("claude-3-5-haiku-20241022")
print(f"claude-3-5-haiku context window: {info['max_input_tokens']}")
litellm.register_model({"my-custom-model": {"litellm_provider": "openai", "input_cost_per_token": 2e-6,
                                            "output_cost_per_token": 4e-6, "max_tokens": 4096}})
print(f"registered: {litellm.get_model_info('openai/my-custom-model')['input_cost_per_token']}")
