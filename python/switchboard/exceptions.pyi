"""Type stubs of :mod:`switchboard.exceptions`: the classes are made on
first use (see the module), on openai's bases where openai is installed."""

from typing import Any, Dict, List, Optional

__all__ = [
    "SwitchboardError", "AuthenticationError", "PermissionDeniedError", "NotFoundError", "BadRequestError",
    "UnprocessableEntityError", "ContextWindowExceededError", "ContentPolicyViolationError",
    "RejectedRequestError", "RateLimitError", "ServiceUnavailableError", "BadGatewayError", "InternalServerError", "APIError",
    "APIConnectionError", "Timeout", "BudgetExceededError",
]

class _OpenAIError(Exception): ...
class _APIError(_OpenAIError): ...
class _APIStatusError(_APIError): ...
class _APIConnectionError(_APIError): ...
class _APITimeoutError(_APIConnectionError): ...

class SwitchboardError:
    default_status: int
    status_code: int
    message: str
    llm_provider: Optional[str]
    model: Optional[str]
    retry_after: Optional[float]
    code: Optional[str]
    attempts: List[Dict[str, Any]]
    response: Any
    request: Any
    body: Any
    litellm_debug_info: Optional[str]
    max_retries: Optional[int]
    num_retries: Optional[int]

class AuthenticationError(SwitchboardError, _APIStatusError):
    def __init__(self, message: str, llm_provider: Optional[str] = ..., model: Optional[str] = ...,
                 response: Any = ..., litellm_debug_info: Optional[str] = ...,
                 max_retries: Optional[int] = ..., num_retries: Optional[int] = ...) -> None: ...

class PermissionDeniedError(SwitchboardError, _APIStatusError):
    def __init__(self, message: str, llm_provider: Optional[str] = ..., model: Optional[str] = ...,
                 response: Any = ..., litellm_debug_info: Optional[str] = ...,
                 max_retries: Optional[int] = ..., num_retries: Optional[int] = ...) -> None: ...

class NotFoundError(SwitchboardError, _APIStatusError):
    def __init__(self, message: str, model: Optional[str] = ..., llm_provider: Optional[str] = ...,
                 response: Any = ..., litellm_debug_info: Optional[str] = ...,
                 max_retries: Optional[int] = ..., num_retries: Optional[int] = ...) -> None: ...

class BadRequestError(SwitchboardError, _APIStatusError):
    def __init__(self, message: str, model: Optional[str] = ..., llm_provider: Optional[str] = ...,
                 response: Any = ..., litellm_debug_info: Optional[str] = ...,
                 max_retries: Optional[int] = ..., num_retries: Optional[int] = ...,
                 body: Any = ...) -> None: ...

class UnprocessableEntityError(SwitchboardError, _APIStatusError):
    def __init__(self, message: str, model: Optional[str] = ..., llm_provider: Optional[str] = ...,
                 response: Any = ..., litellm_debug_info: Optional[str] = ...,
                 max_retries: Optional[int] = ..., num_retries: Optional[int] = ...) -> None: ...

class ContextWindowExceededError(BadRequestError): ...
class ContentPolicyViolationError(BadRequestError): ...
class RejectedRequestError(BadRequestError): ...

class RateLimitError(SwitchboardError, _APIStatusError):
    def __init__(self, message: str, llm_provider: Optional[str] = ..., model: Optional[str] = ...,
                 response: Any = ..., litellm_debug_info: Optional[str] = ...,
                 max_retries: Optional[int] = ..., num_retries: Optional[int] = ...) -> None: ...

class ServiceUnavailableError(SwitchboardError, _APIStatusError):
    def __init__(self, message: str, llm_provider: Optional[str] = ..., model: Optional[str] = ...,
                 response: Any = ..., litellm_debug_info: Optional[str] = ...,
                 max_retries: Optional[int] = ..., num_retries: Optional[int] = ...) -> None: ...

class BadGatewayError(SwitchboardError, _APIStatusError):
    def __init__(self, message: str, llm_provider: Optional[str] = ..., model: Optional[str] = ...,
                 response: Any = ..., litellm_debug_info: Optional[str] = ...,
                 max_retries: Optional[int] = ..., num_retries: Optional[int] = ...) -> None: ...

class InternalServerError(SwitchboardError, _APIStatusError):
    def __init__(self, message: str, llm_provider: Optional[str] = ..., model: Optional[str] = ...,
                 response: Any = ..., litellm_debug_info: Optional[str] = ...,
                 max_retries: Optional[int] = ..., num_retries: Optional[int] = ...) -> None: ...

class APIError(SwitchboardError, _APIError):
    def __init__(self, status_code: int, message: str, llm_provider: Optional[str] = ...,
                 model: Optional[str] = ..., request: Any = ..., litellm_debug_info: Optional[str] = ...,
                 max_retries: Optional[int] = ..., num_retries: Optional[int] = ...) -> None: ...

class APIConnectionError(SwitchboardError, _APIConnectionError):
    def __init__(self, message: str, llm_provider: Optional[str] = ..., model: Optional[str] = ...,
                 request: Any = ..., litellm_debug_info: Optional[str] = ...,
                 max_retries: Optional[int] = ..., num_retries: Optional[int] = ...) -> None: ...

class Timeout(SwitchboardError, _APITimeoutError):
    def __init__(self, message: str, model: Optional[str] = ..., llm_provider: Optional[str] = ...,
                 litellm_debug_info: Optional[str] = ..., max_retries: Optional[int] = ...,
                 num_retries: Optional[int] = ...) -> None: ...

class BudgetExceededError(Exception):
    current_cost: float
    max_budget: float
    def __init__(self, current_cost: float, max_budget: float) -> None: ...

def _classes() -> Dict[str, Any]: ...
def _from_native(error_json: str) -> BaseException: ...

_LAZY: tuple
