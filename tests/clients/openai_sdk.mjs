// The official `openai` npm SDK against a running `switchboard serve`: the
// same checks as openai_sdk.py, through the Node client.
//
// Usage: node tests/clients/openai_sdk.mjs BASE_URL MASTER_KEY
// (after `npm ci` in tests/clients; package.json pins the SDK).
//
// The server must serve these model groups (tests/it/server.rs sets them up
// over mock upstreams): `chat` answers "Hello from the mock"; `streamer`
// streams "Hel" + "lo"; `cut` streams one chunk and then breaks; `embedder`
// returns two 3-dimensional vectors; `limited` is rate limited upstream.
// Prints "all checks passed" and exits 0, or exits 1 saying what failed.

import assert from "node:assert/strict";

import OpenAI, {
  APIError,
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  RateLimitError,
} from "openai";

/** Awaits `call`, which must reject with `cls` carrying the server's error message. */
async function expectError(cls, call) {
  let answer;
  try {
    answer = await call();
  } catch (e) {
    assert.ok(
      e instanceof cls,
      `expected ${cls.name}, got ${e?.constructor?.name}: ${e?.message}`,
    );
    assert.ok(
      typeof e.error?.message === "string" && e.error.message.length > 0,
      `${cls.name} without the server's message: ${JSON.stringify(e.error)}`,
    );
    return e;
  }
  assert.fail(`expected ${cls.name}, got an answer: ${JSON.stringify(answer)}`);
}

async function main(baseURL, apiKey) {
  // No SDK retries: a 429 must surface as it came.
  const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30_000 });
  const hi = [{ role: "user", content: "hi" }];

  const resp = await client.chat.completions.create({ model: "chat", messages: hi });
  assert.equal(resp.choices[0].message.content, "Hello from the mock");
  assert.equal(resp.usage.total_tokens, 7);

  const { response } = await client.chat.completions
    .create({ model: "chat", messages: hi })
    .withResponse();
  assert.equal(response.headers.get("x-switchboard-deployment"), "chat-dep");

  let text = "";
  let finish = null;
  const stream = await client.chat.completions.create({
    model: "streamer",
    messages: hi,
    stream: true,
  });
  for await (const chunk of stream) {
    if (chunk.choices.length > 0) {
      text += chunk.choices[0].delta.content ?? "";
      finish = chunk.choices[0].finish_reason ?? finish;
    }
  }
  assert.equal(text, "Hello");
  assert.equal(finish, "stop");

  // A stream cut after its first chunk throws; it never ends quietly.
  let before = "";
  await expectError(APIError, async () => {
    const cut = await client.chat.completions.create({ model: "cut", messages: hi, stream: true });
    for await (const chunk of cut) {
      before += chunk.choices[0]?.delta.content ?? "";
    }
  });
  assert.equal(before, "Hel", "the chunk sent before the cut still arrives");

  // The SDK asks for base64 by default and decodes it back to floats.
  let emb = await client.embeddings.create({ model: "embedder", input: ["a", "b"] });
  assert.equal(emb.data.length, 2);
  assert.deepEqual(emb.data[1].embedding, [0.125, 0.0, -1.0]);
  emb = await client.embeddings.create({ model: "embedder", input: "a", encoding_format: "float" });
  assert.deepEqual(emb.data[0].embedding, [0.5, -0.25, 1.0]);

  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids.sort(), ["chat", "cut", "embedder", "limited", "streamer"]);
  assert.equal((await client.models.retrieve("chat")).id, "chat");

  const wrong = new OpenAI({ baseURL, apiKey: "sk-wrong", maxRetries: 0 });
  await expectError(AuthenticationError, () => wrong.models.list());
  await expectError(AuthenticationError, () =>
    wrong.chat.completions.create({ model: "chat", messages: hi }),
  );

  const limited = await expectError(RateLimitError, () =>
    client.chat.completions.create({ model: "limited", messages: hi }),
  );
  assert.equal(limited.headers.get("retry-after"), "7");

  await expectError(NotFoundError, () =>
    client.chat.completions.create({ model: "no-such-model", messages: hi }),
  );
  await expectError(NotFoundError, () => client.models.retrieve("no-such-model"));

  // Fields the SDK's types would refuse go straight into the JSON body.
  const bad = [
    [{ model: "chat", messages: [] }, "messages"],
    [{ model: "chat", messages: hi, temperature: "hot" }, "temperature"],
    [{ model: "chat", messages: hi, api_base: "http://127.0.0.1:9" }, "api_base"],
  ];
  for (const [body, param] of bad) {
    const e = await expectError(BadRequestError, () => client.chat.completions.create(body));
    assert.equal(e.param, param, JSON.stringify(e.error));
  }

  console.log("all checks passed");
}

if (process.argv.length !== 4) {
  console.error("usage: node openai_sdk.mjs BASE_URL MASTER_KEY");
  process.exit(2);
}
try {
  await main(process.argv[2], process.argv[3]);
} catch (e) {
  console.error(e);
  process.exit(1);
}
