"""Switchboard: one OpenAI-shaped API over every LLM provider, with
litellm's calls on a Rust core, in process.

``import switchboard as litellm`` keeps litellm code working::

    import switchboard as litellm

    response = litellm.completion(
        model="anthropic/claude-haiku-4-5",
        messages=[{"role": "user", "content": "Hello!"}],
    )
    print(response.choices[0].message.content)

Providers are data files inside the package (``providers/*.toml`` of the
crate); keys and base URLs come from the same environment variables as
litellm's (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``…), or per call.
"""

from __future__ import annotations

import os as _os
from typing import TYPE_CHECKING, Any, Optional

from . import _bridge, _native
from . import exceptions as exceptions
from .cost import (
    completion_cost,
    cost_per_token,
    get_model_info,
    model_cost,
    register_model,
    token_counter,
)
from .exceptions import BudgetExceededError, SwitchboardError, _from_native
from .main import CustomStreamWrapper, acompletion, aembedding, completion, embedding
from .router import Router
from .types import (
    ChatCompletionChunk,
    ChatCompletionDeltaToolCall,
    ChatCompletionMessageToolCall,
    Choices,
    Delta,
    EmbeddingResponse,
    Function,
    Message,
    ModelResponse,
    ModelResponseStream,
    StreamingChoices,
    Usage,
)
from . import utils as utils

if TYPE_CHECKING:  # Made on first use at run time (see __getattr__ below).
    from .exceptions import (
        APIConnectionError,
        APIError,
        AuthenticationError,
        BadGatewayError,
        BadRequestError,
        ContentPolicyViolationError,
        ContextWindowExceededError,
        InternalServerError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        RejectedRequestError,
        ServiceUnavailableError,
        Timeout,
        UnprocessableEntityError,
    )
from .utils import check_valid_key, get_supported_openai_params, stream_chunk_builder

_native.init(_from_native, _bridge.resolve)
# fork() (multiprocessing, gunicorn, celery): with no call in flight the
# runtime's threads are stopped first; parent and child each start their own
# runtime and connections on their next call.
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(before=_native.before_fork, after_in_child=_native.after_fork)

# litellm's module-level settings, read by every call that does not set its own.
#: Drop OpenAI parameters a provider does not take instead of failing.
drop_params: bool = False
#: Retries of a failing call (None: none, as litellm).
num_retries: Optional[int] = None
#: Seconds a call may take.
request_timeout: Optional[float] = None
#: A key and base URL for every call (else each provider's environment variable).
api_key: Optional[str] = None
api_base: Optional[str] = None
#: litellm's logging switches: accepted; Switchboard logs through ``logging.getLogger("switchboard")``.
set_verbose: bool = False
suppress_debug_info: bool = False

#: The exception classes, made on first use (see :mod:`switchboard.exceptions`).
_EXCEPTIONS = exceptions._LAZY


def __getattr__(name: str) -> Any:
    if name in _EXCEPTIONS:
        return getattr(exceptions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | set(_EXCEPTIONS))


__version__ = "0.1.0"

__all__ = [
    "completion",
    "acompletion",
    "embedding",
    "aembedding",
    "completion_cost",
    "cost_per_token",
    "token_counter",
    "get_model_info",
    "model_cost",
    "register_model",
    "check_valid_key",
    "get_supported_openai_params",
    "stream_chunk_builder",
    "Router",
    "CustomStreamWrapper",
    "ModelResponse",
    "ModelResponseStream",
    "ChatCompletionChunk",
    "EmbeddingResponse",
    "Choices",
    "StreamingChoices",
    "Message",
    "Delta",
    "Function",
    "ChatCompletionMessageToolCall",
    "ChatCompletionDeltaToolCall",
    "Usage",
    "SwitchboardError",
    "BudgetExceededError",
    *exceptions._LAZY,
]
