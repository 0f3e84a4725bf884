"""The runs table's controls in a notebook: ipywidgets for search, filter, group-by, pages, column picker and
compare, around one anywidget grid (``static/runs_table.js``) that draws the page.

The grid keeps the id and name columns and its header in view while the other columns scroll
inside it, so the controls above never move; a click on a header sends ``{"type": "sort"}`` to the
kernel; the page's theme colours come back in the ``theme`` trait, and the comparison chart is
drawn with them. Menus hold sentinel strings, never ``None``, so a dropdown never shows blank.
"""

from __future__ import annotations

import html
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from jupyter_tracker.notebook.runs_compare import (
    BUILTIN_AXES,
    ChartTheme,
    Comparison,
    comparison_figure,
    figure_bundle,
)
from jupyter_tracker.notebook.runs_filter import FilterError
from jupyter_tracker.notebook.runs_table_columns import PICKER_MATCHES, natural_sorted, search_columns
from jupyter_tracker.notebook.runs_view import STATIC_DIR, column_kind, page_cells, table_css

if TYPE_CHECKING:
    from jupyter_tracker.notebook.runs_table import RunsTable

#: the group-by menu's entry for "no grouping" (a string: a None value would make the menu blank)
NO_GROUPING = ""
#: the x-axis menu's entry for "the metric's define_metric step_metric, else the step"
AUTO_AXIS = "auto"
#: metric names offered by the compare box at once (typing narrows them)
METRIC_MATCHES = 50


@lru_cache(maxsize=1)
def grid_widget_class() -> type:
    """The grid's widget model (built on first use, so importing this module stays light)."""
    import anywidget
    import traitlets

    class RunsGridWidget(anywidget.AnyWidget):
        """One page of the runs table; its view is ``static/runs_table.js``."""

        _esm = (STATIC_DIR / "runs_table.js").read_text(encoding="utf-8")
        _css = table_css()
        columns = traitlets.List(traitlets.Dict(), help="key, label and kind (num, text, state) of each shown column").tag(sync=True)
        rows = traitlets.List(traitlets.Dict(), help="id and cell texts of each row of the page").tag(sync=True)
        index_key = traitlets.Unicode("id", help="what the first column holds (id, or the group-by key)").tag(sync=True)
        index_label = traitlets.Unicode("id", help="the first column's header").tag(sync=True)
        sticky_name = traitlets.Bool(True, help="the name column stays in view beside the id").tag(sync=True)
        sortable = traitlets.Bool(True, help="headers are buttons that sort").tag(sync=True)
        sort_by = traitlets.Unicode("", help="the column the rows are sorted by").tag(sync=True)
        ascending = traitlets.Bool(False, help="sort order").tag(sync=True)
        note = traitlets.Unicode("", help="what the table shows: runs, page, columns").tag(sync=True)
        empty_text = traitlets.Unicode("no runs match", help="shown when there is no row").tag(sync=True)
        theme = traitlets.Dict(help="the page's theme colours, reported by the browser").tag(sync=True)
        selectable = traitlets.Bool(True, help="rows have a checkbox that selects them").tag(sync=True)
        selected = traitlets.List(traitlets.Unicode(), help="ids of the runs ticked for comparison").tag(sync=True)

    return RunsGridWidget


def metric_names(columns: list[str]) -> list[str]:
    """The metrics a comparison can draw: every ``summary.*`` column, without the prefix, in natural order."""
    return natural_sorted(column[len("summary."):] for column in columns if column.startswith("summary."))


def matching_metrics(metrics: list[str], typed: str, limit: int = METRIC_MATCHES) -> list[str]:
    """Metrics containing every word typed (case-insensitive), at most ``limit``."""
    words = typed.lower().split()
    return [metric for metric in metrics if all(word in metric.lower() for word in words)][:limit]


class RunsWidget:
    """The controls and grid of a :class:`~jupyter_tracker.notebook.runs_table.RunsTable`; every update
    replaces a widget's value in place."""

    def __init__(self, table: RunsTable) -> None:
        import ipywidgets as widgets

        self.table = table
        view = table.view
        columns = view.columns
        self.metrics = metric_names(columns)
        group_choices = ["group", "tags", "state", *natural_sorted(c for c in columns if c.startswith("config."))]
        layout = widgets.Layout
        wrap = layout(flex_flow="row wrap", align_items="center", width="100%")
        self.search = widgets.Text(placeholder="search name, id, group, tags", description="search",
                                   continuous_update=True, layout=layout(width="260px"))
        self.filter = widgets.Text(placeholder='config.lr < 0.01 and state == "finished"', description="filter",
                                   continuous_update=False, layout=layout(width="420px"))
        self.group_by = widgets.Dropdown(options=[("(no grouping)", NO_GROUPING), *[(c, c) for c in group_choices]],
                                         value=NO_GROUPING, description="group by", layout=layout(width="260px"))
        self.previous = widgets.Button(description="◀", layout=layout(width="40px"), tooltip="previous page")
        self.next = widgets.Button(description="▶", layout=layout(width="40px"), tooltip="next page")
        self.picker_toggle = widgets.ToggleButton(value=False, description="columns…", icon="columns",
                                                  tooltip="choose the config and summary columns shown",
                                                  layout=layout(width="120px"))
        self.picker_search = widgets.Text(placeholder="search config and summary keys", continuous_update=True,
                                          layout=layout(width="300px"))
        self.picker_default = widgets.Button(description="default columns", layout=layout(width="140px"))
        self.picker_note = widgets.HTML()
        self.picker_list = widgets.VBox(layout=layout(max_height="260px", overflow="auto", width="100%"))
        self.picker = widgets.VBox([widgets.HBox([self.picker_search, self.picker_default], layout=wrap),
                                    self.picker_note, self.picker_list], layout=layout(display="none", width="100%"))
        self.message = widgets.HTML()
        self.grid = grid_widget_class()(layout=layout(width="100%", min_width="0", max_width="100%"))
        self.selected_note = widgets.HTML()
        self.clear_selection = widgets.Button(description="clear", tooltip="untick every run",
                                              layout=layout(width="70px"))
        self.metric = widgets.Combobox(options=self.metrics[:METRIC_MATCHES], placeholder="type to find a metric",
                                       description="metric", ensure_option=False, layout=layout(width="300px"))
        self.x_axis = widgets.Dropdown(options=[("define_metric x, else step", AUTO_AXIS),
                                                *[(label, key) for key, label in BUILTIN_AXES.items()]],
                                       value=AUTO_AXIS, description="x-axis", layout=layout(width="300px"))
        self.compare = widgets.Button(description="compare", icon="line-chart", button_style="primary")
        self.chart = widgets.Output(layout=layout(width="100%"))
        self.comparison: Comparison | None = None
        self.search.observe(self._changed, names="value")
        self.filter.observe(self._changed, names="value")
        self.group_by.observe(lambda _change: self.refresh(), names="value")
        self.previous.on_click(lambda _button: self._page(-1))
        self.next.on_click(lambda _button: self._page(+1))
        self.picker_toggle.observe(self._toggle_picker, names="value")
        self.picker_search.observe(lambda _change: self._fill_picker(), names="value")
        self.picker_default.on_click(lambda _button: self._default_columns())
        self.metric.observe(self._metric_typed, names="value")
        self.compare.on_click(lambda _button: self._compare())
        self.grid.on_msg(self._grid_message)
        self.grid.observe(lambda _change: self._redraw_chart(), names="theme")
        self.grid.observe(lambda _change: self._describe_selection(), names="selected")
        self.clear_selection.on_click(lambda _button: setattr(self.grid, "selected", []))
        title = widgets.HTML(f"<b>runs of {html.escape(str(table.project))}</b>" if table.project else "<b>runs</b>")
        self.box = widgets.VBox([
            title,
            widgets.HBox([self.search, self.filter], layout=wrap),
            widgets.HBox([self.group_by, self.picker_toggle, self.previous, self.next], layout=wrap),
            self.picker,
            self.message,
            self.grid,
            widgets.HBox([self.metric, self.x_axis, self.compare, self.clear_selection, self.selected_note],
                         layout=wrap),
            self.chart,
        ], layout=layout(width="100%", min_width="0"))
        self.box.add_class("jt-runs-table")
        self.refresh()
        self._describe_selection()

    # table ---------------------------------------------------------------------------------------
    def _changed(self, _change: Any) -> None:
        try:
            self.table.view.set(search=self.search.value, filter_text=self.filter.value)
        except FilterError as error:
            self._error(str(error))
            return
        self.message.value = ""
        self.refresh()

    def _error(self, text: str) -> None:
        self.message.value = f'<span style="color:#dc2626">{html.escape(text)}</span>'

    def _page(self, delta: int) -> None:
        self.table.view.go_to(self.table.view.page + delta)
        self.refresh()

    def _grid_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "sort" and not self.group_by.value:
            try:
                self.table.view.toggle_sort(str(content.get("column")))
            except FilterError as error:
                self._error(str(error))
                return
            self.refresh()

    def refresh(self) -> None:
        """Redraws the grid (the page, or the groups) and the runs offered for comparison."""
        view = self.table.view
        grid = self.grid
        with grid.hold_sync():
            if self.group_by.value:
                shown_metrics = [column for column in view.shown if column.startswith("summary.")]
                groups = view.grouped(self.group_by.value, metrics=shown_metrics)
                grid.columns = [{"key": str(c), "label": str(c), "kind": column_kind(groups, c)} for c in groups.columns]
                grid.rows = page_cells(groups)
                grid.index_key = grid.index_label = str(self.group_by.value)
                grid.sticky_name, grid.sortable, grid.selectable = False, False, False
                grid.note = f"{len(groups):,} groups by {self.group_by.value}"
                grid.empty_text = "no runs to group"
            else:
                page = view.page_frame()
                grid.columns = [{"key": c, "label": c, "kind": column_kind(page, c)} for c in page.columns]
                grid.rows = page_cells(page)
                grid.index_key = grid.index_label = "id"
                grid.sticky_name, grid.sortable, grid.selectable = bool(view.shown) and view.shown[0] == "name", True, True
                grid.sort_by, grid.ascending = view.sort_by or "", bool(view.ascending)
                grid.note = view.summary_line()
                grid.empty_text = "no runs match"

    def _describe_selection(self) -> None:
        frame = self.table.view.frame
        chosen = [run_id for run_id in self.grid.selected if run_id in frame.index]
        if not chosen:
            self.selected_note.value = '<span style="opacity:.7">tick runs in the table to compare them</span>'
            return
        names = ", ".join(f"{frame.at[run_id, 'name']} ({run_id})" for run_id in chosen[:4])
        more = f" and {len(chosen) - 4} more" if len(chosen) > 4 else ""
        self.selected_note.value = html.escape(f"{len(chosen)} selected: {names}{more}")

    # column picker ---------------------------------------------------------------------------------
    def _toggle_picker(self, change: Any) -> None:
        self.picker.layout.display = "flex" if change["new"] else "none"
        if change["new"]:
            self._fill_picker()

    def _fill_picker(self) -> None:
        import ipywidgets as widgets

        view = self.table.view
        matches, total = search_columns(view.columns, self.picker_search.value, PICKER_MATCHES)
        shown = set(view.shown)
        boxes = []
        for column in matches:
            box = widgets.Checkbox(value=column in shown, description=column, indent=False,
                                   layout=widgets.Layout(width="auto"))
            box.observe(lambda change, column=column: self._pick(column, change["new"]), names="value")
            boxes.append(box)
        self.picker_list.children = boxes
        more = f"; showing the first {len(matches)}, type to narrow" if total > len(matches) else ""
        matched = "1 key matches" if total == 1 else f"{total:,} keys match"
        self.picker_note.value = html.escape(f"{matched} · {len(view.shown):,} columns shown{more}")

    def _pick(self, column: str, shown: bool) -> None:
        self.table.view.set_column_shown(column, shown)
        self.picker_note.value = html.escape(self.picker_note.value.split(" · ")[0] + f" · {len(self.table.view.shown):,} columns shown")
        self.refresh()

    def _default_columns(self) -> None:
        self.table.view.default_columns()
        self._fill_picker()
        self.refresh()

    # comparison ------------------------------------------------------------------------------------
    def _metric_typed(self, change: Any) -> None:
        typed = str(change["new"])
        if typed in self.metrics:
            return
        self.metric.options = matching_metrics(self.metrics, typed)

    def _compare(self) -> None:
        run_ids = list(self.grid.selected)
        metric = self.metric.value.strip()
        if not run_ids or not metric:
            self.message.value = "tick runs in the table (on any page) and choose a metric to compare"
            return
        if metric not in self.metrics:
            self._error(f"no run of this table has a metric named {metric!r}")
            return
        x_axis = None if self.x_axis.value == AUTO_AXIS else self.x_axis.value
        try:
            self.comparison = self.table.comparison(run_ids, metric, x_axis=x_axis)
        except Exception as error:  # shown in the widget: a click has no traceback to show it in
            self._error(f"{type(error).__name__}: {error}")
            return
        self.message.value = html.escape(self.comparison.message)
        if not self.comparison.drawn:
            self.message.value = html.escape(f"none of the selected runs has points of {metric}: {self.comparison.message}")
        self._redraw_chart()

    def _redraw_chart(self) -> None:
        if self.comparison is None:
            return
        figure = comparison_figure(self.comparison, ChartTheme.from_browser(self.grid.theme))
        bundle = figure_bundle(figure, self.comparison)
        self.chart.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)
