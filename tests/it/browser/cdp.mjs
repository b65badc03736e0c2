// Drives headless Chromium over the DevTools protocol for the dashboard test: opens a
// page, lets it run for a given real time (its live events keep arriving), then prints
// the live DOM and optionally saves a screenshot.
//
// node --experimental-websocket cdp.mjs <chromium> <url> <wait-ms> [screenshot.png]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [chromium, url, waitMs, screenshot] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), 'orderstream-chromium-'));
const browser = spawn(chromium, [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--hide-scrollbars',
  '--window-size=1400,1900', '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe'] });

const cleanUp = async () => {
  browser.removeAllListeners('exit');
  if (browser.exitCode === null) {
    const exited = new Promise((resolve) => browser.once('exit', resolve));
    browser.kill('SIGKILL');
    await exited;
  }
  try { rmSync(profile, { recursive: true, force: true }); } catch { /* a temp dir left behind */ }
};
const fail = async (message) => {
  console.error(`cdp: ${message}`);
  await cleanUp();
  process.exit(1);
};
setTimeout(() => fail('timed out'), 60_000).unref();

const endpoint = await new Promise((resolve) => {
  let log = '';
  browser.stderr.on('data', (chunk) => {
    log += chunk;
    const found = log.match(/DevTools listening on (ws:\/\/\S+)/);
    if (found) resolve(found[1]);
  });
  browser.on('exit', (code) => fail(`chromium exited (${code}) before listening:\n${log}`));
});

const socket = new WebSocket(endpoint);
await new Promise((resolve, reject) => { socket.onopen = resolve; socket.onerror = reject; });
let nextId = 0;
const pending = new Map();
socket.onmessage = (event) => {
  const message = JSON.parse(event.data);
  const waiter = pending.get(message.id);
  if (waiter) {
    pending.delete(message.id);
    message.error ? waiter.reject(new Error(JSON.stringify(message.error))) : waiter.resolve(message.result);
  }
};
const send = (method, params = {}, sessionId) => new Promise((resolve, reject) => {
  const id = ++nextId;
  pending.set(id, { resolve, reject });
  socket.send(JSON.stringify({ id, method, params, sessionId }));
});

try {
  const { targetId } = await send('Target.createTarget', { url });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  await new Promise((resolve) => setTimeout(resolve, Number(waitMs)));
  const { result } = await send('Runtime.evaluate', {
    expression: 'document.documentElement.outerHTML', returnByValue: true,
  }, sessionId);
  if (screenshot) {
    const { data } = await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true }, sessionId);
    writeFileSync(screenshot, Buffer.from(data, 'base64'));
  }
  process.stdout.write(result.value);
} catch (error) {
  await fail(String(error));
}
await cleanUp();
process.exit(0);
