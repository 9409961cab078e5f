"""Grafana building blocks on grafana-foundation-sdk: queries, panels, a grid that places them.

The SDK (PyPI ``grafana-foundation-sdk``, Grafana Labs' builders generated from Grafana's own schemas, here
for Grafana 11.6) types every option: a misspelt option or a value of the wrong kind fails mypy or the
builder, not silently in Grafana. The helpers below only fix giaoban's choices (colours, legends, tooltips,
the datasource variable) so the dashboards in monitor/dashboards/definitions.py read as lists of panels.

Every query and panel names the datasource through the dashboard variable ``DS_PROMETHEUS``, so one file
works against whichever Prometheus a district runs (the provisioned one has uid ``prometheus``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from grafana_foundation_sdk.builders import bargauge as bargauge_builder
from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.builders import geomap as geomap_builder
from grafana_foundation_sdk.builders import heatmap as heatmap_builder
from grafana_foundation_sdk.builders import prometheus as prometheus_builder
from grafana_foundation_sdk.builders import stat as stat_builder
from grafana_foundation_sdk.builders import statetimeline as statetimeline_builder
from grafana_foundation_sdk.builders import table as table_builder
from grafana_foundation_sdk.builders import text as text_builder
from grafana_foundation_sdk.builders import timeseries as timeseries_builder
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common, prometheus
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import geomap as geomap_model
from grafana_foundation_sdk.models import heatmap as heatmap_model
from grafana_foundation_sdk.models import text as text_model

Json = dict[str, Any]
Size = tuple[int, int]  # (width, height) in grid units: 24 columns make a row
Query = prometheus_builder.Dataquery
Steps = dashboard_builder.ThresholdsConfig
Override = dashboard_builder.DashboardFieldConfigSourceOverrides
PanelBuilder = cogbuilder.Builder[model.Panel]

DS_VARIABLE = "DS_PROMETHEUS"
DATASOURCE: Json = {"type": "prometheus", "uid": "${" + DS_VARIABLE + "}"}  # as it reads in the JSON
GRID_WIDTH = 24

# Colours Grafana names in its palette.
GREEN, YELLOW, ORANGE, RED, BLUE, GREY = "green", "yellow", "orange", "red", "blue", "text"


def datasource() -> model.DataSourceRef:
    return model.DataSourceRef(type_val=DATASOURCE["type"], uid=DATASOURCE["uid"])


def to_json(value: object) -> Json:
    """An SDK model as Grafana's JSON (the SDK's own encoder), as plain dicts and lists."""
    data: Json = json.loads(json.dumps(value, cls=JSONEncoder))
    return data


def query(expr: str, legend: str = "", *, instant: bool = False, table: bool = False, heatmap: bool = False) -> Query:
    """One Prometheus query; refId is given by the panel that holds it."""
    fmt = (
        prometheus.PromQueryFormat.HEATMAP
        if heatmap
        else prometheus.PromQueryFormat.TABLE
        if table
        else prometheus.PromQueryFormat.TIME_SERIES
    )
    built = (
        prometheus_builder.Dataquery()
        .datasource(datasource())
        .editor_mode(prometheus.QueryEditorMode.CODE)
        .expr(expr)
        .format(fmt)
        .legend_format(legend or "__auto")
    )
    return built.instant() if instant else built.range()


def instant(expr: str, legend: str = "") -> Query:
    """The query of a stat: only the current value matters."""
    return query(expr, legend, instant=True)


def table_queries(*exprs: str) -> list[Query]:
    """A table's columns, one instant query each; Grafana names them Value #A, Value #B... in this order."""
    return [query(expr, instant=True, table=True) for expr in exprs]


def thresholds(*steps: tuple[str, float | None]) -> Steps:
    """Absolute steps, the first with value None (Grafana's 'base')."""
    return (
        dashboard_builder.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=value, color=color) for color, value in steps])
    )


def value_map(*entries: tuple[float | str, str, str]) -> model.ValueMap:
    """A value mapping: (value, text, colour) per entry, in display order."""
    return model.ValueMap(
        options={
            str(value): model.ValueMappingResult(text=text, color=color, index=index)
            for index, (value, text, color) in enumerate(entries)
        }
    )


UP_DOWN = value_map((1, "Lên / Up", GREEN), (0, "Mất / Down", RED))
YES_NO = value_map((1, "Có / Yes", GREEN), (0, "Không / No", RED))
OK_FAILED = value_map((1, "Tốt / OK", GREEN), (0, "Lỗi / Failed", RED))


def override(matcher: str, name: str, **properties: Any) -> Override:
    """Field override, e.g. override("byName", "Value #B", unit="s", displayName="RTT")."""
    props = [model.DynamicConfigValue(id_val=key.replace("__", "."), value=value) for key, value in properties.items()]
    return Override().matcher(model.MatcherConfig(id_val=matcher, options=name)).properties(props)


def _targets(panel: Any, targets: Sequence[Query]) -> None:
    refs = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    panel.targets([target.ref_id(refs[index]) for index, target in enumerate(targets)])


def _common(
    panel: Any,
    title: str,
    targets: Sequence[Query],
    *,
    description: str,
    unit: str | None = "none",
    steps: Steps | None = None,
    mappings: Iterable[model.ValueMap] = (),
    palette: bool = False,
    overrides: Sequence[Override] = (),
    transformations: Sequence[model.DataTransformerConfig] = (),
) -> Any:
    """What every queried panel has: title, description, the datasource variable, its queries, units, colours."""
    panel.title(title).description(description).datasource(datasource())
    _targets(panel, targets)
    if unit is not None:
        panel.unit(unit)
        colour = model.FieldColorModeId.PALETTE_CLASSIC if palette else model.FieldColorModeId.THRESHOLDS
        panel.color_scheme(dashboard_builder.FieldColor().mode(colour))
        panel.thresholds(steps or thresholds((GREEN, None)))
        panel.mappings(list(mappings))
    panel.overrides(list(overrides))
    panel.transformations(list(transformations))
    return panel


def _reduce_last() -> common_builder.ReduceDataOptions:
    return common_builder.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False)


def stat(
    title: str,
    targets: Sequence[Query],
    *,
    description: str,
    unit: str = "none",
    steps: Steps | None = None,
    mappings: Iterable[model.ValueMap] = (),
    text_mode: str = "auto",
    decimals: int | None = None,
) -> PanelBuilder:
    panel = (
        stat_builder.Panel()
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .justify_mode(common.BigValueJustifyMode.AUTO)
        .orientation(common.VizOrientation.AUTO)
        .reduce_options(_reduce_last())
        .show_percent_change(False)
        .text_mode(common.BigValueTextMode(text_mode))
        .wide_layout(True)
    )
    if decimals is not None:
        panel.decimals(decimals)
    built: PanelBuilder = _common(
        panel, title, targets, description=description, unit=unit, steps=steps, mappings=mappings
    )
    return built


def timeseries(
    title: str,
    targets: Sequence[Query],
    *,
    description: str,
    unit: str,
    steps: Steps | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    overrides: Sequence[Override] = (),
    draw: str = "line",
) -> PanelBuilder:
    threshold_style = common.GraphThresholdsStyleMode.DASHED if steps else common.GraphThresholdsStyleMode.OFF
    panel = (
        timeseries_builder.Panel()
        .draw_style(common.GraphDrawStyle(draw))
        .line_width(1)
        .fill_opacity(10)
        .gradient_mode(common.GraphGradientMode.NONE)
        .show_points(common.VisibilityMode.NEVER)
        .span_nulls(False)
        .axis_placement(common.AxisPlacement.AUTO)
        .thresholds_style(common_builder.GraphThresholdsStyleConfig().mode(threshold_style))
        .legend(
            common_builder.VizLegendOptions()
            .calcs(["lastNotNull", "max"])
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .tooltip(
            common_builder.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI).sort(common.SortOrder.DESCENDING)
        )
    )
    if minimum is not None:
        panel.min(minimum)
    if maximum is not None:
        panel.max(maximum)
    built: PanelBuilder = _common(
        panel, title, targets, description=description, unit=unit, steps=steps, palette=True, overrides=overrides
    )
    return built


def state_timeline(
    title: str, targets: Sequence[Query], *, description: str, mappings: Iterable[model.ValueMap], steps: Steps
) -> PanelBuilder:
    panel = (
        statetimeline_builder.Panel()
        .fill_opacity(80)
        .line_width(0)
        .align_value(common.TimelineValueAlignment.LEFT)
        .legend(
            common_builder.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .merge_values(True)
        .row_height(0.9)
        .show_value(common.VisibilityMode.AUTO)
        .tooltip(common_builder.VizTooltipOptions().mode(common.TooltipDisplayMode.SINGLE).sort(common.SortOrder.NONE))
    )
    built: PanelBuilder = _common(panel, title, targets, description=description, steps=steps, mappings=mappings)
    return built


def table(
    title: str,
    targets: Sequence[Query],
    *,
    description: str,
    overrides: Sequence[Override],
    hide: Sequence[str] = ("Time",),
    sort_by: str | None = None,
) -> PanelBuilder:
    """Instant queries in table format, merged into one row per label set (Grafana's 'merge')."""
    transformations = [
        model.DataTransformerConfig(id_val="merge", options={}),
        model.DataTransformerConfig(
            id_val="organize", options={"excludeByName": dict.fromkeys(hide, True), "renameByName": {}}
        ),
    ]
    panel = (
        table_builder.Panel()
        .cell_height(common.TableCellHeight.SM)
        .footer(common_builder.TableFooterOptions().count_rows(False).fields([]).reducer(["sum"]).show(False))
        .show_header(True)
        .sort_by([common_builder.TableSortByFieldState().display_name(sort_by).desc(False)] if sort_by else [])
        .align(common.FieldTextAlignment.AUTO)
        .cell_options(common.TableAutoCellOptions())
    )
    built: PanelBuilder = _common(
        panel, title, targets, description=description, overrides=overrides, transformations=transformations
    )
    return built


def column(
    field: str,
    name: str,
    *,
    unit: str = "none",
    steps: Steps | None = None,
    mappings: Sequence[model.ValueMap] = (),
    decimals: int | None = None,
    link: Json | None = None,
) -> Override:
    """A table column's override: its header, unit and, with steps or mappings, a coloured cell."""
    properties = [model.DynamicConfigValue(id_val="displayName", value=name), model.DynamicConfigValue("unit", unit)]
    if steps is not None or mappings:
        cell = common.TableColoredBackgroundCellOptions(mode=common.TableCellBackgroundDisplayMode.BASIC)
        properties.append(model.DynamicConfigValue("custom.cellOptions", cell))
    if steps is not None:
        properties.append(model.DynamicConfigValue("thresholds", steps.build()))
    if mappings:
        properties.append(model.DynamicConfigValue("mappings", list(mappings)))
    if decimals is not None:
        properties.append(model.DynamicConfigValue("decimals", decimals))
    if link is not None:
        properties.append(model.DynamicConfigValue("links", [link]))
    return Override().matcher(model.MatcherConfig(id_val="byName", options=field)).properties(properties)


def heatmap(title: str, target: Query, *, description: str, unit: str) -> PanelBuilder:
    """Buckets of a Prometheus histogram drawn as they are (calculate off): a SmokePing-like picture."""
    panel = (
        heatmap_builder.Panel()
        .calculate(False)
        .cell_gap(1)
        .color(
            heatmap_builder.HeatmapColorOptions()
            .exponent(0.5)
            .fill("dark-orange")
            .mode(heatmap_model.HeatmapColorMode.SCHEME)
            .reverse(False)
            .scale(heatmap_model.HeatmapColorScale.EXPONENTIAL)
            .scheme("Oranges")
            .steps(64)
        )
        .exemplars_color("rgba(255,0,255,0.7)")
        .filter_values(heatmap_builder.FilterValueRange().le(1e-9))
        .show_legend()
        .rows_frame(heatmap_builder.RowsHeatmapOptions().layout(common.HeatmapCellLayout.AUTO))
        .show_value(common.VisibilityMode.NEVER)
        .mode(common.TooltipDisplayMode.SINGLE)
        .show_color_scale(False)
        .show_y_histogram()
        .y_axis(heatmap_builder.YAxisConfig().axis_placement(common.AxisPlacement.LEFT).reverse(False).unit(unit))
        .scale_distribution(common_builder.ScaleDistributionConfig().type(common.ScaleDistribution.LINEAR))
    )
    built: PanelBuilder = _common(panel, title, [target], description=description, unit=None)
    return built


def bar_gauge(title: str, targets: Sequence[Query], *, description: str, unit: str, steps: Steps) -> PanelBuilder:
    panel = (
        bargauge_builder.Panel()
        .display_mode(common.BarGaugeDisplayMode.GRADIENT)
        .min_viz_height(16)
        .min_viz_width(8)
        .name_placement(common.BarGaugeNamePlacement.AUTO)
        .orientation(common.VizOrientation.HORIZONTAL)
        .reduce_options(_reduce_last())
        .show_unfilled(True)
        .sizing(common.BarGaugeSizing.AUTO)
        .value_mode(common.BarGaugeValueMode.COLOR)
    )
    built: PanelBuilder = _common(panel, title, targets, description=description, unit=unit, steps=steps)
    return built


def geomap(
    title: str,
    target: Query,
    *,
    description: str,
    steps: Steps,
    mappings: Sequence[model.ValueMap],
    label_field: str,
) -> PanelBuilder:
    """Markers at the ``lat``/``lon`` columns of a table query, coloured by its value through ``steps``."""
    # The marker layer's style is the markers plugin's own schema, which the SDK leaves open (an object).
    style = {
        "color": {"field": "Value", "fixed": "dark-green"},
        "opacity": 0.9,
        "size": {"fixed": 10, "max": 15, "min": 2},
        "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
        "symbolAlign": {"horizontal": "center", "vertical": "center"},
        "text": {"field": label_field, "fixed": "", "mode": "field"},
        "textConfig": {"fontSize": 11, "offsetX": 0, "offsetY": -14, "textAlign": "center"},
    }
    layer = (
        common_builder.MapLayerOptions()
        .type("markers")
        .name("Điểm cầu / Sites")
        .config({"showLegend": True, "style": style})
        .location(
            common_builder.FrameGeometrySource()
            .latitude("lat")
            .longitude("lon")
            .mode(common.FrameGeometrySourceMode.COORDS)
        )
        .tooltip(True)
    )
    panel = (
        geomap_builder.Panel()
        .basemap(common_builder.MapLayerOptions().config({}).name("Bản đồ / Basemap").type("default"))
        .controls(geomap_builder.ControlsOptions().mouse_wheel_zoom(True).show_attribution(True).show_zoom(True))
        .layers([layer])
        .tooltip(geomap_builder.TooltipOptions().mode(geomap_model.TooltipMode.DETAILS))
        .view(geomap_builder.MapViewConfig().all_layers(True).id("fit").lat(0).lon(0).padding(10).zoom(1))
    )
    # Prometheus labels arrive as strings; the marker layer wants numbers.
    convert = model.DataTransformerConfig(
        id_val="convertFieldType",
        options={
            "conversions": [
                {"destinationType": "number", "targetField": "lat"},
                {"destinationType": "number", "targetField": "lon"},
            ],
            "fields": {},
        },
    )
    built: PanelBuilder = _common(
        panel, title, [target], description=description, steps=steps, mappings=mappings, transformations=[convert]
    )
    return built


def text(title: str, markdown: str) -> PanelBuilder:
    """A Markdown panel; Grafana fills in $variables, so links can point at the service's own routes."""
    return (
        text_builder.Panel()
        .title(title)
        .code(text_builder.CodeOptions().language(text_model.CodeLanguage.PLAINTEXT).show_line_numbers(False))
        .content(markdown)
        .mode(text_model.TextMode.MARKDOWN)
    )


class Grid:
    """Places panels left to right in rows of 24 columns and numbers them, as gridPos and id want."""

    def __init__(self) -> None:
        self._panels: list[PanelBuilder | dashboard_builder.Row] = []
        self._x = 0
        self._y = 0
        self._row_height = 0

    def add(self, size: Size, panel: PanelBuilder) -> None:
        width, height = size
        if self._x + width > GRID_WIDTH:
            self._newline()
        place: Any = panel
        place.grid_pos(model.GridPos(h=height, w=width, x=self._x, y=self._y))
        self._panels.append(panel)
        self._x += width
        self._row_height = max(self._row_height, height)

    # The panel shapes the dashboards repeat most: one query, placed at once.

    def value(self, size: Size, title: str, expr: str, legend: str = "", *, description: str, **options: Any) -> None:
        """A stat of one instant query (a count, a state, a time); options as stat() takes them."""
        self.add(size, stat(title, [instant(expr, legend)], description=description, **options))

    def trend(
        self, size: Size, title: str, expr: str, legend: str, *, description: str, unit: str, **options: Any
    ) -> None:
        """A time series of one query, a line per label set; options as timeseries() takes them."""
        self.add(size, timeseries(title, [query(expr, legend)], description=description, unit=unit, **options))

    def states(
        self,
        size: Size,
        title: str,
        expr: str,
        legend: str,
        *,
        description: str,
        mappings: model.ValueMap,
        steps: Steps,
    ) -> None:
        """A state timeline of one query whose values ``mappings`` names (up/down, ok/failed...)."""
        self.add(
            size,
            state_timeline(title, [query(expr, legend)], description=description, mappings=[mappings], steps=steps),
        )

    def row(self, title: str) -> None:
        """A full-width heading that starts a new band of panels."""
        self._newline()
        row = dashboard_builder.Row(title).collapsed(False)
        row.grid_pos(model.GridPos(h=1, w=GRID_WIDTH, x=self._x, y=self._y))
        self._panels.append(row)
        self._y += 1

    def _newline(self) -> None:
        if self._x:
            self._y += self._row_height
        self._x, self._row_height = 0, 0

    def place(self, board: dashboard_builder.Dashboard) -> dashboard_builder.Dashboard:
        """Add the panels to ``board`` in order, numbered from 1."""
        for number, panel in enumerate(self._panels, start=1):
            if isinstance(panel, dashboard_builder.Row):
                board.with_row(panel.id(number))
            else:
                numbered: Any = panel
                board.with_panel(numbered.id(number))
        return board
