// The report widget: the rendered report, redrawn whenever Python sends a new body, and the
// edits made here (smoothing slider, run set filter, moving/removing panels, editing markdown)
// sent to Python, which changes the Report object so report.save() keeps what is shown.
// Appended after uPlot, the smoothing module and report_charts.js (one module, no build).

function locate(target) {
  const at = (selector, name) => {
    const found = target.closest(selector);
    return found ? Number(found.dataset[name]) : null;
  };
  return { block: at("[data-block]", "block"), runset: at("[data-runset]", "runset"), panel: at("[data-panel]", "panel") };
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "jt-report jt-report-widget";
  el.appendChild(root);
  const status = document.createElement("div");
  status.className = "jt-widget-error";

  function draw() {
    const started = performance.now();
    root.innerHTML = model.get("body");  // HTML built by jupyter_tracker.reports.html, every value escaped there
    root.appendChild(status);
    status.textContent = model.get("error") || "";
    jtReportCharts.renderAll(root);
    requestAnimationFrame(() => model.send({ kind: "painted", milliseconds: performance.now() - started }));
  }

  root.addEventListener("jt-smoothing", (event) => {
    model.send({ kind: "smoothing", ...locate(event.target), weight: event.detail.weight });
  });
  root.addEventListener("change", (event) => {
    if (event.target.classList.contains("jt-filter-input")) {
      model.send({ kind: "filter", ...locate(event.target), text: event.target.value });
    }
  });
  root.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.classList.contains("jt-filter-input")) event.target.blur();
  });
  root.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button || !root.contains(button)) return;
    if (button.classList.contains("jt-panel-move")) {
      model.send({ kind: "move_panel", ...locate(button), step: Number(button.dataset.step) });
    } else if (button.classList.contains("jt-panel-remove")) {
      model.send({ kind: "remove_panel", ...locate(button) });
    } else if (button.classList.contains("jt-edit-markdown")) {
      const section = button.closest("[data-block]");
      const editor = document.createElement("textarea");
      editor.className = "jt-markdown-editor";
      editor.value = button.dataset.text || "";
      const save = document.createElement("button");
      save.className = "jt-save-markdown";
      save.textContent = "Save";
      save.addEventListener("click", () => model.send({ kind: "markdown", ...locate(section), text: editor.value }));
      section.replaceChildren(editor, save);
      editor.focus();
    }
  });
  model.on("change:body", draw);
  model.on("change:error", () => { status.textContent = model.get("error") || ""; });
  draw();
}

export default { render };
