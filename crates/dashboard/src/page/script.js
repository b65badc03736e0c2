(() => {
  // WORDS (set by the server, before this script): the page's language.
  const query = document.body.dataset.query;
  const live = document.body.dataset.live === 'true';
  const $ = (id) => document.getElementById(id);
  // Money and counts as the server writes them: 88 138 037,42 zł, 18 964 405.
  const group = (digits) => String(digits).replace(/\B(?=(\d{3})+(?!\d))/g, '\u00a0');
  const pln = (g) => (g < 0 ? '-' : '') + group(String(Math.floor(Math.abs(g) / 100))) + ',' + String(Math.abs(g) % 100).padStart(2, '0') + ' zł';
  const label = (code) => WORDS.labels[code] || code;
  const months = ['sty', 'lut', 'mar', 'kwi', 'maj', 'cze', 'lip', 'sie', 'wrz', 'paź', 'lis', 'gru'];
  // An instant in Polish time, as the server writes it: 7 gru 2026 22:41:03.
  const instant = (ms) => {
    const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Warsaw', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    }).formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
    return `${Number(parts.day)} ${months[Number(parts.month) - 1]} ${parts.year} ${parts.hour}:${parts.minute}:${parts.second}`;
  };
  const delta = (now, then, against = WORDS.vsPrevious) => {
    if (then === undefined) return '\u00a0';
    if (then <= 0) return WORDS.noPrevious;
    const change = (now - then) / then * 100;
    const [arrow, cls] = change >= 0.05 ? ['▲', 'up'] : change <= -0.05 ? ['▼', 'down'] : ['=', 'flat'];
    return `<span class="${cls}">${arrow} ${Math.abs(change).toFixed(1).replace('.', ',')} %</span> ${against}`;
  };

  // A preset and a from/to span exclude each other: choosing one clears the other.
  const range = $('range');
  range.addEventListener('change', () => { if (range.value) { $('from').value = ''; $('to').value = ''; } });
  for (const id of ['from', 'to']) {
    $(id).addEventListener('change', () => { if ($(id).value) range.value = ''; });
  }

  // A click on a bar or a legend entry adds its value to the filter, or takes it out
  // when it is already there.
  document.addEventListener('click', (event) => {
    const mark = event.target.closest && event.target.closest('[data-filter]');
    if (!mark) return;
    const params = new URLSearchParams(location.search);
    const key = mark.dataset.filter, value = mark.dataset.value;
    const chosen = params.getAll(key).flatMap((v) => v.split(',')).filter((v) => v);
    params.delete(key);
    const next = chosen.includes(value) ? chosen.filter((v) => v !== value) : chosen.concat([value]);
    for (const v of next) params.append(key, v);
    location.search = params.toString();
  });

  // Charts are drawn by the server for the width of their card, so text stays its
  // size on a phone; they are fetched again at most every five seconds.
  let chartsAt = 0, chartTimer = null;
  async function refreshCharts() {
    chartsAt = Date.now();
    await Promise.all([...document.querySelectorAll('figure[data-chart]')].map(async (figure) => {
      const width = Math.max(240, Math.round(figure.clientWidth - 12));
      const response = await fetch('/chart/' + figure.dataset.chart + '.svg?' + query + (query ? '&' : '') + 'w=' + width);
      if (response.ok) {
        figure.querySelector('.plot').innerHTML = await response.text();
        figure.dataset.fitted = width;
      }
    }));
  }
  const chartsSoon = () => {
    if (chartTimer) return;
    chartTimer = setTimeout(() => { chartTimer = null; refreshCharts(); }, Math.max(0, 5000 - (Date.now() - chartsAt)));
  };
  refreshCharts();
  let resized = null;
  window.addEventListener('resize', () => { clearTimeout(resized); resized = setTimeout(refreshCharts, 300); });
  const rows = (id, list, cells) => {
    const body = $(id).tBodies[0];
    body.replaceChildren(...list.map((item) => {
      const tr = document.createElement('tr');
      for (const [text, cls] of cells(item)) {
        const td = document.createElement('td');
        td.textContent = text;
        if (cls) td.className = cls;
        tr.appendChild(td);
      }
      return tr;
    }));
  };
  if (!live) return;

  let busy = false, again = false, screen = [], connected = false, written = [];
  const chosen = new URLSearchParams(query);
  const values = (key) => chosen.getAll(key).flatMap((v) => v.split(',')).filter((v) => v);
  const regions = values('region'), categories = values('category');
  const inSelection = (o) => (!regions.length || regions.includes(o.region))
    && (!categories.length || categories.includes(o.kategoria_produktu));
  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const s = await (await fetch('/api/summary?' + query)).json();
      if (s.error) { $('status').textContent = s.error; return; }
      $('k-orders').textContent = group(s.orders);
      $('k-gross').textContent = pln(s.gross_value_grosz);
      $('k-net').textContent = pln(s.net_value_grosz);
      $('k-units').textContent = group(s.units);
      $('k-aov').textContent = pln(Math.round(s.avg_order_value * 100));
      const p = s.previous || {};
      $('k-orders-delta').innerHTML = delta(s.orders, p.orders);
      $('k-gross-delta').innerHTML = delta(s.gross_value, p.gross_value);
      $('k-net-delta').innerHTML = delta(s.net_value, p.net_value);
      $('k-units-delta').innerHTML = delta(s.units, p.units);
      $('k-aov-delta').innerHTML = delta(s.avg_order_value, p.avg_order_value);
      const y = s.year_ago;
      const yoy = (now, then) => (y ? delta(now, then, WORDS.vsYearAgo) : '');
      $('k-orders-yoy').innerHTML = yoy(s.orders, y && y.orders);
      $('k-gross-yoy').innerHTML = yoy(s.gross_value, y && y.gross_value);
      $('k-net-yoy').innerHTML = yoy(s.net_value, y && y.net_value);
      $('k-units-yoy').innerHTML = yoy(s.units, y && y.units);
      $('k-aov-yoy').innerHTML = yoy(s.avg_order_value, y && y.avg_order_value);
      $('k-repeat').textContent = group(s.repeat_customers.orders);
      const ranked = (r) => [[r.name], [label(r.group), 'muted'], [group(r.orders), 'num'], [pln(r.gross_value_grosz), 'num']];
      rows('top-products', s.top_products, ranked);
      rows('top-stores', s.top_stores, ranked);
      chartsSoon();
    } catch (e) {
      $('status').textContent = WORDS.refreshFailed + ': ' + e;
    } finally {
      busy = false;
      if (again) { again = false; setTimeout(refresh, 250); }
    }
  }
  const stream = new EventSource('/api/live');
  stream.addEventListener('open', () => { $('status').textContent = WORDS.live; });
  stream.addEventListener('error', () => { $('status').textContent = WORDS.reconnecting; });
  stream.addEventListener('snapshot', (event) => {
    const snap = JSON.parse(event.data);
    const now = Date.now();
    // The rate over the last ten seconds of snapshots, not between two of them.
    written.push({ at: now, count: snap.written });
    while (written.length > 2 && now - written[1].at >= 10000) written.shift();
    const first = written[0];
    if (now - first.at >= 1000) {
      const rate = (snap.written - first.count) * 1000 / (now - first.at);
      $('h-rate').textContent = group(Math.max(0, Math.round(rate))) + ' ' + WORDS.perSecond;
    }
    $('h-written').textContent = group(snap.written);
    snap.sinks.forEach(([, count], i) => { if ($('h-sink-' + i)) $('h-sink-' + i).textContent = group(count); });
    $('h-consumed').textContent = group(snap.consumed);
    $('h-dead').textContent = group(snap.dead_letters);
    $('h-late').textContent = group(snap.late);
    $('h-lag').textContent = group(Math.max(0, snap.lag));
    $('h-ready').textContent = snap.ready ? WORDS.yes : WORDS.no;
    if (snap.newest_ms !== null) {
      $('h-newest').textContent = instant(snap.newest_ms);
      $('newest').textContent = WORDS.dataUpTo + ' ' + instant(snap.newest_ms);
    }
    if (snap.durable_ms !== null) $('h-durable').textContent = instant(snap.durable_ms);
    rows('ticker', snap.ticker.filter(inSelection).slice(0, 10), (o) => [[o.timestamp.slice(11, 19)], [o.store_id], [o.nazwa_produktu], [pln(Math.round(o.wartosc_brutto * 100)), 'num']]);
    // The first snapshot after connecting may be old news; later ones are pushed
    // because orders arrived, so they measure the order-to-screen delay.
    const fresh = connected;
    connected = true;
    if (fresh && snap.ticker.length) {
      // Order to screen: from the newest order's timestamp to now, on this screen.
      const ms = Date.now() - Date.parse(snap.ticker[0].timestamp);
      screen = screen.concat([ms]).slice(-50);
      const sorted = [...screen].sort((a, b) => a - b);
      $('h-screen').textContent = ms + ' ms (median ' + sorted[Math.floor(sorted.length / 2)] + ' ms)';
      $('h-screen').dataset.samples = screen.join(',');
    }
    $('status').textContent = WORDS.live;
    refresh();
  });
})();
