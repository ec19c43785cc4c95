#!/usr/bin/env python3
"""Regenerates pricing/<provider>.toml from a public machine-readable source:
the model price map that ships inside the `litellm` package on PyPI
(model_prices_and_context_window_backup.json). Prices are public facts; this
script records where each figure came from and when.

Only models of providers that have a spec under providers/ are written, in
USD per million tokens. A model table with `hand-edited = true` in the
existing file is kept as it is, so hand edits survive a regeneration.

Models a provider has retired drop out of litellm's map, but old code, logs
and tutorials still name them, and their calls still cost what they cost.
So the price maps of earlier litellm releases (HISTORY) are read too: a model
found there and no longer in the current map is written with its last
published prices and `retired = true`. A model already marked retired in the
existing file is kept as well.

Usage: scripts/update_pricing.py [--source path/to/model_prices.json]
                                 [--history VERSION ...] [--no-history]
(without --source it runs `pip download --no-deps litellm` into a temp dir,
and the same for each history release).
"""

import argparse
import datetime
import glob
import json
import re
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRICE_FILE = "litellm/model_prices_and_context_window_backup.json"

# Earlier litellm releases whose price maps still list models since retired,
# oldest first (a later release's figure for a model wins).
HISTORY = ["1.60.0", "1.80.0", "1.95.0", "1.105.0", "1.108.6"]

# litellm's provider names -> Switchboard spec ids (facts about naming only).
PROVIDERS = {
    "openai": "openai", "text-completion-openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "vertex_ai": "vertex", "vertex_ai-language-models": "vertex", "vertex_ai-embedding-models": "vertex",
    "vertex_ai-text-models": "vertex", "vertex_ai-chat-models": "vertex", "vertex_ai-vision-models": "vertex",
    "vertex_ai-anthropic_models": "vertex_anthropic",
    "bedrock": "bedrock", "bedrock_converse": "bedrock",
    "azure": "azure", "azure_ai": "azure_ai",
    "groq": "groq", "deepseek": "deepseek", "xai": "xai", "mistral": "mistral",
    "cohere": "cohere", "cohere_chat": "cohere", "together_ai": "together", "fireworks_ai": "fireworks",
    "perplexity": "perplexity", "cerebras": "cerebras", "deepinfra": "deepinfra", "openrouter": "openrouter",
    "ollama": "ollama", "voyage": "voyage", "nebius": "nebius", "novita": "novita", "hyperbolic": "hyperbolic",
    "moonshot": "moonshot", "dashscope": "dashscope", "sambanova": "sambanova", "lambda_ai": "lambda_ai",
    "databricks": "databricks", "baseten": "baseten", "friendliai": "friendli", "featherless_ai": "featherless",
    "nvidia_nim": "nvidia", "zai": "zhipu", "siliconflow": "siliconflow", "github": "github",
    "huggingface": "huggingface", "watsonx": "watsonx", "cloudflare": "cloudflare",
    "vercel_ai_gateway": "vercel_ai_gateway", "volcengine": "volcengine", "nscale": "nscale",
    "ovhcloud": "ovhcloud", "scaleway": "scaleway", "aiml": "aimlapi", "gradient_ai": "gradient_ai",
    "ai21": "ai21", "minimax": "minimax", "inception": "inception_labs",
    "text-completion-inception": "inception_labs", "jina_ai": "jina", "meta_llama": "llama_api",
    "fireworks_ai-embedding-models": "fireworks",
}

MODES = {"chat", "completion", "embedding", "responses"}

PER_TOKEN = [  # (litellm key, our key)
    ("input_cost_per_token", "input"),
    ("output_cost_per_token", "output"),
    ("cache_read_input_token_cost", "cached-input"),
    ("cache_creation_input_token_cost", "cache-write"),
    ("output_cost_per_reasoning_token", "reasoning"),
    ("input_cost_per_audio_token", "input-audio"),
    ("output_cost_per_audio_token", "output-audio"),
    ("input_cost_per_image_token", "input-image"),
    ("output_cost_per_image_token", "output-image"),
]
PER_UNIT = [("input_cost_per_image", "per-input-image"), ("output_cost_per_image", "per-output-image"),
            ("input_cost_per_query", "per-request")]
CAPABILITIES = [
    ("supports_function_calling", "tools"), ("supports_parallel_function_calling", "parallel-tools"),
    ("supports_vision", "vision"), ("supports_response_schema", "structured-output"),
    ("supports_reasoning", "reasoning"), ("supports_prompt_caching", "prompt-caching"),
    ("supports_audio_input", "audio-input"), ("supports_pdf_input", "pdf-input"),
]


def per_million(v):
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            return None
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return None
    return float(f"{v * 1_000_000:.10g}")


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(int(v)) + ".0" if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def toml_key(k):
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def tiers(entry):
    """Long-context tiers: `*_above_<N>k_tokens` keys, or litellm's `tiered_pricing` ranges."""
    out = {}
    for key, value in entry.items():
        m = re.fullmatch(r"(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|cache_creation_input_token_cost)_above_(\d+)k_tokens", key)
        if m:
            ours = dict(PER_TOKEN)[m.group(1)]
            out.setdefault(int(m.group(2)) * 1000, {})[ours] = per_million(value)
    for t in entry.get("tiered_pricing") or []:
        lo = int((t.get("range") or [0])[0])
        if lo == 0:
            continue
        for k, ours in PER_TOKEN:
            if k in t:
                out.setdefault(lo, {})[ours] = per_million(t[k])
    return [dict(above=above, **prices) for above, prices in sorted(out.items())]


def model_name(key, provider):
    """litellm keys are often `provider/model`; Switchboard uses the provider-side name."""
    for prefix in (provider + "/", "bedrock/converse/", "bedrock/", "vertex_ai/", "azure/", "azure_ai/", "together_ai/",
                   "fireworks_ai/", "deepinfra/", "openrouter/", "nvidia_nim/", "friendliai/", "featherless_ai/", "lambda_ai/",
                   "cohere_chat/", "text-completion-openai/", "huggingface/", "cloudflare/", "watsonx/", "zai/", "dashscope/",
                   "vercel_ai_gateway/", "volcengine/", "nscale/", "ovhcloud/", "scaleway/", "aiml/", "gradient_ai/",
                   "ai21/", "minimax/", "inception/", "jina_ai/", "meta_llama/"):
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def convert(entry):
    row = {}
    for k, ours in PER_TOKEN:
        v = per_million(entry.get(k))
        if v is not None and (v > 0 or ours in ("input", "output")):
            row[ours] = v
    for k, ours in PER_UNIT:
        v = entry.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0:
            row[ours] = float(f"{v:.10g}")
    t = tiers(entry)
    if t:
        row["tiers"] = t
    for k, ours in (("max_input_tokens", "context-window"), ("max_output_tokens", "max-output")):
        v = entry.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0:
            row[ours] = int(v)
    row["mode"] = entry.get("mode")
    caps = [ours for k, ours in CAPABILITIES if entry.get(k) is True]
    if entry.get("supports_response_schema") is True or entry.get("mode") == "chat" and entry.get("supports_function_calling"):
        caps.append("json-mode")
    if entry.get("mode") == "embedding":
        caps.append("embeddings")
    row["capabilities"] = sorted(set(caps))
    if isinstance(entry.get("source"), str):
        row["source"] = entry["source"]
    return row


def load_source(path, version=None):
    if path:
        return json.loads(Path(path).read_text()), f"file {Path(path).name}"
    tmp = tempfile.mkdtemp(prefix="sb-pricing-")
    wanted = f"litellm=={version}" if version else "litellm"
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, wanted], check=True)
    wheel = glob.glob(f"{tmp}/litellm-*.whl")[0]
    version = re.search(r"litellm-([^-]+)-", Path(wheel).name).group(1)
    with zipfile.ZipFile(wheel) as z:
        return json.loads(z.read(PRICE_FILE)), f"PyPI litellm {version}, {PRICE_FILE}"


def rows(data, specs):
    """{provider: {model: row}} of one price map, for the providers with a spec."""
    by_provider = {}
    for key, entry in data.items():
        if not isinstance(entry, dict) or entry.get("mode") not in MODES:
            continue
        ours = PROVIDERS.get(entry.get("litellm_provider"))
        if ours not in specs:
            continue
        name = model_name(key, entry.get("litellm_provider"))
        row = convert(entry)
        if "input" not in row and "output" not in row:
            continue
        by_provider.setdefault(ours, {}).setdefault(name, row)
    return by_provider


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source")
    ap.add_argument("--history", nargs="*", default=HISTORY, help="earlier litellm versions, oldest first")
    ap.add_argument("--no-history", action="store_true")
    args = ap.parse_args()
    data, origin = load_source(args.source)
    specs = {p.stem for p in (ROOT / "providers").glob("*.toml")}
    today = datetime.date.today().isoformat()
    by_provider = rows(data, specs)
    # The last published row of every model the current map no longer has.
    retired = {}
    for version in [] if args.no_history else args.history:
        old_data, old_origin = load_source(None, version)
        for provider, models in rows(old_data, specs).items():
            for name, row in models.items():
                retired.setdefault(provider, {})[name] = dict(row, retired=True)
        print(f"history: {old_origin}")
    for provider, models in retired.items():
        # A provider the current map lists no model of was dropped by the
        # map, not by the provider: its models are not known to be retired.
        if provider not in by_provider:
            continue
        current = by_provider[provider]
        for name, row in models.items():
            current.setdefault(name, row)
    total = 0
    for provider, models in sorted(by_provider.items()):
        path = ROOT / "pricing" / f"{provider}.toml"
        kept = {}
        if path.exists():
            old = tomllib.loads(path.read_text())
            kept = {k: v for k, v in (old.get("models") or {}).items()
                    if v.get("hand-edited") or (v.get("retired") and k not in models)}
        lines = [
            f"# Prices of {provider} models, USD per million tokens (per-request/per-image fees in USD).",
            f"# Generated by scripts/update_pricing.py from {origin} on {today}.",
            "# A model table with `hand-edited = true` is kept as written when regenerating.",
            f'provider = "{provider}"',
            f'source = {json.dumps(origin)}',
            f'updated = "{today}"',
            "",
        ]
        for name in sorted(set(models) | set(kept)):
            row = kept.get(name) or models[name]
            lines.append(f"[models.{toml_key(name)}]")
            for k, v in row.items():
                lines.append(f"{toml_key(k)} = {toml_value(v)}")
            lines.append("")
            total += 1
        path.parent.mkdir(exist_ok=True)
        path.write_text("\n".join(lines))
        print(f"{path.relative_to(ROOT)}: {len(set(models) | set(kept))} models")
    print(f"{total} priced models")


if __name__ == "__main__":
    main()
