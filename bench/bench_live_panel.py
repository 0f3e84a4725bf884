"""Times the live panel: one refresh of 10 metrics × 100,000 points, a refresh at 10,000 metrics, the browser.

    .venv/bin/python bench/bench_live_panel.py [--metrics 10] [--points 100000] [--repeats 20]
    .venv/bin/python bench/bench_live_panel.py --scale      # kernel cost and bytes of a refresh at 10,000 metrics
    .venv/bin/python bench/bench_live_panel.py --browser    # Chromium: first paint, frame cost, drawing libraries

``--scale`` holds 10,000 metrics × ``--scale-steps`` points in a real run's panel and times one
widget refresh (the charts on screen only: 24 by default), against packing every metric as
the panel did before it sent only what is on screen. ``--browser`` loads the panel's module in
Chromium (Playwright, ``/usr/bin/chromium``) on a stand-in model, without JupyterLab: the first
paint of 100 / 1,000 / 10,000 metrics (all charts on screen drawn), the main-thread cost of one
refresh of the 24 charts on screen, and the same grid drawn with plotly.js (SVG), plotly.js
``scattergl`` and uPlot, the reason the live grid draws with uPlot. Medians of ``--repeats``
interleaved repetitions; the load average is printed beside.

A refresh of the widget is ``build_update`` (min/max-bucket downsampling of every metric to at
most 1,500 points and packing the columns into one binary buffer: float64 values, float32 times); smoothing then runs
in the browser. The figure the target (≤ 20 ms) is judged on also smooths every downsampled
line in Python (``tensorboard_ema``), as the static fallback does, so it bounds both views.
Also printed: the bytes one refresh sends, the static figure's size, and how the refresh cost
grows with the series (1,000 → 1,000,000 points per metric). Best of ``--repeats``, in ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jupyter_tracker.notebook.live_feed import LiveFeed  # noqa: E402
from jupyter_tracker.notebook.live_panel import build_update  # noqa: E402
from jupyter_tracker.notebook.live_static import static_bundle  # noqa: E402
from jupyter_tracker.smoothing import tensorboard_ema  # noqa: E402

TARGET_MS = 20.0


def make_feed(metrics: int, points: int, seed: int = 0) -> LiveFeed:
    """A feed holding ``metrics`` random-walk metrics of ``points`` points (fed in writer-sized batches)."""
    rng = np.random.default_rng(seed)
    feed = LiveFeed()
    names = [f"{'train' if k % 2 else 'val'}/metric_{k}" for k in range(metrics)]
    walks = {name: np.cumsum(rng.normal(size=points)).tolist() for name in names}
    batch = 2048
    for start in range(0, points, batch):
        records = [
            ("h", step, 1.7e9 + step * 0.01, step * 0.01, {name: walks[name][step] for name in names})
            for step in range(start, min(points, start + batch))
        ]
        feed.observe(start + 1, records)
    return feed


def best_ms(action, repeats: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        action()
        best = min(best, (time.perf_counter() - began) * 1000)
    return best


def refresh_with_smoothing(feed: LiveFeed) -> int:
    snapshot = feed.snapshot()
    index, data = build_update(snapshot)
    for metric in index["metrics"]:
        start = metric["offset"]
        for column, dtype in zip(metric["columns"], metric["dtypes"], strict=True):
            end = start + metric["count"] * (4 if dtype == "f4" else 8)
            if column == "value":
                tensorboard_ema(np.frombuffer(data[start:end], dtype=np.float64), 0.6)
            start = end
    return len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=20)
    arguments = parser.parse_args()

    feed = make_feed(arguments.metrics, arguments.points)
    update_ms = best_ms(lambda: build_update(feed.snapshot()), arguments.repeats)
    refresh_ms = best_ms(lambda: refresh_with_smoothing(feed), arguments.repeats)
    index, data = build_update(feed.snapshot())
    static_ms = best_ms(lambda: static_bundle(feed.snapshot()), max(3, arguments.repeats // 4))
    static_bytes = len(json.dumps(static_bundle(feed.snapshot())))
    verdict = "ok" if refresh_ms <= TARGET_MS else "OVER TARGET"

    print(f"live panel refresh, {arguments.metrics} metrics x {arguments.points:,} points (best of {arguments.repeats})")
    print(f"  downsample + pack (widget refresh)        {update_ms:8.2f} ms")
    print(f"  downsample + smooth + pack                {refresh_ms:8.2f} ms   target <= {TARGET_MS:.0f} ms: {verdict}")
    print(f"  bytes sent per refresh (binary buffer)    {len(data):>11,}   + index JSON {len(json.dumps(index)):,} B")
    print(f"  points held by the browser per line       {max(m['count'] for m in index['metrics']):>11,}")
    print(f"  static fallback figure (all charts)       {static_ms:8.2f} ms, {static_bytes:,} B "
          f"({static_bytes / arguments.metrics / 1000:.0f} KB per chart)")
    print("  scaling, one refresh of 10 metrics:")
    for points in (1_000, 10_000, 100_000, 1_000_000):
        scaled = make_feed(10, points, seed=points) if points != arguments.points or arguments.metrics != 10 else feed
        milliseconds = best_ms(lambda scaled=scaled: refresh_with_smoothing(scaled), 5)
        _, scaled_data = build_update(scaled.snapshot())
        print(f"    {points:>9,} points per metric    {milliseconds:8.2f} ms   {len(scaled_data):>9,} B")


if __name__ == "__main__" and not ("--scale" in sys.argv or "--browser" in sys.argv):
    main()


# --scale: the kernel side of a refresh at 10,000 metrics ------------------------------------------
def scale_bench(steps: int, repeats: int, visible: int = 24) -> None:
    import os
    import tempfile

    import jupyter_tracker as jt
    from jupyter_tracker.notebook.live_panel import LivePanel, natural_key

    metrics = 10_000
    with tempfile.TemporaryDirectory() as store:
        os.environ["WANDB_DIR"] = store
        run = jt.init(project="bench-live-scale", mode="offline", settings={"live": "off"})
        panel = LivePanel(run, "widget", show=False)
        names = [f"group_{k // 20}/metric_{k}" for k in range(metrics)]
        began = time.perf_counter()
        for step in range(steps):
            run.log(dict.fromkeys(names, float(step % 50)))
        run.flush(timeout=600)
        logging_s = time.perf_counter() - began
        time.sleep(1.0)
        panel.stop()
        on_screen = sorted(names, key=natural_key)[:visible]
        panel._views = {"bench": on_screen}
        header = dict(panel._last_header)

        def refresh() -> int:
            panel._sent_marks.clear()  # every chart on screen changed since the last refresh
            return panel.push(None, header)

        tick_ms, sizes = [], []
        full_ms = []
        for _ in range(repeats):
            began = time.perf_counter()
            sizes.append(refresh())
            tick_ms.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            build_update(panel.feed.snapshot())
            full_ms.append((time.perf_counter() - began) * 1000)
        panel._catalog_version = -1
        began = time.perf_counter()
        catalog = panel._catalog_update()
        catalog_ms = (time.perf_counter() - began) * 1000
        catalog_bytes = len(json.dumps(catalog))
        run.finish()
    print(f"live panel at {metrics:,} metrics x {steps:,} steps (median of {repeats}; load {load():.1f})")
    print(f"  logging (log + writer + live feed), per step          {logging_s / steps * 1000:8.2f} ms")
    print(f"  one widget refresh, {visible} charts on screen            {statistics.median(tick_ms):8.2f} ms")
    print(f"  bytes per refresh (binary buffer)                     {statistics.median(sizes):>11,.0f}")
    print(f"  packing every metric (before: hidden charts were sent) {statistics.median(full_ms):8.2f} ms")
    print(f"  catalog of every name (sent when a name appears)      {catalog_ms:8.2f} ms, {catalog_bytes:,} B")


def load() -> float:
    import os

    return os.getloadavg()[0]


# --browser: the panel's module in Chromium, on a stand-in model ------------------------------------
HARNESS = """async ({esm, css, catalog, index, data, extra}) => {
  const style = document.createElement('style'); style.textContent = css; document.head.append(style);
  const bytes = (b64) => { const raw = atob(b64); const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i); return new DataView(out.buffer); };
  const module = await import(URL.createObjectURL(new Blob([esm], {type: 'text/javascript'})));
  const state = {header: {name: 'bench', state: 'running'}, _catalog: catalog, _index: index, _data: bytes(data),
    _media_index: {}, _media_data: null, smoothing: 0.6, x_axis: 'auto', metric_filter: '', log_scale: false,
    collapsed_groups: ['system']};
  const listeners = new Map();
  const model = {
    get: (key) => state[key],
    set: (key, value) => { state[key] = value; for (const f of listeners.get(`change:${key}`) || []) f(); },
    on: (event, f) => { if (!listeners.has(event)) listeners.set(event, []); listeners.get(event).push(f); },
    off: (event, f) => { listeners.set(event, (listeners.get(event) || []).filter((g) => g !== f)); },
    save_changes: () => {},
    send: () => {},
  };
  window.__bench = {model, bytes, extra};
  const host = document.createElement('div'); host.style.width = '1200px'; document.body.append(host);
  const began = performance.now();
  module.default.render({model, el: host});
  const root = host.querySelector('.jt-live');
  await new Promise((done) => { const wait = () => root.dataset.firstPaintMs ? done() : requestAnimationFrame(wait); wait(); });
  return performance.now() - began;
}"""

# one refresh: new data for the charts on screen; main-thread time until every one is redrawn
TICK = """async () => {
  const {model, bytes, extra} = window.__bench;
  const root = document.querySelector('.jt-live');
  const renders = Number(root.dataset.renders);
  const busy = [];
  const began = performance.now();
  let mark = performance.now();
  model.set('_data', bytes(extra.data));
  model.set('_index', extra.index);
  busy.push(performance.now() - mark);
  for (let frame = 0; frame < 30; frame++) {
    await new Promise((done) => requestAnimationFrame(() => { mark = performance.now(); done(); }));
    await new Promise((done) => setTimeout(done, 0));
    busy.push(performance.now() - mark);
    if (Number(root.dataset.renders) > renders && !root.querySelector('.jt-live-chart[data-stale]')) break;
  }
  return {busy: busy.reduce((a, b) => a + b, 0), wall: performance.now() - began};
}"""

# the same grid drawn by each library: 24 charts x 1,500 points (raw + smoothed), then one refresh
LIBRARIES = """async ({library, charts, points}) => {
  const host = document.createElement('div'); host.style.cssText = 'display:grid;grid-template-columns:repeat(4,300px)';
  document.body.replaceChildren(host);
  const x = Array.from({length: points}, (_, i) => i);
  const series = (shift) => [Array.from(x, (i) => Math.sin(i / 50 + shift) + Math.random() * 0.2),
                             Array.from(x, (i) => Math.sin(i / 50 + shift))];
  const nodes = Array.from({length: charts}, () => { const d = document.createElement('div'); host.append(d); return d; });
  const draw = (node, shift, made) => {
    const [raw, smooth] = series(shift);
    if (library === 'uplot') {
      if (made) { made.setData([x, raw, smooth]); return made; }
      return new uPlot({width: 300, height: 190, legend: {show: false}, scales: {x: {time: false}},
        series: [{}, {stroke: '#1f77b450'}, {stroke: '#1f77b4', width: 2}]}, [x, raw, smooth], node);
    }
    const type = library === 'plotly-gl' ? 'scattergl' : 'scatter';
    Plotly.react(node, [{x, y: raw, type, mode: 'lines', opacity: 0.3}, {x, y: smooth, type, mode: 'lines'}],
      {width: 300, height: 190, margin: {l: 40, r: 5, t: 5, b: 25}, showlegend: false}, {staticPlot: false});
    return node;
  };
  let began = performance.now();
  const made = nodes.map((node, k) => draw(node, k, null));
  await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
  const first = performance.now() - began;
  began = performance.now();
  nodes.forEach((node, k) => draw(node, k + 1, made[k]));
  await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
  return {first, tick: performance.now() - began, heap: performance.memory ? performance.memory.usedJSHeapSize : 0};
}"""


def _panel_payload(metrics: int, on_screen: int = 48, points: int = 1_000) -> dict[str, Any]:
    import base64

    from jupyter_tracker.notebook.live_panel import natural_key

    names = sorted((f"group_{k // 20}/metric_{k}" for k in range(metrics)), key=natural_key)
    rng = np.random.default_rng(metrics)
    feed = LiveFeed()
    first = names[:on_screen]
    records = [("h", step, 1.7e9 + step, float(step), {name: float(rng.normal()) for name in first})
               for step in range(points)]
    feed.observe(1, records)
    index, data = build_update(feed.snapshot())
    feed.observe(points + 1, [("h", points, 1.7e9 + points, float(points), dict.fromkeys(first, 0.5))])
    extra_index, extra_data = build_update(feed.snapshot())
    return {"catalog": {"names": names, "version": 1}, "index": index, "data": base64.b64encode(data).decode(),
            "extra": {"index": extra_index, "data": base64.b64encode(extra_data).decode()}}


def browser_bench(repeats: int) -> None:
    from playwright.sync_api import sync_playwright

    from jupyter_tracker.notebook.live_panel import bundled_esm, panel_css, plotly_js_path

    sizes = (100, 1_000, 10_000)
    payloads = {size: _panel_payload(size) for size in sizes}
    esm, css = bundled_esm(), panel_css()
    uplot = (Path(__file__).resolve().parent.parent / "jupyter_tracker/notebook/static/uPlot.iife.min.js").read_text()
    paint: dict[int, list[float]] = {size: [] for size in sizes}
    ticks: list[float] = []
    library_figures: dict[str, list[dict[str, float]]] = {"uplot": [], "plotly": [], "plotly-gl": []}
    args = ["--headless", "--no-sandbox", "--disable-background-networking", "--no-first-run",
            "--enable-precise-memory-info"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=args, headless=True)
        try:
            for _ in range(repeats):
                for size in sizes:  # interleaved: each repetition measures every size once
                    page = browser.new_page(viewport={"width": 1300, "height": 1000})
                    paint[size].append(page.evaluate(HARNESS, {"esm": esm, "css": css, **payloads[size]}))
                    if size == 1_000:
                        page.wait_for_timeout(300)
                        ticks.append(page.evaluate(TICK)["busy"])
                    page.close()
                for library in library_figures:
                    page = browser.new_page(viewport={"width": 1300, "height": 1000})
                    page.add_script_tag(content=uplot if library == "uplot" else plotly_js_path().read_text())
                    library_figures[library].append(page.evaluate(LIBRARIES, {"library": library, "charts": 24, "points": 1_500}))
                    page.close()
        finally:
            browser.close()
    print(f"live panel in Chromium (median of {repeats}; load {load():.1f})")
    for size in sizes:
        print(f"  first paint, {size:>6,} metrics (every chart on screen drawn)  {statistics.median(paint[size]):8.1f} ms")
    print(f"  main-thread cost of one refresh (24 charts x 1,000 points)   {statistics.median(ticks):8.1f} ms")
    print("  drawing libraries, 24 charts x 1,500 points (raw + smoothed):")
    for library, figures in library_figures.items():
        first = statistics.median(figure["first"] for figure in figures)
        tick = statistics.median(figure["tick"] for figure in figures)
        heap = statistics.median(figure["heap"] for figure in figures) / 2**20
        print(f"    {library:<10} first draw {first:8.1f} ms   one refresh {tick:8.1f} ms   JS heap {heap:6.1f} MB")


if __name__ == "__main__" and ("--scale" in sys.argv or "--browser" in sys.argv):
    options = argparse.ArgumentParser()
    options.add_argument("--scale", action="store_true")
    options.add_argument("--browser", action="store_true")
    options.add_argument("--scale-steps", type=int, default=200)
    options.add_argument("--repeats", type=int, default=5)
    chosen = options.parse_args()
    if chosen.scale:
        scale_bench(chosen.scale_steps, chosen.repeats)
    if chosen.browser:
        browser_bench(chosen.repeats)
