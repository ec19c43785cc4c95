"""check_valid_key(model, api_key): one cheapest call, read as valid or not."""

from __future__ import annotations

import switchboard as litellm
import switchboard.utils


def test_a_key_the_provider_accepts_is_valid(mock, bases, monkeypatch):
    mock.keys["openai"] = "good-key"
    monkeypatch.setattr(litellm, "api_base", bases["openai"])
    assert litellm.check_valid_key(model="openai/gpt-4o-mini", api_key="good-key") is True
    assert switchboard.utils.check_valid_key(model="gpt-4o-mini", api_key="bad-key") is False
    (ok, refused) = mock.seen()
    assert ok.body["max_tokens"] == 1 and refused.headers["authorization"] == "Bearer bad-key"


def test_a_key_checked_against_an_explicit_base(mock, bases):
    mock.keys["anthropic"] = "a-key"
    assert litellm.check_valid_key("anthropic/claude-haiku-4-5", "a-key", api_base=bases["anthropic"]) is True
    assert litellm.check_valid_key("anthropic/claude-haiku-4-5", "nope", api_base=bases["anthropic"]) is False
