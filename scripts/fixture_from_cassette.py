#!/usr/bin/env python3
"""Turns recorded cassettes (../shared/cassettes/<provider>/<case>.json) into
test fixtures (tests/fixtures/<provider>/<case>.json).

A fixture is the cassette plus:
  input   the OpenAI-shaped request that should render to the recorded
          upstream request (reverse-engineered from it here; edit by hand
          when the guess is wrong);
  expect  the OpenAI-shaped result, extracted from the recorded native
          response by the conformance script's own extractors (not by
          Switchboard), so the two directions are checked independently.
When the recorded answer holds reasoning state, `expect` also gets
  thinking_blocks        the reasoning blocks as a client rebuilds them
                         ({type: thinking, thinking, signature} or
                         {type: redacted_thinking, data}), in order;
  tool_call_signatures   per tool call, its thought signature (or null).
Optional keys, added by hand: `ignore` (JSON pointers left out of the body
comparison, each with a reason in `ignore_why`), `check_path: false`.

Usage: scripts/fixture_from_cassette.py CASSETTE.json [...]
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(SHARED / "conformance"))
import conformance  # noqa: E402


def text_parts(content):
    if isinstance(content, str):
        return content
    parts = []
    for b in content or []:
        t = b.get("type")
        if t == "text":
            part = {"type": "text", "text": b["text"]}
            if b.get("cache_control"):
                part["cache_control"] = b["cache_control"]
            parts.append(part)
        elif t == "image":
            src = b.get("source") or {}
            url = src.get("url") if src.get("type") == "url" else f"data:{src.get('media_type')};base64,{src.get('data')}"
            parts.append({"type": "image_url", "image_url": {"url": url}})
    return parts


def from_anthropic(body):
    msgs = []
    system = body.get("system")
    if isinstance(system, list):
        system = text_parts(system)
    if system:
        msgs.append({"role": "system", "content": system})
    for m in body.get("messages") or []:
        content = m.get("content")
        if isinstance(content, str):
            msgs.append({"role": m["role"], "content": content})
            continue
        if m["role"] == "assistant":
            calls = [
                {"id": b["id"], "type": "function", "function": {"name": b["name"], "arguments": json.dumps(b.get("input") or {})}}
                for b in content
                if b.get("type") == "tool_use"
            ]
            rest = text_parts([b for b in content if b.get("type") != "tool_use"])
            msg = {"role": "assistant", "content": rest or None}
            if calls:
                msg["tool_calls"] = calls
            msgs.append(msg)
            continue
        results = [b for b in content if b.get("type") == "tool_result"]
        for r in results:
            c = r.get("content")
            if isinstance(c, list):
                c = "".join(x.get("text", "") for x in c)
            msgs.append({"role": "tool", "tool_call_id": r["tool_use_id"], "content": c})
        rest = [b for b in content if b.get("type") != "tool_result"]
        if rest:
            msgs.append({"role": "user", "content": text_parts(rest)})
    req = {"model": body.get("model"), "messages": msgs}
    if "max_tokens" in body:
        req["max_tokens"] = body["max_tokens"]
    for k in ("temperature", "top_p", "stream"):
        if k in body:
            req[k] = body[k]
    if body.get("stop_sequences"):
        req["stop"] = body["stop_sequences"]
    if body.get("tools"):
        req["tools"] = [
            {"type": "function", "function": {"name": t["name"], "description": t.get("description"), "parameters": t.get("input_schema")}}
            for t in body["tools"]
        ]
    if body.get("thinking"):
        req["thinking"] = body["thinking"]
    fmt = (body.get("output_config") or {}).get("format") or body.get("output_format")
    if fmt and fmt.get("type") == "json_schema":
        req["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": fmt["schema"]}}
    return req


def from_gemini(body, url):
    msgs = []
    si = body.get("systemInstruction")
    if si:
        msgs.append({"role": "system", "content": "".join(p.get("text", "") for p in si.get("parts") or [])})
    for c in body.get("contents") or []:
        role = "assistant" if c.get("role") == "model" else "user"
        parts = c.get("parts") or []
        calls = [p["functionCall"] for p in parts if "functionCall" in p]
        resps = [p["functionResponse"] for p in parts if "functionResponse" in p]
        if calls:
            msgs.append({"role": "assistant", "content": None, "tool_calls": [
                {"id": fc.get("id") or f"call_{i}", "type": "function", "function": {"name": fc["name"], "arguments": json.dumps(fc.get("args") or {})}}
                for i, fc in enumerate(calls)]})
            continue
        if resps:
            for i, fr in enumerate(resps):
                msgs.append({"role": "tool", "tool_call_id": fr.get("id") or f"call_{i}", "content": json.dumps(fr.get("response"))})
            continue
        out = []
        for p in parts:
            if "text" in p:
                out.append({"type": "text", "text": p["text"]})
            elif "inlineData" in p:
                d = p["inlineData"]
                out.append({"type": "image_url", "image_url": {"url": f"data:{d.get('mimeType')};base64,{d.get('data')}"}})
            elif "fileData" in p:
                out.append({"type": "image_url", "image_url": {"url": p["fileData"].get("fileUri")}})
        if len(out) == 1 and out[0]["type"] == "text":
            out = out[0]["text"]
        msgs.append({"role": role, "content": out})
    model = url.split("/models/")[1].split(":")[0]
    req = {"model": model, "messages": msgs}
    gc = body.get("generationConfig") or {}
    for src, dst in (("temperature", "temperature"), ("topP", "top_p"), ("maxOutputTokens", "max_tokens"), ("stopSequences", "stop"), ("seed", "seed")):
        if src in gc:
            req[dst] = gc[src]
    if "responseJsonSchema" in gc:
        req["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": gc["responseJsonSchema"]}}
    elif gc.get("responseMimeType") == "application/json":
        req["response_format"] = {"type": "json_object"}
    decls = [d for t in body.get("tools") or [] for d in t.get("functionDeclarations") or []]
    if decls:
        req["tools"] = [{"type": "function", "function": {"name": d["name"], "description": d.get("description"),
                         "parameters": d.get("parametersJsonSchema") or d.get("parameters_json_schema") or d.get("parameters")}} for d in decls]
    if "streamGenerateContent" in url:
        req["stream"] = True
    return req


def from_embeddings(body, wire, url, provider=None):
    if wire == "gemini":
        model = url.split("/models/")[1].split(":")[0]
        texts = [p.get("text", "") for r in body.get("requests") or [] for p in (r.get("content") or {}).get("parts") or []]
        req = {"model": model, "input": texts}
        task = [r.get("taskType") for r in body.get("requests") or [] if r.get("taskType")]
        if task:
            req["task_type"] = task[0]
        return req
    if wire == "cohere":
        # v2 embed: texts, input_type, truncate, output_dimension; embedding_types is the spec's.
        req = {"model": body.get("model"), "input": body.get("texts") or []}
        if body.get("output_dimension") is not None:
            req["dimensions"] = body["output_dimension"]
        for k in ("input_type", "truncate", "max_tokens"):
            if body.get(k) is not None:
                req[k] = body[k]
        return req
    if wire == "ollama":
        # /api/embed takes `input`; the legacy /api/embeddings one `prompt`.
        inp = body["input"] if "input" in body else body.get("prompt")
        req = {"model": body.get("model"), "input": inp}
        if body.get("dimensions") is not None:
            req["dimensions"] = body["dimensions"]
        for k in ("truncate", "keep_alive", "options"):
            if body.get(k) is not None:
                req[k] = body[k]
        return req
    req = dict(body)
    if provider == "voyage":
        # The spec always asks Voyage for base64 and decodes it: the caller wants floats.
        req.pop("encoding_format", None)
        if req.get("output_dimension") is not None:
            req["dimensions"] = req["output_dimension"]
        req.pop("output_dimension", None)
    return req


def from_cohere(body):
    """Cohere v2 chat: messages are OpenAI's shape already; options are renamed."""
    msgs = []
    for m in body.get("messages") or []:
        msg = {"role": m["role"], "content": m.get("content")}
        for k in ("tool_calls", "tool_call_id"):
            if m.get(k) is not None:
                msg[k] = m[k]
        msgs.append(msg)
    req = {"model": body.get("model"), "messages": msgs}
    if body.get("tools"):
        req["tools"] = body["tools"]
    choice = {"REQUIRED": "required", "NONE": "none"}.get(body.get("tool_choice"))
    if choice:
        req["tool_choice"] = choice
    for src, dst in (("max_tokens", "max_tokens"), ("temperature", "temperature"), ("p", "top_p"), ("k", "top_k"),
                     ("seed", "seed"), ("stop_sequences", "stop"), ("frequency_penalty", "frequency_penalty"),
                     ("presence_penalty", "presence_penalty"), ("logprobs", "logprobs"), ("stream", "stream"),
                     ("thinking", "thinking"), ("documents", "documents"), ("citation_options", "citation_options"),
                     ("safety_mode", "safety_mode"), ("strict_tools", "strict_tools")):
        if body.get(src) is not None:
            req[dst] = body[src]
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_object":
        if fmt.get("json_schema"):
            req["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": fmt["json_schema"]}}
        else:
            req["response_format"] = {"type": "json_object"}
    return req


OLLAMA_OPTIONS = {"temperature": "temperature", "top_p": "top_p", "seed": "seed", "num_predict": "max_tokens", "stop": "stop",
                  "frequency_penalty": "frequency_penalty", "presence_penalty": "presence_penalty", "top_k": "top_k"}


def from_ollama(body):
    """Ollama /api/chat: one content string with base64 images beside it, tool-call
    arguments as objects, sampling settings in `options`."""
    msgs = []
    for m in body.get("messages") or []:
        role = m.get("role")
        text = m.get("content") or ""
        if role == "tool":
            msg = {"role": "tool", "content": text}
            if m.get("tool_call_id"):
                msg["tool_call_id"] = m["tool_call_id"]
            if m.get("tool_name"):
                msg["name"] = m["tool_name"]
            msgs.append(msg)
            continue
        if m.get("images"):
            # Ollama images carry no media type; the data URL needs one.
            content = ([{"type": "text", "text": text}] if text else []) + [
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{img}"}} for img in m["images"]]
        else:
            content = text
        msg = {"role": role, "content": content}
        if m.get("tool_calls"):
            msg["tool_calls"] = [
                {"id": tc.get("id", ""), "type": "function",
                 "function": {"name": tc["function"]["name"], "arguments": json.dumps(tc["function"].get("arguments") or {})}}
                for tc in m["tool_calls"]]
        msgs.append(msg)
    req = {"model": body.get("model"), "messages": msgs}
    if body.get("tools"):
        req["tools"] = body["tools"]
    # Ollama streams unless told not to.
    req["stream"] = body.get("stream", True) is not False
    rest = {}
    for k, v in (body.get("options") or {}).items():
        if k in OLLAMA_OPTIONS:
            req[OLLAMA_OPTIONS[k]] = v
        else:
            rest[k] = v
    if rest:
        req["options"] = rest
    fmt = body.get("format")
    if fmt == "json":
        req["response_format"] = {"type": "json_object"}
    elif isinstance(fmt, dict):
        req["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": fmt}}
    elif fmt is not None:
        req["format"] = fmt  # e.g. the empty string ollama-python sends; passed through as is
    think = body.get("think")
    if think is False:
        req["reasoning_effort"] = "none"
    elif isinstance(think, str):
        req["reasoning_effort"] = think
    elif think is True:
        req["think"] = True
    for k in ("keep_alive", "truncate"):
        if body.get(k) is not None:
            req[k] = body[k]
    return req


def native_events(case):
    """The recorded answer as a list of JSON events (one for a plain body)."""
    if case.decoded_events is not None:
        return [e.get("payload") or {} for e in case.decoded_events]
    body = case.body
    if isinstance(body, str):
        if body.lstrip().startswith("["):
            return json.loads(body)
        return [json.loads(d) for _, d in conformance.parse_sse(body) if d.strip().startswith("{")]
    if isinstance(body, list):
        return body
    return [body] if isinstance(body, dict) else []


def reasoning_state(case):
    """Reasoning blocks and tool-call signatures, read from the native answer
    (Anthropic content blocks, Bedrock reasoningContent, Gemini
    thoughtSignature on functionCall parts), independently of Switchboard."""
    blocks, sigs = [], []
    events = native_events(case)
    if case.wire == "anthropic":
        open_blocks = {}
        for ev in events:
            t = ev.get("type")
            if t == "message" or "content" in ev and t is None:
                for b in ev.get("content") or []:
                    if b.get("type") == "thinking":
                        blocks.append({"type": "thinking", "thinking": b.get("thinking", ""), "signature": b.get("signature")})
                    elif b.get("type") == "redacted_thinking":
                        blocks.append({"type": "redacted_thinking", "data": b["data"]})
            elif t == "content_block_start":
                b = ev["content_block"]
                if b.get("type") == "thinking":
                    open_blocks[ev["index"]] = {"type": "thinking", "thinking": b.get("thinking", ""), "signature": None}
                elif b.get("type") == "redacted_thinking":
                    blocks.append({"type": "redacted_thinking", "data": b["data"]})
            elif t == "content_block_delta" and ev["index"] in open_blocks:
                d = ev["delta"]
                open_blocks[ev["index"]]["thinking"] += d.get("thinking", "")
                if d.get("type") == "signature_delta":
                    open_blocks[ev["index"]]["signature"] = d["signature"]
            elif t == "content_block_stop" and ev["index"] in open_blocks:
                blocks.append(open_blocks.pop(ev["index"]))
    elif case.wire == "bedrock":
        open_blocks = {}
        for ev in events:
            for item in ((ev.get("output") or {}).get("message") or {}).get("content") or []:
                rc = item.get("reasoningContent")
                if rc and "redactedContent" in rc:
                    blocks.append({"type": "redacted_thinking", "data": rc["redactedContent"]})
                elif rc:
                    rt = rc.get("reasoningText") or {}
                    blocks.append({"type": "thinking", "thinking": rt.get("text", ""), "signature": rt.get("signature")})
            rc = (ev.get("delta") or {}).get("reasoningContent")
            if rc is not None:
                i = ev.get("contentBlockIndex")
                if "redactedContent" in rc:
                    blocks.append({"type": "redacted_thinking", "data": rc["redactedContent"]})
                    continue
                b = open_blocks.setdefault(i, {"type": "thinking", "thinking": "", "signature": None})
                b["thinking"] += rc.get("text", "")
                if "signature" in rc:
                    b["signature"] = rc["signature"]
                    blocks.append(open_blocks.pop(i))
    elif case.wire == "gemini":
        # A signature on a text part is not carried (see providers/README.md).
        for ev in events:
            for cand in (ev.get("candidates") or [])[:1]:
                for part in (cand.get("content") or {}).get("parts") or []:
                    if "functionCall" in part:
                        sigs.append(part.get("thoughtSignature"))
    for b in blocks:
        if b.get("signature") is None:
            b.pop("signature", None)
    out = {}
    if blocks:
        out["thinking_blocks"] = blocks
    if any(sigs):
        out["tool_call_signatures"] = sigs
    return out


def main(paths):
    for p in paths:
        p = Path(p).resolve()
        root = p.parent.parent
        rel = f"{p.parent.name}/{p.name}"
        case = conformance.Case(root, rel)
        rec = json.loads(p.read_text())
        body = rec["request"].get("body")
        if isinstance(body, str):
            body = json.loads(body)
        if case.api == "embed":
            inp = from_embeddings(body, case.wire, case.url, case.provider)
        elif case.wire == "anthropic":
            inp = from_anthropic(body)
        elif case.wire == "gemini":
            inp = from_gemini(body, case.url)
        elif case.wire == "cohere":
            inp = from_cohere(body)
        elif case.wire == "ollama":
            inp = from_ollama(body)
        else:
            inp = dict(body)
        params = {}
        if "/openai/deployments/" in case.path:
            # Azure: the deployment in the path is the model; api-version is a parameter.
            inp["model"] = case.model
            if case.azure_api_version():
                params["api_version"] = case.azure_api_version()
        inp["model"] = f"{case.target_provider}/{inp.get('model') or case.model}"
        if case.stream and case.api == "chat":
            inp["stream"] = True
            if case.wire != "openai":
                # Usage arrives in every native stream; ask for the final usage chunk.
                inp["stream_options"] = {"include_usage": True}
        rec["input"] = inp
        if params:
            rec["params"] = params
        rec["expect"] = conformance.expected_for(case)
        if case.api == "chat" and case.status < 400:
            rec["expect"].update(reasoning_state(case))
        out = ROOT / "tests" / "fixtures" / case.provider / p.name
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():  # keep what was added by hand
            old = json.loads(out.read_text())
            for key in ("ignore", "ignore_why", "check_path", "params", "input_edits"):
                if key in old:
                    rec[key] = old[key]
            for k, v in (old.get("input_edits") or {}).items():
                if v is None:
                    inp.pop(k, None)
                else:
                    inp[k] = v
        out.write_text(json.dumps(rec, indent=1, ensure_ascii=False) + "\n")
        print(out.relative_to(ROOT))


if __name__ == "__main__":
    main(sys.argv[1:])
