"""The runs of a project as an interactive table: search, filter, sort, columns, groups, pages and a comparison chart.

This module is the public face (:func:`runs_table`, :class:`RunsTable`); the parts live beside it:
``runs_view`` (the frame and the pure view over it), ``runs_filter`` (filter expressions),
``runs_table_columns`` (which columns are shown), ``runs_compare`` (the comparison chart) and
``runs_table_widget`` (the notebook controls and the grid).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_tracker.notebook.runs_compare import Comparison, compare_runs, comparison_figure, figure_bundle
from jupyter_tracker.notebook.runs_filter import FilterError, FilterExpression, resolve_column
from jupyter_tracker.notebook.runs_view import (
    BASE_COLUMNS,
    MISSING_GROUP,
    RunsView,
    build_frame,
    format_cell,
    render_html,
    sort_frame,
)

if TYPE_CHECKING:
    import pandas as pd

    from jupyter_tracker.notebook.runs_table_widget import RunsWidget

__all__ = [
    "BASE_COLUMNS", "MISSING_GROUP", "FilterError", "FilterExpression", "RunsTable", "RunsView", "build_frame",
    "figure_bundle", "format_cell", "render_html", "resolve_column", "runs_table", "sort_frame",
]


class RunsTable:
    """The runs of a project: an interactive table in a notebook, a DataFrame with :meth:`to_dataframe`.

    >>> table = jupyter_tracker.runs_table("mnist")   # doctest: +SKIP
    >>> table                                         # the interactive table  # doctest: +SKIP
    >>> table.to_dataframe().sort_values("summary.acc").tail()  # doctest: +SKIP
    """

    def __init__(self, frame: pd.DataFrame, project: str | None = None, page_size: int = 25,
                 extras: Mapping[str, Mapping[str, Any]] | None = None, columns: Sequence[str] | None = None) -> None:
        self.project = project
        self.extras = extras or {}
        self.view = RunsView(frame, page_size=page_size, extras=self.extras, columns=columns)
        self._ui: RunsWidget | None = None

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]], project: str | None = None, page_size: int = 25,
                  columns: Sequence[str] | None = None) -> RunsTable:
        frame, extras = build_frame(rows)
        return cls(frame, project=project, page_size=page_size, extras=extras, columns=columns)

    def to_dataframe(self) -> pd.DataFrame:
        """A copy of the whole frame (every run and column, unfiltered)."""
        return self.view.frame.copy()

    @property
    def columns(self) -> list[str]:
        """The columns the table shows (``id`` is always shown first)."""
        return list(self.view.shown)

    @columns.setter
    def columns(self, columns: Iterable[str]) -> None:
        self.view.show_columns(columns)
        if self._ui is not None:
            self._ui.refresh()

    def query(self, filter_text: str = "", search: str = "", sort_by: str | None = None, ascending: bool = True) -> pd.DataFrame:
        """The runs matching a filter expression and a search text, sorted; also what the widget shows."""
        view = RunsView(self.view.frame, extras=self.extras, columns=())
        view.set(filter_text=filter_text, search=search, sort_by=sort_by, ascending=ascending)
        return view.result()

    def group_by(self, column: str) -> pd.DataFrame:
        """Run count and mean/min/max of every numeric summary column per value of ``column`` (``(none)``: no value)."""
        return RunsView(self.view.frame, columns=()).grouped(column)

    def comparison(self, run_ids: Sequence[str], metric: str, x_axis: str | None = None) -> Comparison:
        """What a comparison chart of ``metric`` draws for ``run_ids``, and which runs lack it."""
        frame = self.view.frame
        labels = {str(run_id): f"{frame.at[run_id, 'name']} ({run_id})" for run_id in run_ids if run_id in frame.index}
        run_dirs = {run_id: extra.get("dir") for run_id, extra in self.extras.items()}
        return compare_runs(labels, run_dirs, run_ids, metric, x_axis=x_axis)

    def compare(self, run_ids: Sequence[str], metric: str, x_axis: str | None = None) -> Any:
        """A plotly figure of ``metric`` for each of ``run_ids``; its subtitle names the runs without points.

        The x-axis is the metric's ``define_metric`` step metric unless ``x_axis`` says otherwise
        (``"_step"``, ``"_runtime"`` or any logged key).
        """
        return comparison_figure(self.comparison(run_ids, metric, x_axis))

    # display
    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle = dict(self.widget()._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/html"] = self.view.page_html()  # what renderers without widgets show
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        return f"<RunsTable {self.project!r}: {len(self.view.frame):,} runs>"

    def widget(self) -> Any:
        """The notebook view (built once)."""
        if self._ui is None:
            from jupyter_tracker.notebook.runs_table_widget import RunsWidget

            self._ui = RunsWidget(self)
        return self._ui.box


def runs_table(project: str | None = None, root: str | Path | None = None, page_size: int = 25,
               columns: Sequence[str] | None = None) -> RunsTable:
    """The runs of ``project`` (every project when None) in the local store, as an interactive table.

    Newest runs first; ``columns`` replaces the default columns (config keys that vary across
    runs and a few summary keys).

    >>> jupyter_tracker.runs_table("mnist")  # doctest: +SKIP
    """
    from jupyter_tracker import settings
    from jupyter_tracker.store.index import RunIndex

    index = RunIndex(Path(root) if root is not None else settings.default_root())
    return RunsTable.from_rows(index.runs(project), project=project, page_size=page_size, columns=columns)
