// Starts `keypool mock --config FLEET --write-env DIR/.env` and `keypool
// serve` over that .env on an ephemeral port (both parse the port they
// bound from the first line they print: never a fixed port), and stops
// them. The keypool program is $KEYPOOL (run.sh sets it).
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const gatewayKey = 'gw-FAKE-client-tests-key';

// A child process and everything it printed so far.
function start(args, name) {
  const child = spawn(process.env.KEYPOOL, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (out.stdout += d));
  child.stderr.on('data', (d) => (out.stderr += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, out, exited, name };
}

// Resolves with the match of `re` in the child's stdout, or rejects with
// what it printed when it exits first or 20 s pass.
function waitFor(p, re, stream = 'stdout') {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail('no match in 20 s'), 20_000);
    function fail(why) {
      clearTimeout(timer);
      reject(new Error(`${p.name}: ${why}: ${re}\nstdout: ${p.out.stdout}\nstderr: ${p.out.stderr}`));
    }
    function check() {
      const m = p.out[stream].match(re);
      if (!m) return false;
      clearTimeout(timer);
      p.child[stream].off('data', check);
      resolve(m);
      return true;
    }
    if (check()) return;
    p.child[stream].on('data', check);
    p.exited.then(() => check() || fail('exited'));
  });
}

// The mock fleet of `fleetConfig` (a path) and the gateway in front of it,
// with `gatewayKey`. `envFilter(line)` may drop lines of the written .env
// (a key to add later). Returns { baseURL, envFile, serve, mock, stop }.
export async function startGateway(fleetConfig, { envFilter = () => true } = {}) {
  if (!process.env.KEYPOOL) throw new Error('KEYPOOL (the keypool program) is not set');
  const dir = mkdtempSync(join(tmpdir(), 'keypool-clients-'));
  const written = join(dir, 'fleet.env');
  const envFile = join(dir, '.env');
  const mock = start(['mock', '--config', fleetConfig, '--write-env', written], 'keypool mock');
  await waitFor(mock, /wrote the fleet's fake keys/);
  const lines = readFileSync(written, 'utf8').split('\n');
  appendFileSync(envFile, lines.filter(envFilter).join('\n') + `\nKEYPOOL_GATEWAY_KEY_1=${gatewayKey}\n`);
  const serve = start(
    ['serve', '--env', envFile, '--ignore-environment', '--state', 'none', '--listen', '127.0.0.1:0',
     '--stats-every', '0'],
    'keypool serve',
  );
  const [, port] = await waitFor(serve, /listening on http:\/\/127\.0\.0\.1:(\d+) /);
  return {
    baseURL: `http://127.0.0.1:${port}`,
    envFile,
    fleetLines: lines,
    serve,
    mock,
    waitFor,
    // SIGTERM to both; resolves with their exits and output, or rejects
    // when serve does not exit within 20 s (a drain that never ends).
    async stop() {
      serve.child.kill('SIGTERM');
      let timer;
      const late = new Promise((resolve) => (timer = setTimeout(resolve, 20_000, 'late')));
      const s = await Promise.race([serve.exited, late]);
      clearTimeout(timer);
      mock.child.kill('SIGTERM');
      if (s === 'late') serve.child.kill('SIGKILL');
      const m = await mock.exited;
      rmSync(dir, { recursive: true, force: true });
      if (s === 'late') throw new Error(`keypool serve did not exit within 20 s of SIGTERM\n${serve.out.stderr}`);
      return { serve: { ...s, ...serve.out }, mock: { ...m, ...mock.out } };
    },
  };
}

// The first error of up to `tries` calls of `call`, or undefined when every
// call succeeded (a one-per-minute key is locked by the second call at the
// latest).
export async function firstError(call, tries = 3) {
  for (let i = 0; i < tries; i++) {
    try {
      await call();
    } catch (e) {
      return e;
    }
  }
  return undefined;
}
