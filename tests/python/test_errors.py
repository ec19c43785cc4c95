"""Failures raise litellm's exception classes — and, with the openai
package installed, openai's too — carrying status, provider, model and
the provider's message; the package imports without openai."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import pytest

import switchboard as litellm
from conftest import MODELS, USER, on_mock, provider_model

#: status the mock answers -> litellm's class (and openai's) -> status_code.
CASES = [
    (400, "BadRequestError", "BadRequestError"),
    (401, "AuthenticationError", "AuthenticationError"),
    (403, "PermissionDeniedError", "PermissionDeniedError"),
    (404, "NotFoundError", "NotFoundError"),
    (429, "RateLimitError", "RateLimitError"),
    (500, "InternalServerError", "InternalServerError"),
    (502, "BadGatewayError", "APIStatusError"),
    (503, "ServiceUnavailableError", "APIStatusError"),
]


@pytest.mark.parametrize("status,ours,theirs", CASES)
def test_each_status_raises_litellms_class_with_its_facts(mock, bases, api, status, ours, theirs):
    if api == "anthropic" and status == 503:
        status = 529  # Anthropic's "overloaded_error"
    if api == "anthropic" and status == 502:
        pytest.skip("Anthropic documents no 502")
    mock.on(provider_model(api), status=status, message=f"upstream says {status}")
    with pytest.raises(getattr(litellm, ours)) as caught:
        litellm.completion(model=MODELS[api], messages=USER, **on_mock(api, bases))
    e = caught.value
    assert type(e).__name__ == ours
    assert e.status_code == status
    assert e.llm_provider == api
    assert e.model == provider_model(api)
    assert f"upstream says {status}" in e.message and str(e) == e.message
    assert isinstance(e, litellm.exceptions.SwitchboardError)
    openai = pytest.importorskip("openai")
    assert isinstance(e, getattr(openai, theirs))
    assert isinstance(e, openai.APIError)


def test_context_window_and_content_policy_have_their_own_classes():
    with pytest.raises(litellm.ContextWindowExceededError) as e:
        litellm.completion(model="gpt-4o", messages=USER, mock_response="litellm.ContextWindowExceededError")
    assert isinstance(e.value, litellm.BadRequestError) and e.value.status_code == 400
    with pytest.raises(litellm.ContentPolicyViolationError):
        litellm.completion(model="gpt-4o", messages=USER, mock_response="litellm.ContentPolicyViolationError")


def test_openai_code_catches_them(mock, bases):
    openai = pytest.importorskip("openai")
    mock.on("gpt-4o-mini", status=429, message="too many", retry_after="7")
    try:
        litellm.completion(model="openai/gpt-4o-mini", messages=USER, **on_mock("openai", bases))
    except openai.RateLimitError as e:
        assert e.status_code == 429
        assert e.retry_after == 7
        assert e.response.status_code == 429
    else:
        pytest.fail("no exception")


def test_a_timeout_is_litellms_timeout_and_openais(mock, bases):
    mock.on("gpt-4o-mini", delay=3)
    with pytest.raises(litellm.Timeout) as e:
        litellm.completion(model="openai/gpt-4o-mini", messages=USER, timeout=0.3, **on_mock("openai", bases))
    assert e.value.status_code in (408, 504)
    openai = pytest.importorskip("openai")
    assert isinstance(e.value, openai.APITimeoutError)


def test_an_unreachable_provider_is_a_connection_error():
    with pytest.raises(litellm.APIConnectionError) as e:
        # Port 9 on loopback: nothing listens.
        litellm.completion(model="openai/gpt-4o-mini", messages=USER, api_key="k",
                           api_base="http://127.0.0.1:9/v1")
    assert e.value.llm_provider == "openai"


def test_no_key_appears_in_an_error(mock, bases):
    mock.on("gpt-4o-mini", status=401, message="Incorrect API key provided: sk-secret-1234567890abcdef")
    with pytest.raises(litellm.AuthenticationError) as e:
        litellm.completion(model="openai/gpt-4o-mini", messages=USER, api_key="sk-secret-1234567890abcdef",
                           api_base=bases["openai"])
    assert "sk-secret-1234567890abcdef" not in str(e.value)
    assert "sk-secret-1234567890abcdef" not in repr(e.value.__dict__)


def test_litellms_constructors_and_pickling_work():
    e = litellm.RateLimitError(message="x", llm_provider="openai", model="gpt-4o")
    assert (e.status_code, e.llm_provider, e.model, str(e)) == (429, "openai", "gpt-4o", "x")
    e2 = litellm.APIError(500, "boom", "anthropic", "claude")
    assert e2.status_code == 500 and e2.llm_provider == "anthropic"
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is type(e) and back.message == "x" and back.model == "gpt-4o"


def test_a_router_error_lists_every_attempt():
    router = litellm.Router(model_list=[{"model_name": "g", "litellm_params": {
        "model": "openai/gpt-4o", "mock_response": "litellm.ServiceUnavailableError"}}], num_retries=1,
        retry_after=0)
    with pytest.raises(litellm.ServiceUnavailableError) as e:
        router.completion(model="g", messages=USER)
    assert len(e.value.attempts) == 2


def test_the_package_imports_and_raises_without_openai():
    script = textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "openai" or name.startswith("openai."):
                    raise ImportError("no openai here")
        sys.meta_path.insert(0, Block())
        import switchboard as litellm
        try:
            litellm.completion(model="gpt-4o", messages=[{"role": "user", "content": "x"}],
                               mock_response="litellm.RateLimitError")
        except litellm.RateLimitError as e:
            assert e.status_code == 429
            assert "openai" not in sys.modules
            assert isinstance(e, litellm.exceptions._APIStatusError)
            print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


def test_importing_the_package_does_not_import_openai():
    out = subprocess.run([sys.executable, "-c", "import sys, switchboard; print('openai' in sys.modules)"],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
