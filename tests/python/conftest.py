"""Fixtures: one mock upstream for the session (reset per test), and an
environment with no provider key or base URL but the ones a test sets, so
nothing can reach a real provider. Every request to a host other than
loopback goes to a proxy on 127.0.0.1 where nothing listens: a call that
would have left the machine fails at once instead."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from mock_upstream import MockUpstream  # noqa: E402

#: Nothing listens on port 9 (discard) of loopback.
NO_NETWORK = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
              "ALL_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost"}
os.environ.update(NO_NETWORK)

#: Variables that would point a call somewhere real.
_ENV = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OPENAI_API_BASE", "OPENAI_BASE_URL",
        "ANTHROPIC_API_BASE", "ANTHROPIC_BASE_URL", "GEMINI_API_BASE", "AZURE_API_KEY")


@pytest.fixture(scope="session")
def server() -> MockUpstream:
    m = MockUpstream().start()
    yield m
    m.stop()


@pytest.fixture
def mock(server: MockUpstream, monkeypatch: pytest.MonkeyPatch) -> MockUpstream:
    server.reset()
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    import switchboard

    for name, value in (("drop_params", False), ("num_retries", None), ("request_timeout", None),
                        ("api_key", None), ("api_base", None)):
        monkeypatch.setattr(switchboard, name, value)
    yield server
    server.reset()


@pytest.fixture
def bases(mock: MockUpstream) -> dict:
    """Each API's base URL on the mock, as its SDK writes it."""
    return {"openai": f"{mock.url}/v1", "anthropic": mock.url, "gemini": f"{mock.url}/v1beta"}


#: A model of each API and the keyword arguments that reach the mock.
def on_mock(api: str, bases: dict) -> dict:
    return {"api_base": bases[api], "api_key": f"key-{api}"}


MODELS = {
    "openai": "openai/gpt-4o-mini",
    "anthropic": "anthropic/claude-haiku-4-5",
    "gemini": "gemini/gemini-2.5-flash",
}


def provider_model(api: str) -> str:
    return MODELS[api].split("/", 1)[1]


@pytest.fixture(params=sorted(MODELS))
def api(request: pytest.FixtureRequest) -> str:
    return request.param


USER = [{"role": "user", "content": "Hi there"}]
