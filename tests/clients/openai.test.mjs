// The official `openai` npm package against `keypool serve` in front of
// `keypool mock` (harness.mjs starts both): chat, streaming, a tool round, and the gateway's
// errors surfaced as the SDK's exception types.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { firstError, gatewayKey, startGateway } from './harness.mjs';

const gw = await startGateway(new URL('fleet.json', import.meta.url).pathname);
after(() => gw.stop());
const baseURL = `${gw.baseURL}/v1`;
const apiKey = gatewayKey;
// No retries: a test must see the gateway's first answer, not the SDK's third.
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 20_000 });
const model = 'groq/llama-3.3-70b-versatile';
const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
    },
  },
};

test('chat: a completion through the gateway names who answered', async () => {
  const { data, response } = await client.chat.completions
    .create({ model, messages: [{ role: 'user', content: 'Hello from the SDK' }] })
    .withResponse();
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('x-keypool-provider'), 'groq');
  assert.match(response.headers.get('x-keypool-key'), /^GROQ_API_KEY_\d$/);
  assert.equal(data.object, 'chat.completion');
  assert.equal(data.choices[0].message.role, 'assistant');
  assert.match(data.choices[0].message.content, /Hello from the SDK/);
  assert.equal(data.choices[0].finish_reason, 'stop');
});

test('chat: stream: true gives chunks that add up to the text, then ends', async () => {
  const stream = await client.chat.completions.create({
    model,
    stream: true,
    messages: [{ role: 'user', content: 'Stream this please' }],
  });
  let text = '';
  let finish = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    const c = chunk.choices[0];
    if (c?.delta?.content) text += c.delta.content;
    if (c?.finish_reason) finish = c.finish_reason;
  }
  assert.ok(chunks > 2, `only ${chunks} chunks`);
  assert.match(text, /Stream this please/);
  assert.equal(finish, 'stop');
});

test('chat: the stream helper assembles the final completion', async () => {
  const runner = client.chat.completions.stream({
    model,
    messages: [{ role: 'user', content: 'Assemble me' }],
  });
  const done = await runner.finalChatCompletion();
  assert.match(done.choices[0].message.content, /Assemble me/);
});

test('tools: a tool definition in, a tool call back, then a tool-result turn', async () => {
  const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const first = await client.chat.completions.create({ model, messages, tools: [weather] });
  const msg = first.choices[0].message;
  assert.equal(first.choices[0].finish_reason, 'tool_calls');
  assert.equal(msg.tool_calls.length, 1);
  const call = msg.tool_calls[0];
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.equal(typeof JSON.parse(call.function.arguments).city, 'string');
  messages.push(msg, { role: 'tool', tool_call_id: call.id, content: 'sunny, 21 degrees' });
  const second = await client.chat.completions.create({ model, messages, tools: [weather] });
  assert.equal(second.choices[0].finish_reason, 'stop');
  assert.match(second.choices[0].message.content, /sunny, 21 degrees/);
});

test('tools: a streamed tool call arrives as deltas the helper assembles', async () => {
  const runner = client.chat.completions.stream({
    model,
    tools: [weather],
    messages: [{ role: 'user', content: 'Weather in Oslo?' }],
  });
  const done = await runner.finalChatCompletion();
  const call = done.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, 'get_weather');
  assert.equal(typeof JSON.parse(call.function.arguments).city, 'string');
});

test('models: the list names provider/model ids', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.ok(ids.some((id) => id.startsWith('groq/')), ids.join(', '));
});

test('errors: a wrong gateway key is an AuthenticationError (401)', async () => {
  const wrong = new OpenAI({ baseURL, apiKey: 'gw-FAKE-wrong-key', maxRetries: 0 });
  await assert.rejects(wrong.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] }), (e) => {
    assert.ok(e instanceof OpenAI.AuthenticationError, `${e.constructor.name}: ${e.message}`);
    assert.equal(e.status, 401);
    assert.match(e.message, /gateway key/);
    return true;
  });
});

test('errors: an unknown model is a NotFoundError (404) naming the model', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'no-such-model-FAKE', messages: [{ role: 'user', content: 'x' }] }),
    (e) => {
      assert.ok(e instanceof OpenAI.NotFoundError, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.status, 404);
      assert.equal(e.code, 'model_not_found');
      assert.match(e.message, /no-such-model-FAKE/);
      return true;
    },
  );
});

test('errors: a model that is not a string is a BadRequestError (400)', async () => {
  await assert.rejects(client.chat.completions.create({ model: 5, messages: [] }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError, `${e.constructor.name}: ${e.message}`);
    assert.equal(e.status, 400);
    assert.match(e.message, /'model' must be a string/);
    return true;
  });
});

test('errors: a malformed body is a 400 in the OpenAI error shape', async () => {
  const r = await fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: '{"model":"auto","messages":[',
  });
  assert.equal(r.status, 400);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  const body = await r.json();
  assert.match(body.error.message, /not valid JSON/);
});

test('errors: every key rate limited is a RateLimitError (429) with retry-after', async () => {
  // MISTRAL_API_KEY_1 allows one request a minute: the second call at the
  // latest finds it locked.
  const ask = () =>
    client.chat.completions.create({ model: 'mistral/mistral-small-latest', messages: [{ role: 'user', content: 'x' }] });
  const error = await firstError(ask);
  assert.ok(error, 'three calls on a one-per-minute key all succeeded');
  assert.ok(error instanceof OpenAI.RateLimitError, `${error.constructor.name}: ${error.message}`);
  assert.equal(error.status, 429);
  const after = Number(error.headers.get('retry-after'));
  assert.ok(Number.isInteger(after) && after > 0, `retry-after: ${error.headers.get('retry-after')}`);
  assert.match(error.message, /MISTRAL/);
});

test('tools: a Gemini 3 tool call round trip gives the model its thought signature back', async () => {
  // Gemini 3 refuses the second turn when a call comes back without the
  // thoughtSignature it was given: it rides in the call's id.
  const gemini = 'google/gemini-3-flash-preview';
  const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const first = await client.chat.completions.create({ model: gemini, messages, tools: [weather] });
  const msg = first.choices[0].message;
  assert.equal(msg.tool_calls.length, 1);
  assert.match(msg.tool_calls[0].id, /__thought__[A-Za-z0-9_-]+$/);
  messages.push(msg, { role: 'tool', tool_call_id: msg.tool_calls[0].id, content: 'sunny, 21 degrees' });
  const second = await client.chat.completions.create({ model: gemini, messages, tools: [weather] });
  assert.equal(second.choices[0].finish_reason, 'stop');
  assert.match(second.choices[0].message.content, /sunny, 21 degrees/);
});
