"""litellm's exception classes, raised for every failure.

Each carries ``status_code``, ``llm_provider``, ``model`` and ``message``
(and ``retry_after``, the provider's ``code``, and every ``attempts`` a
routed call made). Where the ``openai`` package is installed, each class
subclasses its openai counterpart as litellm's do, so ``except
openai.RateLimitError`` catches :class:`RateLimitError`; without it, the
same hierarchy stands on local base classes, and the package imports all
the same.

The classes are made on first use (the first failure, or the first time a
name is read here), because importing ``openai`` takes most of a second:
``import switchboard`` alone never pays it.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Type

class _OpenAIError(Exception):
    """Stands for ``openai.OpenAIError`` when openai is not installed."""


class _APIError(_OpenAIError):
    pass


class _APIStatusError(_APIError):
    pass


class _APIConnectionError(_APIError):
    pass


class _APITimeoutError(_APIConnectionError):
    pass


class _BadRequestError(_APIStatusError):
    pass


class _AuthenticationError(_APIStatusError):
    pass


class _PermissionDeniedError(_APIStatusError):
    pass


class _NotFoundError(_APIStatusError):
    pass


class _UnprocessableEntityError(_APIStatusError):
    pass


class _RateLimitError(_APIStatusError):
    pass


class _InternalServerError(_APIStatusError):
    pass


class SwitchboardError:
    """What every exception of this package also is (a mixin: catch it with
    ``except switchboard.exceptions.SwitchboardError``)."""

    #: The status this kind of failure has when the provider gave none.
    default_status: int = 500
    status_code: int
    message: str
    llm_provider: Optional[str]
    model: Optional[str]
    #: Seconds the provider asked to wait, when it said.
    retry_after: Optional[float]
    #: The provider's own error code or type, when its body named one.
    code: Optional[str]
    #: A routed call's attempts: ``{"deployment", "model", "kind", "status", "ms"}`` each.
    attempts: List[Dict[str, Any]]

    def _setup(
        self,
        message: str,
        llm_provider: Optional[str],
        model: Optional[str],
        response: Any = None,
        litellm_debug_info: Optional[str] = None,
        max_retries: Optional[int] = None,
        num_retries: Optional[int] = None,
        status_code: Optional[int] = None,
    ) -> None:
        # openai's own __init__ wants its HTTP library's request and response
        # objects (which vary by version): the attributes are set here instead.
        Exception.__init__(self, message)
        self.message = message
        self.llm_provider = llm_provider
        self.model = model
        self.status_code = status_code if status_code is not None else self.default_status
        self.litellm_debug_info = litellm_debug_info
        self.max_retries = max_retries
        self.num_retries = num_retries
        self.retry_after = None
        self.code = None
        self.attempts = []
        self.response = response
        self.request = getattr(response, "request", None)
        self.body = None
        self.param = None
        self.type = None
        self.request_id = None

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def __reduce__(self) -> Any:
        # Picklable (multiprocessing): rebuilt from the message and who failed.
        return (_rebuild, (type(self), self.message, self.llm_provider, self.model, self.status_code))


def _rebuild(cls: Any, message: str, llm_provider: Any, model: Any, status: int) -> Any:
    e = cls.__new__(cls)
    SwitchboardError._setup(e, message, llm_provider, model, status_code=status)
    return e


def _build() -> Dict[str, type]:
    """Every class, on openai's bases where openai is installed."""
    try:
        import openai
    except Exception:
        openai = None  # type: ignore[assignment]

    def _base(name: str, local: Type[Exception]) -> Type[Exception]:
        found = getattr(openai, name, None) if openai is not None else None
        return found if isinstance(found, type) and issubclass(found, Exception) else local

    class AuthenticationError(SwitchboardError, _base("AuthenticationError", _AuthenticationError)):  # type: ignore[misc]
        default_status = 401

        def __init__(self, message: str, llm_provider: Optional[str] = None, model: Optional[str] = None,
                     response: Any = None, litellm_debug_info: Optional[str] = None,
                     max_retries: Optional[int] = None, num_retries: Optional[int] = None) -> None:
            self._setup(message, llm_provider, model, response, litellm_debug_info, max_retries, num_retries)


    class PermissionDeniedError(SwitchboardError, _base("PermissionDeniedError", _PermissionDeniedError)):  # type: ignore[misc]
        default_status = 403

        def __init__(self, message: str, llm_provider: Optional[str] = None, model: Optional[str] = None,
                     response: Any = None, litellm_debug_info: Optional[str] = None,
                     max_retries: Optional[int] = None, num_retries: Optional[int] = None) -> None:
            self._setup(message, llm_provider, model, response, litellm_debug_info, max_retries, num_retries)


    class NotFoundError(SwitchboardError, _base("NotFoundError", _NotFoundError)):  # type: ignore[misc]
        default_status = 404

        def __init__(self, message: str, model: Optional[str] = None, llm_provider: Optional[str] = None,
                     response: Any = None, litellm_debug_info: Optional[str] = None,
                     max_retries: Optional[int] = None, num_retries: Optional[int] = None) -> None:
            self._setup(message, llm_provider, model, response, litellm_debug_info, max_retries, num_retries)


    class BadRequestError(SwitchboardError, _base("BadRequestError", _BadRequestError)):  # type: ignore[misc]
        default_status = 400

        def __init__(self, message: str, model: Optional[str] = None, llm_provider: Optional[str] = None,
                     response: Any = None, litellm_debug_info: Optional[str] = None,
                     max_retries: Optional[int] = None, num_retries: Optional[int] = None,
                     body: Any = None) -> None:
            self._setup(message, llm_provider, model, response, litellm_debug_info, max_retries, num_retries)
            self.body = body


    class UnprocessableEntityError(SwitchboardError, _base("UnprocessableEntityError", _UnprocessableEntityError)):  # type: ignore[misc]
        default_status = 422

        def __init__(self, message: str, model: Optional[str] = None, llm_provider: Optional[str] = None,
                     response: Any = None, litellm_debug_info: Optional[str] = None,
                     max_retries: Optional[int] = None, num_retries: Optional[int] = None) -> None:
            self._setup(message, llm_provider, model, response, litellm_debug_info, max_retries, num_retries)


    class ContextWindowExceededError(BadRequestError):
        """The prompt does not fit the model's context window (a 400)."""


    class ContentPolicyViolationError(BadRequestError):
        """The provider refused the content (a 400)."""


    class RejectedRequestError(BadRequestError):
        pass


    class RateLimitError(SwitchboardError, _base("RateLimitError", _RateLimitError)):  # type: ignore[misc]
        default_status = 429

        def __init__(self, message: str, llm_provider: Optional[str] = None, model: Optional[str] = None,
                     response: Any = None, litellm_debug_info: Optional[str] = None,
                     max_retries: Optional[int] = None, num_retries: Optional[int] = None) -> None:
            self._setup(message, llm_provider, model, response, litellm_debug_info, max_retries, num_retries)


    class ServiceUnavailableError(SwitchboardError, _base("APIStatusError", _APIStatusError)):  # type: ignore[misc]
        default_status = 503

        def __init__(self, message: str, llm_provider: Optional[str] = None, model: Optional[str] = None,
                     response: Any = None, litellm_debug_info: Optional[str] = None,
                     max_retries: Optional[int] = None, num_retries: Optional[int] = None) -> None:
            self._setup(message, llm_provider, model, response, litellm_debug_info, max_retries, num_retries)


    class BadGatewayError(SwitchboardError, _base("APIStatusError", _APIStatusError)):  # type: ignore[misc]
        default_status = 502

        def __init__(self, message: str, llm_provider: Optional[str] = None, model: Optional[str] = None,
                     response: Any = None, litellm_debug_info: Optional[str] = None,
                     max_retries: Optional[int] = None, num_retries: Optional[int] = None) -> None:
            self._setup(message, llm_provider, model, response, litellm_debug_info, max_retries, num_retries)

    class InternalServerError(SwitchboardError, _base("InternalServerError", _InternalServerError)):  # type: ignore[misc]
        default_status = 500

        def __init__(self, message: str, llm_provider: Optional[str] = None, model: Optional[str] = None,
                     response: Any = None, litellm_debug_info: Optional[str] = None,
                     max_retries: Optional[int] = None, num_retries: Optional[int] = None) -> None:
            self._setup(message, llm_provider, model, response, litellm_debug_info, max_retries, num_retries)


    class APIError(SwitchboardError, _base("APIError", _APIError)):  # type: ignore[misc]
        default_status = 500

        def __init__(self, status_code: int, message: str, llm_provider: Optional[str] = None,
                     model: Optional[str] = None, request: Any = None,
                     litellm_debug_info: Optional[str] = None, max_retries: Optional[int] = None,
                     num_retries: Optional[int] = None) -> None:
            self._setup(message, llm_provider, model, None, litellm_debug_info, max_retries, num_retries,
                        status_code=status_code)
            self.request = request


    class APIConnectionError(SwitchboardError, _base("APIConnectionError", _APIConnectionError)):  # type: ignore[misc]
        default_status = 500

        def __init__(self, message: str, llm_provider: Optional[str] = None, model: Optional[str] = None,
                     request: Any = None, litellm_debug_info: Optional[str] = None,
                     max_retries: Optional[int] = None, num_retries: Optional[int] = None) -> None:
            self._setup(message, llm_provider, model, None, litellm_debug_info, max_retries, num_retries)
            self.request = request


    class Timeout(SwitchboardError, _base("APITimeoutError", _APITimeoutError)):  # type: ignore[misc]
        default_status = 408

        def __init__(self, message: str, model: Optional[str] = None, llm_provider: Optional[str] = None,
                     litellm_debug_info: Optional[str] = None, max_retries: Optional[int] = None,
                     num_retries: Optional[int] = None) -> None:
            self._setup(message, llm_provider, model, None, litellm_debug_info, max_retries, num_retries)


    made = {cls.__name__: cls for cls in (
        AuthenticationError, PermissionDeniedError, NotFoundError, BadRequestError,
        UnprocessableEntityError, ContextWindowExceededError, ContentPolicyViolationError,
        RejectedRequestError, RateLimitError, ServiceUnavailableError, BadGatewayError,
        InternalServerError, APIError, APIConnectionError, Timeout,
    )}
    for name, cls in made.items():
        cls.__module__ = __name__
        cls.__qualname__ = name
    made["_openai"] = openai  # type: ignore[assignment]
    return made


_made: Optional[Dict[str, Any]] = None


def _classes() -> Dict[str, Any]:
    global _made
    if _made is None:
        _made = _build()
    return _made


#: The classes made on first use.
_LAZY = (
    "AuthenticationError", "PermissionDeniedError", "NotFoundError", "BadRequestError",
    "UnprocessableEntityError", "ContextWindowExceededError", "ContentPolicyViolationError",
    "RejectedRequestError", "RateLimitError", "ServiceUnavailableError", "BadGatewayError",
    "InternalServerError", "APIError", "APIConnectionError", "Timeout",
)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return _classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class BudgetExceededError(Exception):
    def __init__(self, current_cost: float, max_budget: float) -> None:
        self.current_cost = current_cost
        self.max_budget = max_budget
        super().__init__(f"Budget has been exceeded! Current cost: {current_cost}, Max budget: {max_budget}")


#: The class each of Switchboard's error kinds raises as.
_BY_KIND: Dict[str, str] = {
    "authentication": "AuthenticationError",
    "permission_denied": "PermissionDeniedError",
    "not_found": "NotFoundError",
    "rate_limit": "RateLimitError",
    "context_window_exceeded": "ContextWindowExceededError",
    "content_policy": "ContentPolicyViolationError",
    "bad_request": "BadRequestError",
    "timeout": "Timeout",
    "connection": "APIConnectionError",
    "service_unavailable": "ServiceUnavailableError",
    "internal": "InternalServerError",
}


def _from_native(error_json: str) -> BaseException:
    """The exception for a native error (its OpenAI error JSON: kind,
    message, status, provider, model, retry_after, code, attempts)."""
    err = json.loads(error_json).get("error", {})
    made = _classes()
    name = _BY_KIND.get(err.get("kind"), "APIError")
    if name == "ServiceUnavailableError" and err.get("status") == 502:
        name = "BadGatewayError"  # as litellm raises a provider's 502
    cls = made[name]
    e = cls.__new__(cls)
    status = err.get("status")
    SwitchboardError._setup(e, err.get("message", ""), err.get("provider"), err.get("model"),
                            status_code=status if isinstance(status, int) else None)
    e.retry_after = err.get("retry_after")
    e.code = err.get("code")
    e.type = err.get("type")
    e.attempts = err.get("attempts") or []
    if made["_openai"] is not None:
        e.response, e.request = _http_objects(made["_openai"], e.status_code, e.retry_after)
    return e


def _http_objects(openai: Any, status: int, retry_after: Optional[float]) -> Any:
    """A response and request in openai's own HTTP library, for code that
    reads ``e.response.status_code`` or its headers; (None, None) when that
    library cannot be found."""
    try:
        module = getattr(openai, "_exceptions", None)
        http = getattr(module, "httpx2", None) or getattr(module, "httpx", None)
        request = http.Request("POST", "http://switchboard.invalid/")
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        return http.Response(status, request=request, headers=headers), request
    except Exception:
        return None, None


__all__ = [
    "SwitchboardError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "BadRequestError",
    "UnprocessableEntityError",
    "ContextWindowExceededError",
    "ContentPolicyViolationError",
    "RejectedRequestError",
    "RateLimitError",
    "ServiceUnavailableError",
    "BadGatewayError",
    "InternalServerError",
    "APIError",
    "APIConnectionError",
    "Timeout",
    "BudgetExceededError",
]
