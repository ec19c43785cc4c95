"""litellm-style tutorial scripts (tests/python/tutorial/), written for
litellm with only the import changed, run as they are against the mock:
their keys and base URLs come from the environment, as a user sets them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import NO_NETWORK

TUTORIAL = Path(__file__).parent / "tutorial"


def run(script: str, mock) -> str:
    for api in ("openai", "anthropic", "gemini"):
        mock.keys[api] = f"tutorial-{api}-key"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "OPENAI_API_KEY": "tutorial-openai-key",
        "ANTHROPIC_API_KEY": "tutorial-anthropic-key",
        "GEMINI_API_KEY": "tutorial-gemini-key",
        "OPENAI_API_BASE": f"{mock.url}/v1",
        "ANTHROPIC_API_BASE": mock.url,
        "GEMINI_API_BASE": f"{mock.url}/v1beta",
        **NO_NETWORK,
    }
    done = subprocess.run([sys.executable, str(TUTORIAL / script)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_router_and_cost(mock):
    out = run("router_and_cost.py", mock).splitlines()
    assert out[0] in ("Hello from gpt-4o-mini", "Hello from gpt-4o-mini-2024-07-18")
    assert out[1] == "Hello from claude-3-5-haiku-20241022"
    assert out[2].startswith("1000 prompt + 500 completion tokens on gpt-4o-mini: $0.000")
    assert out[3].startswith("this call: $0.000") and out[3] != "this call: $0.00000000"
    # "Hey", ",", " how", "'s", " it", " going", "?" + "user" + 3 + 3 framing.
    assert out[4] == "tokens in the prompt: 14"
    assert out[5] == "claude-3-5-haiku context window: 200000"
    assert out[6] == "registered: 2e-06"


def test_quickstart(mock, monkeypatch):
    out = run("quickstart.py", mock).splitlines()
    assert out[:4] == ["Hello from gpt-4o", "Hello from claude-3-haiku-20240307", "Hello from gemini-1.5-flash",
                       "Hello from gpt-4o"]
    assert out[4] == "AuthenticationError from anthropic: status 401"
    # The mock's 12 prompt and 7 completion tokens at gpt-4o's catalog prices ($2.50 and $10 per million).
    assert out[5] == "cost: $0.00010000"


def test_async_and_fallbacks(mock, monkeypatch):
    mock.on("gpt-4o", status=503, message="overloaded")
    mock.on("gpt-3.5-turbo", status=400, code="context_length_exceeded",
            message="This model's maximum context length is 16385 tokens")
    out = run("async_and_fallbacks.py", mock).splitlines()
    assert out == [
        "Hello from gpt-4o-mini",
        "10 answers",
        "Hello from claude-3-5-haiku-20241022",
        "Hello from gpt-4o-mini",
        "fallback answered: Hello from claude-3-5-haiku-20241022",
        "context window fallback answered: Hello from gpt-4o-mini",
    ]
    assert [r.model for r in mock.seen() if r.model in ("gpt-4o", "gpt-3.5-turbo")] == ["gpt-4o", "gpt-3.5-turbo"]
