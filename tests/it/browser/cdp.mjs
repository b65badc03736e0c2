// Drives headless Chromium over the DevTools protocol for the dashboard tests: opens a
// page in a window of the given width (390 is a phone, with touch and a mobile
// viewport), lets it run for a given real time (its live events keep arriving), then
// prints the live DOM, or with --measure what the charts look like on screen (JSON:
// their text boxes, overlaps, tick labels, rendered font sizes), and optionally saves a
// screenshot. Before that, --act steps use the page as a person does: `click:SELECTOR`
// clicks the middle of the element with the mouse, `pick:SELECTOR=VALUE` chooses an
// option of a select (a native menu headless Chromium cannot open), `wait:MS` lets the
// page refresh, `until:EXPR` waits (up to 30 s) until a JavaScript expression holds.
//
// node --experimental-websocket cdp.mjs <chromium> <url> <wait-ms> [--screenshot=FILE] [--width=PX] [--measure]
//   [--act=click:SELECTOR] [--act=pick:SELECTOR=VALUE] [--act=wait:MS] [--act=until:EXPR] ...
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [chromium, url, waitMs, ...options] = process.argv.slice(2);
const option = (name) => options.find((o) => o.startsWith(`--${name}`))?.split('=')[1];
const acts = options.filter((o) => o.startsWith('--act=')).map((o) => o.slice('--act='.length));
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
setTimeout(() => fail('timed out'), 90_000).unref();

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
      circles: svg.querySelectorAll('circle > title').length,
    };
  });
  // Elements reaching past the screen's right edge (the outermost of each branch).
  const overflowing = [...document.body.querySelectorAll('*')]
    .filter((e) => e.getBoundingClientRect().right > screen.width + 0.5)
    .filter((e) => !(e.parentElement && e.parentElement.getBoundingClientRect().right > screen.width + 0.5 && e.parentElement !== document.body))
    .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className && typeof e.className === 'string' ? '.' + e.className : ''}: ${Math.round(e.getBoundingClientRect().right)}`);
  // Words of table cells that a line break cuts in two (a word laid out on two lines);
  // a break after a hyphen (`i3-` / `N305`) is typography's own and allowed.
  const brokenWords = [];
  for (const cell of document.querySelectorAll('td')) {
    for (const node of cell.childNodes) {
      if (node.nodeType !== Node.TEXT_NODE) continue;
      for (const match of node.textContent.matchAll(/[^\s-]+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (lines.size > 1) brokenWords.push(match[0]);
      }
    }
  }
  // The smallest font of any visible text outside the charts (theirs is measured above).
  const sizes = [...document.body.querySelectorAll('*')]
    .filter((e) => !e.closest('svg') && e.getClientRects().length > 0
      && [...e.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim()))
    .map((e) => parseFloat(getComputedStyle(e).fontSize));
  return JSON.stringify({
    screenWidth: screen.width, innerWidth: window.innerWidth, scrollWidth: document.documentElement.scrollWidth, overflowing, charts,
    brokenWords, smallestTextPx: Math.min(...sizes),
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
  const evaluate = async (expression) => {
    const { result, exceptionDetails } = await send('Runtime.evaluate', { expression, returnByValue: true }, sessionId);
    if (exceptionDetails) throw new Error(`${expression}: ${JSON.stringify(exceptionDetails)}`);
    return result.value;
  };
  for (const act of acts) {
    const [kind, arg] = [act.slice(0, act.indexOf(':')), act.slice(act.indexOf(':') + 1)];
    if (kind === 'wait') {
      await new Promise((resolve) => setTimeout(resolve, Number(arg)));
    } else if (kind === 'until') {
      // Polls an expression until it holds (a page loaded after a click), for up to 30 s.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const held = await evaluate(`(() => { try { return !!(${arg}); } catch { return false; } })()`).catch(() => false);
        if (held) break;
        if (Date.now() > deadline) throw new Error(`still not true after 30 s: ${arg}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } else if (kind === 'pick') {
      const [selector, value] = [arg.slice(0, arg.lastIndexOf('=')), arg.slice(arg.lastIndexOf('=') + 1)];
      const done = await evaluate(`(() => { const e = document.querySelector(${JSON.stringify(selector)}); if (!e) return false;
        e.value = ${JSON.stringify(value)}; e.dispatchEvent(new Event('change', { bubbles: true })); return e.value === ${JSON.stringify(value)}; })()`);
      if (!done) throw new Error(`cannot pick ${value} in ${selector}`);
    } else if (kind === 'click') {
      const box = await evaluate(`(() => { const e = document.querySelector(${JSON.stringify(arg)}); if (!e) return null;
        e.scrollIntoView({ block: 'center' }); const r = e.getBoundingClientRect(); return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; })()`);
      if (!box) throw new Error(`nothing to click at ${arg}`);
      for (const type of ['mouseMoved', 'mousePressed', 'mouseReleased']) {
        await send('Input.dispatchMouseEvent', { type, x: box.x, y: box.y, button: 'left', clickCount: 1 }, sessionId);
      }
    } else {
      throw new Error(`unknown step ${act}`);
    }
  }
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
