// Drives headless Chromium over the DevTools protocol for the dashboard tests: opens a
// page in a window of the given width (390 is a phone, with touch and a mobile
// viewport), lets it run for a given real time (its live events keep arriving), then
// prints the live DOM, or with --measure what the charts look like on screen (JSON:
// their text boxes, overlaps, tick labels, rendered font sizes), and optionally saves a
// screenshot.
//
// node --experimental-websocket cdp.mjs <chromium> <url> <wait-ms> [--screenshot=FILE] [--width=PX] [--measure]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [chromium, url, waitMs, ...options] = process.argv.slice(2);
const option = (name) => options.find((o) => o.startsWith(`--${name}`))?.split('=')[1];
const screenshot = option('screenshot');
const width = Number(option('width') ?? 1400);
const measure = options.includes('--measure');
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
// Runs in the page: every chart's text boxes as laid out on screen.
function measureCharts() {
  const charts = [...document.querySelectorAll('figure[data-chart]')].map((figure) => {
    const svg = figure.querySelector('svg');
    const box = svg.getBoundingClientRect();
    const scale = box.width / svg.viewBox.baseVal.width;
    const texts = [...svg.querySelectorAll('text')].map((t) => {
      const r = t.getBoundingClientRect();
      return { cls: t.getAttribute('class'), text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom,
        px: parseFloat(t.getAttribute('font-size')) * scale };
    });
    const overlaps = [];
    for (let i = 0; i < texts.length; i++) {
      for (let j = i + 1; j < texts.length; j++) {
        const [a, b] = [texts[i], texts[j]];
        if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) {
          overlaps.push([a.text, b.text]);
        }
      }
    }
    return {
      name: figure.dataset.chart,
      width: box.width,
      card: figure.getBoundingClientRect().width,
      xTicks: texts.filter((t) => t.cls === 'x-tick').map((t) => t.text),
      yTicks: texts.filter((t) => t.cls === 'y-tick').map((t) => t.text),
      labels: texts.filter((t) => t.cls === 'bar-label' || t.cls === 'bar-value').map((t) => t.text),
      subtitle: texts.filter((t) => t.cls === 'subtitle').map((t) => t.text).join(''),
      overlaps,
      outside: texts.filter((t) => t.left < box.left - 1 || t.right > box.right + 1).map((t) => t.text),
      smallestPx: Math.min(...texts.map((t) => t.px)),
      tooltips: svg.querySelectorAll('rect > title').length,
    };
  });
  // Elements reaching past the screen's right edge (the outermost of each branch).
  const overflowing = [...document.body.querySelectorAll('*')]
    .filter((e) => e.getBoundingClientRect().right > screen.width + 0.5)
    .filter((e) => !(e.parentElement && e.parentElement.getBoundingClientRect().right > screen.width + 0.5 && e.parentElement !== document.body))
    .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className && typeof e.className === 'string' ? '.' + e.className : ''}: ${Math.round(e.getBoundingClientRect().right)}`);
  return JSON.stringify({
    screenWidth: screen.width, innerWidth: window.innerWidth, scrollWidth: document.documentElement.scrollWidth, overflowing, charts,
  });
}

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
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  const mobile = width < 600;
  await send('Emulation.setDeviceMetricsOverride', {
    width, height: mobile ? 844 : 1000, deviceScaleFactor: 1, mobile, screenWidth: width, screenHeight: mobile ? 844 : 1000,
  }, sessionId);
  await send('Page.navigate', { url }, sessionId);
  await new Promise((resolve) => setTimeout(resolve, Number(waitMs)));
  // Measured only once every chart has been drawn for the width of its card.
  for (let tries = 0; measure && tries < 100; tries++) {
    const { result: left } = await send('Runtime.evaluate', {
      expression: "document.querySelectorAll('figure[data-chart]:not([data-fitted])').length", returnByValue: true,
    }, sessionId);
    if (left.value === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const { result } = await send('Runtime.evaluate', {
    expression: measure ? `(${measureCharts})()` : 'document.documentElement.outerHTML', returnByValue: true,
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
