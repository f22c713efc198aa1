// SIGHUP and SIGTERM during load: 16 callers keep sending (plain and
// streamed) through `keypool serve`; a key is added to the .env and SIGHUP
// reloads it (later answers name it); then SIGTERM: every request gets a
// complete answer, or no answer at all only once SIGTERM was sent (the
// listener closed: the request was never read); serve exits 0 with the
// final table, and its count of answered requests is what the callers got.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { gatewayKey, startGateway } from './harness.mjs';

const callers = 16;
const added = 'GROQ_API_KEY_2';

// One request; resolves with { key, complete } once the whole answer
// arrived, rejects with { unanswered } when no response head came back,
// or with { cut } when the answer stopped short.
async function ask(url, i) {
  const stream = i % 2 === 1;
  let r;
  try {
    r = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${gatewayKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'groq/llama-3.3-70b-versatile',
        stream,
        messages: [{ role: 'user', content: `load ${i}` }],
      }),
    });
  } catch (e) {
    throw { unanswered: e.cause?.code ?? e.message };
  }
  let text;
  try {
    text = await r.text();
  } catch (e) {
    throw { cut: `request ${i}: ${r.status}, then ${e.cause?.code ?? e.message}` };
  }
  const complete = stream ? text.trimEnd().endsWith('data: [DONE]') : JSON.parse(text).choices?.length === 1;
  if (r.status !== 200 || !complete) throw { cut: `request ${i}: ${r.status} ${text.slice(-200)}` };
  return r.headers.get('x-keypool-key');
}

test('SIGHUP reloads a new key and SIGTERM drains, under load, with no request lost', async () => {
  const gw = await startGateway(new URL('fleet.json', import.meta.url).pathname, {
    envFilter: (line) => !line.startsWith(`${added}=`),
  });
  const url = `${gw.baseURL}/v1/chat/completions`;
  const state = { next: 0, answered: 0, unanswered: 0, terminated: false, keys: new Set(), problems: [] };
  // when(predicate) resolves the first time predicate() holds after an
  // answer or a failure.
  let waiters = [];
  const when = (predicate) => new Promise((resolve) => waiters.push({ predicate, resolve }));
  const notify = () => {
    const ready = waiters.filter((w) => w.predicate());
    waiters = waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  };
  async function caller() {
    for (;;) {
      const i = state.next++;
      try {
        state.keys.add(await ask(url, i));
        state.answered++;
      } catch (e) {
        if (e.unanswered && state.terminated) {
          state.unanswered++;
          return;  // the listener closed: this caller is done
        }
        state.problems.push(e.cut ?? `request ${i} unanswered before SIGTERM: ${e.unanswered ?? e}`);
        notify();
        return;
      }
      notify();
    }
  }
  const load = Promise.all(Array.from({ length: callers }, caller));
  const failed = () => state.problems.length > 0;

  await when(() => state.answered >= 100 || failed());
  assert.ok(!state.keys.has(added), `${added} answered before it was in the .env`);
  const line = gw.fleetLines.find((l) => l.startsWith(`${added}=`));
  appendFileSync(gw.envFile, `${line}\n`);
  gw.serve.child.kill('SIGHUP');
  await gw.waitFor(gw.serve, /keys reloaded \(1 added, 0 removed\)/, 'stderr');
  const before = state.answered;
  await when(() => (state.keys.has(added) && state.answered >= before + 100) || failed());
  assert.deepEqual(state.problems, []);

  state.terminated = true;
  const stopped = gw.stop();
  await load;
  const { serve } = await stopped;
  assert.deepEqual(state.problems, []);
  assert.ok(state.keys.has(added), `no answer named ${added} after the reload`);
  assert.equal(serve.code, 0, serve.stderr);
  assert.match(serve.stdout, /API KEY STATISTICS/);
  const [, count] = serve.stdout.match(/stopped; (\d+) requests answered/);
  assert.equal(Number(count), state.answered, `gateway answered ${count}, callers got ${state.answered}`);
  assert.equal(state.unanswered, callers, 'each caller ends at the closed listener');
});
