// The official `@anthropic-ai/sdk` npm package against `keypool serve`'s
// /v1/messages, routed to the mock's anthropic provider (harness.mjs starts
// both): create, stream, a
// tool_use round, and the gateway's errors as the SDK's exception types.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { firstError, gatewayKey, startGateway } from './harness.mjs';

const gw = await startGateway(new URL('fleet.json', import.meta.url).pathname);
after(() => gw.stop());
const baseURL = gw.baseURL;
const apiKey = gatewayKey;
// No retries: a test must see the gateway's first answer, not the SDK's third.
const client = new Anthropic({ baseURL, apiKey, maxRetries: 0, timeout: 20_000 });
const model = 'anthropic/claude-haiku-4-5';
const weather = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

test('messages: create through the gateway names who answered', async () => {
  const { data, response } = await client.messages
    .create({ model, max_tokens: 256, messages: [{ role: 'user', content: 'Hello from the SDK' }] })
    .withResponse();
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('x-keypool-provider'), 'anthropic');
  assert.match(response.headers.get('x-keypool-key'), /^ANTHROPIC_API_KEY_\d$/);
  assert.equal(data.type, 'message');
  assert.equal(data.role, 'assistant');
  assert.equal(data.stop_reason, 'end_turn');
  assert.equal(data.content[0].type, 'text');
  assert.match(data.content[0].text, /Hello from the SDK/);
});

test('messages: a stream of events the helper assembles into the message', async () => {
  const stream = client.messages.stream({
    model,
    max_tokens: 256,
    messages: [{ role: 'user', content: 'Stream this please' }],
  });
  let text = '';
  stream.on('text', (t) => {
    text += t;
  });
  const final = await stream.finalMessage();
  assert.match(text, /Stream this please/);
  assert.equal(final.content[0].text, text);
  assert.equal(final.stop_reason, 'end_turn');
});

test('messages: stream: true yields the raw events in order', async () => {
  const events = await client.messages.create({
    model,
    max_tokens: 256,
    stream: true,
    messages: [{ role: 'user', content: 'Raw events' }],
  });
  const types = [];
  for await (const e of events) types.push(e.type);
  assert.equal(types[0], 'message_start');
  assert.equal(types.at(-1), 'message_stop');
  assert.ok(types.includes('content_block_delta'), types.join(', '));
});

test('tools: a tool_use answer, then a tool_result turn', async () => {
  const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const first = await client.messages.create({ model, max_tokens: 256, messages, tools: [weather] });
  assert.equal(first.stop_reason, 'tool_use');
  const use = first.content.find((b) => b.type === 'tool_use');
  assert.ok(use, JSON.stringify(first.content));
  assert.equal(use.name, 'get_weather');
  assert.equal(typeof use.input.city, 'string');
  messages.push(
    { role: 'assistant', content: first.content },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny, 21 degrees' }] },
  );
  const second = await client.messages.create({ model, max_tokens: 256, messages, tools: [weather] });
  assert.equal(second.stop_reason, 'end_turn');
  assert.match(second.content[0].text, /sunny, 21 degrees/);
});

test('tools: a streamed tool_use is assembled with its input', async () => {
  const final = await client.messages
    .stream({ model, max_tokens: 256, tools: [weather], messages: [{ role: 'user', content: 'Weather in Oslo?' }] })
    .finalMessage();
  const use = final.content.find((b) => b.type === 'tool_use');
  assert.ok(use, JSON.stringify(final.content));
  assert.equal(typeof use.input.city, 'string');
});

test('errors: a wrong gateway key is an AuthenticationError (401) in Anthropic shape', async () => {
  const wrong = new Anthropic({ baseURL, apiKey: 'gw-FAKE-wrong-key', maxRetries: 0 });
  await assert.rejects(
    wrong.messages.create({ model, max_tokens: 16, messages: [{ role: 'user', content: 'x' }] }),
    (e) => {
      assert.ok(e instanceof Anthropic.AuthenticationError, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.status, 401);
      assert.equal(e.error.type, 'error');
      assert.equal(e.error.error.type, 'authentication_error');
      return true;
    },
  );
});

test('errors: an unknown model is a NotFoundError (404)', async () => {
  await assert.rejects(
    client.messages.create({ model: 'no-such-model-FAKE', max_tokens: 16, messages: [{ role: 'user', content: 'x' }] }),
    (e) => {
      assert.ok(e instanceof Anthropic.NotFoundError, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.status, 404);
      assert.equal(e.error.type, 'error');
      assert.match(e.error.error.message, /no-such-model-FAKE/);
      return true;
    },
  );
});

test('errors: every key rate limited is a RateLimitError (429) with retry-after', async () => {
  // Translated to Mistral, whose one key allows one request a minute: the
  // second call at the latest finds it locked.
  const ask = () =>
    client.messages.create({
      model: 'mistral/mistral-small-latest',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'x' }],
    });
  const error = await firstError(ask);
  assert.ok(error, 'three calls on a one-per-minute key all succeeded');
  assert.ok(error instanceof Anthropic.RateLimitError, `${error.constructor.name}: ${error.message}`);
  assert.equal(error.status, 429);
  assert.equal(error.error.type, 'error');
  assert.equal(error.error.error.type, 'rate_limit_error');
  assert.match(error.error.error.message, /MISTRAL/);
  const after = Number(error.headers.get('retry-after'));
  assert.ok(Number.isInteger(after) && after > 0, `retry-after: ${error.headers.get('retry-after')}`);
});
