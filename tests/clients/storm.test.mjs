// A 429 storm: 64 concurrent callers send 20 000 requests through
// `keypool serve` to a fleet where half the keys are rate limited (three
// of six allow one request a minute). Groq keeps three good keys, so its
// requests succeed after failover; Mistral's only key is limited, so its
// requests get the gateway's 429. Zero requests lost, every answer a
// success or a 429 with Retry-After, and the statistics add up: the keys'
// successes are the callers' 200s, the mock served what the keys were
// charged with, and the gateway answered every request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { gatewayKey, startGateway } from './harness.mjs';

const total = 20_000;
const callers = 64;

function body(i) {
  const model = i % 2 === 0 ? 'groq/llama-3.3-70b-versatile' : 'mistral/mistral-small-latest';
  return JSON.stringify({ model, messages: [{ role: 'user', content: `storm ${i}` }] });
}

// One request on a kept-alive connection (node:http: lighter than fetch,
// so the callers do not starve the gateway on a small machine): its status,
// and what is wrong with the answer ('' when it is a complete 200 or a 429
// with Retry-After).
function ask(agent, url, i) {
  const payload = body(i);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      agent,
      method: 'POST',
      headers: {
        authorization: `Bearer ${gatewayKey}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
      },
    });
    req.on('error', reject);
    req.on('response', (r) => {
      const parts = [];
      r.on('data', (d) => parts.push(d));
      r.on('error', reject);
      r.on('end', () => {
        if (!r.complete) return reject(new Error(`request ${i}: the answer was cut off`));
        resolve(judge(r.statusCode, r.headers['retry-after'], Buffer.concat(parts).toString()));
      });
    });
    req.end(payload);
  });
}

function judge(status, after, text) {
  if (status === 200) return { status, wrong: JSON.parse(text).choices?.length === 1 ? '' : text };
  if (status !== 429) return { status, wrong: text };
  if (!/^[1-9][0-9]*$/.test(after ?? '')) return { status, wrong: `Retry-After: ${after}` };
  return { status, wrong: JSON.parse(text).error?.code === 'all_keys_unavailable' ? '' : text };
}

const sum = (xs, f) => xs.reduce((a, x) => a + f(x), 0);

test('429 storm: 20 000 requests from 64 callers, none lost, statistics add up', async () => {
  const gw = await startGateway(new URL('storm_fleet.json', import.meta.url).pathname);
  const url = `${gw.baseURL}/v1/chat/completions`;
  const agent = new Agent({ keepAlive: true, maxSockets: callers });
  const counts = new Map();
  const problems = [];
  let next = 0;
  async function caller() {
    for (let i = next++; i < total; i = next++) {
      try {
        const { status, wrong } = await ask(agent, url, i);
        counts.set(status, (counts.get(status) ?? 0) + 1);
        if (wrong && problems.length < 5) problems.push(`request ${i}: ${status} ${wrong}`);
      } catch (e) {
        counts.set('error', (counts.get('error') ?? 0) + 1);
        if (problems.length < 5) problems.push(`request ${i}: ${e.cause?.code ?? e.message}`);
      }
    }
  }
  let stats;
  let stopped;
  try {
    await Promise.all(Array.from({ length: callers }, caller));
    const r = await fetch(`${gw.baseURL}/stats`, {
      headers: { authorization: `Bearer ${gatewayKey}`, accept: 'application/json' },
    });
    stats = await r.json();
  } finally {
    agent.destroy();
    stopped = await gw.stop();
  }
  assert.deepEqual(problems, []);
  const ok = counts.get(200) ?? 0;
  const limited = counts.get(429) ?? 0;
  assert.equal(ok + limited, total, `answers by status: ${JSON.stringify([...counts])}`);
  assert.ok(ok >= total / 2, `only ${ok} successes`);
  assert.ok(limited > 0, 'no 429 at all: the storm did not happen');

  const keys = stats.providers.flatMap((p) => p.keys);
  const successes = sum(keys, (k) => k.successes);
  const attempts = sum(keys, (k) => k.requests);
  assert.equal(successes, ok, 'the keys\' successes are the callers\' 200s');
  assert.equal(attempts, successes + sum(keys, (k) => k.failures), 'every attempt is a success or a failure');
  assert.ok(sum(keys, (k) => k.failures_by_kind.rate_limited) >= 3, 'each limited key was told 429 once at least');

  // The mock served exactly what the gateway charged its keys with.
  const served = [...stopped.mock.stdout.matchAll(/: (\d+) requests, (\d+) ok, (\d+) rate limited/g)];
  assert.equal(sum(served, (m) => Number(m[1])), attempts, stopped.mock.stdout);
  assert.equal(sum(served, (m) => Number(m[2])), ok, stopped.mock.stdout);

  // The gateway answered every request (and the /stats one).
  assert.equal(stopped.serve.code, 0, stopped.serve.stderr);
  assert.match(stopped.serve.stdout, new RegExp(`stopped; ${total + 1} requests answered`));
});
