// The runs table's grid: a page of rows the kernel prepared, with sticky id and name columns,
// a sticky header whose buttons ask the kernel to sort, a checkbox per run that selects it for the
// comparison chart (kept across pages in `selected`), and the page's theme colours reported to
// the kernel (so the comparison chart is drawn dark in a dark JupyterLab). Every text goes in
// through textContent: names, keys and values are shown as typed, never as markup.

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function readTheme(el) {
  const style = getComputedStyle(el);
  const read = (name) => style.getPropertyValue(name).trim();
  const light = document.body.dataset.jpThemeLight;
  return {
    dark: light === "false",
    text: read("--jp-ui-font-color1") || style.color,
    grid: read("--jp-border-color2"),
    background: read("--jp-layout-color0"),
  };
}

function render({ model, el }) {
  const root = element("div", "jt-runs jt-runs-widget");
  const note = element("div", "jt-runs-note");
  const scroller = element("div", "jt-runs-scroll");
  root.append(note, scroller);
  el.append(root);

  function header(column, sortable, sortBy, ascending, extraClass) {
    const th = element("th", extraClass);
    th.dataset.column = column.key;
    th.title = column.key;
    if (!sortable) {
      th.append(element("span", "jt-head", column.label));
      return th;
    }
    const button = element("button", "jt-sort", column.label);
    button.type = "button";
    if (column.key === sortBy) {
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      button.append(element("span", "jt-arrow", ascending ? "▲" : "▼"));
    }
    button.addEventListener("click", () => model.send({ type: "sort", column: column.key }));
    th.append(button);
    return th;
  }

  function draw() {
    const columns = model.get("columns");
    const rows = model.get("rows");
    const sortable = model.get("sortable");
    const sortBy = model.get("sort_by");
    const ascending = model.get("ascending");
    const stickyName = model.get("sticky_name");
    const selectable = model.get("selectable");
    const selected = new Set(model.get("selected"));
    note.textContent = model.get("note");
    const table = element("table", "jt-grid");
    const head = element("tr");
    head.append(header({ key: model.get("index_key"), label: model.get("index_label") }, sortable, sortBy, ascending,
                       "jt-sticky jt-index"));
    columns.forEach((column, position) => {
      const sticky = stickyName && position === 0 ? "jt-sticky jt-sticky-2" : "";
      head.append(header(column, sortable, sortBy, ascending, sticky));
    });
    const thead = element("thead");
    thead.append(head);
    const tbody = element("tbody");
    for (const row of rows) {
      const tr = element("tr");
      tr.dataset.id = row.id;
      const index = element("td", "jt-sticky jt-index");
      if (selectable) {
        const pick = element("input", "jt-pick");
        pick.type = "checkbox";
        pick.checked = selected.has(row.id);
        pick.title = "select for the comparison chart";
        pick.addEventListener("change", () => {
          const next = new Set(model.get("selected"));
          if (pick.checked) next.add(row.id); else next.delete(row.id);
          model.set("selected", Array.from(next));
          model.save_changes();
        });
        index.append(pick);
      }
      index.append(document.createTextNode(row.id));
      if (selected.has(row.id)) tr.classList.add("jt-selected");
      tr.append(index);
      row.cells.forEach((text, position) => {
        const column = columns[position];
        const classes = [];
        if (stickyName && position === 0) classes.push("jt-sticky", "jt-sticky-2");
        if (column.kind === "num") classes.push("num");
        if (column.kind === "state") classes.push(`s-${text}`);
        const td = element("td", classes.join(" "), text);
        if (text.length > 30) td.title = text;
        tr.append(td);
      });
      tbody.append(tr);
    }
    if (!rows.length) {
      const tr = element("tr");
      const td = element("td", "jt-empty", model.get("empty_text"));
      td.colSpan = columns.length + 1;
      tr.append(td);
      tbody.append(tr);
    }
    table.append(thead, tbody);
    const left = scroller.scrollLeft;
    scroller.replaceChildren(table);
    scroller.scrollLeft = left;
  }

  let reported = "";
  function reportTheme() {
    const theme = readTheme(el);
    const text = JSON.stringify(theme);
    if (text === reported) return;
    reported = text;
    model.set("theme", theme);
    model.save_changes();
  }

  let pending = false;
  const redraw = () => {
    if (pending) return;
    pending = true;
    queueMicrotask(() => { pending = false; draw(); });
  };
  const watched = ["rows", "columns", "sort_by", "ascending", "sortable", "index_label", "selected", "selectable"];
  for (const name of watched) model.on(`change:${name}`, redraw);
  const renote = () => { note.textContent = model.get("note"); };
  model.on("change:note", renote);
  draw();
  reportTheme();
  const observer = new MutationObserver(() => reportTheme());
  observer.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"] });
  return () => {
    observer.disconnect();
    for (const name of watched) model.off(`change:${name}`, redraw);
    model.off("change:note", renote);
  };
}

export default { render };
