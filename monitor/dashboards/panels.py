"""Grafana JSON building blocks (schemaVersion 39, Grafana 10/11): queries, panels, a grid that places them.

Plain dicts, because Grafana's JSON is the interface: a panel here is exactly what Grafana stores. Every
query and panel names the datasource through the dashboard variable ``DS_PROMETHEUS``, so one file
works against whichever Prometheus a district runs (the provisioned one has uid ``prometheus``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Json = dict[str, Any]
Size = tuple[int, int]  # (width, height) in grid units: 24 columns make a row

DS_VARIABLE = "DS_PROMETHEUS"
DATASOURCE: Json = {"type": "prometheus", "uid": "${" + DS_VARIABLE + "}"}
GRID_WIDTH = 24

# Colours Grafana names in its palette.
GREEN, YELLOW, ORANGE, RED, BLUE, GREY = "green", "yellow", "orange", "red", "blue", "text"


def query(expr: str, legend: str = "", *, instant: bool = False, table: bool = False, heatmap: bool = False) -> Json:
    """One Prometheus query; refId is given by the panel that holds it."""
    fmt = "heatmap" if heatmap else "table" if table else "time_series"
    return {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "expr": expr,
        "format": fmt,
        "instant": instant,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "refId": "",
    }


def instant(expr: str, legend: str = "") -> Json:
    """The query of a stat: only the current value matters."""
    return query(expr, legend, instant=True)


def table_queries(*exprs: str) -> list[Json]:
    """A table's columns, one instant query each; Grafana names them Value #A, Value #B... in this order."""
    return [query(expr, instant=True, table=True) for expr in exprs]


def thresholds(*steps: tuple[str, float | None]) -> Json:
    """Absolute steps, the first with value None (Grafana's 'base')."""
    return {"mode": "absolute", "steps": [{"color": color, "value": value} for color, value in steps]}


def value_map(*entries: tuple[float | str, str, str]) -> Json:
    """A value mapping: (value, text, colour) per entry, in display order."""
    return {
        "type": "value",
        "options": {
            str(value): {"color": color, "index": index, "text": text}
            for index, (value, text, color) in enumerate(entries)
        },
    }


UP_DOWN = value_map((1, "Lên / Up", GREEN), (0, "Mất / Down", RED))
YES_NO = value_map((1, "Có / Yes", GREEN), (0, "Không / No", RED))
OK_FAILED = value_map((1, "Tốt / OK", GREEN), (0, "Lỗi / Failed", RED))


def override(matcher: str, name: str, **properties: Any) -> Json:
    """Field override, e.g. override("byName", "Value #B", unit="s", displayName="RTT")."""
    props = [{"id": key.replace("__", "."), "value": value} for key, value in properties.items()]
    return {"matcher": {"id": matcher, "options": name}, "properties": props}


def _panel(
    kind: str,
    title: str,
    targets: Sequence[Json],
    *,
    description: str,
    defaults: Json,
    options: Json,
    overrides: Sequence[Json] = (),
    transformations: Sequence[Json] = (),
) -> Json:
    refs = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": [{**target, "refId": refs[index]} for index, target in enumerate(targets)],
        "fieldConfig": {"defaults": defaults, "overrides": list(overrides)},
        "options": options,
        "transformations": list(transformations),
    }


def _defaults(
    unit: str,
    steps: Json | None,
    mappings: Iterable[Json],
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    palette: bool = False,
    custom: Json | None = None,
) -> Json:
    out: Json = {
        "unit": unit,
        "color": {"mode": "palette-classic" if palette else "thresholds"},
        "thresholds": steps or thresholds((GREEN, None)),
        "mappings": list(mappings),
    }
    if minimum is not None:
        out["min"] = minimum
    if maximum is not None:
        out["max"] = maximum
    if custom is not None:
        out["custom"] = custom
    return out


def stat(
    title: str,
    targets: Sequence[Json],
    *,
    description: str,
    unit: str = "none",
    steps: Json | None = None,
    mappings: Iterable[Json] = (),
    text_mode: str = "auto",
    decimals: int | None = None,
) -> Json:
    defaults = _defaults(unit, steps, mappings)
    if decimals is not None:
        defaults["decimals"] = decimals
    options = {
        "colorMode": "background",
        "graphMode": "none",
        "justifyMode": "auto",
        "orientation": "auto",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "showPercentChange": False,
        "textMode": text_mode,
        "wideLayout": True,
    }
    return _panel("stat", title, targets, description=description, defaults=defaults, options=options)


def timeseries(
    title: str,
    targets: Sequence[Json],
    *,
    description: str,
    unit: str,
    steps: Json | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    overrides: Sequence[Json] = (),
    draw: str = "line",
) -> Json:
    custom = {
        "drawStyle": draw,
        "lineWidth": 1,
        "fillOpacity": 10,
        "gradientMode": "none",
        "showPoints": "never",
        "spanNulls": False,
        "axisPlacement": "auto",
        "thresholdsStyle": {"mode": "dashed" if steps else "off"},
    }
    defaults = _defaults(unit, steps, (), minimum=minimum, maximum=maximum, palette=True, custom=custom)
    options = {
        "legend": {"calcs": ["lastNotNull", "max"], "displayMode": "table", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return _panel(
        "timeseries", title, targets, description=description, defaults=defaults, options=options, overrides=overrides
    )


def state_timeline(
    title: str, targets: Sequence[Json], *, description: str, mappings: Iterable[Json], steps: Json
) -> Json:
    defaults = _defaults("none", steps, mappings, custom={"fillOpacity": 80, "lineWidth": 0})
    options = {
        "alignValue": "left",
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        "mergeValues": True,
        "rowHeight": 0.9,
        "showValue": "auto",
        "tooltip": {"mode": "single", "sort": "none"},
    }
    return _panel("state-timeline", title, targets, description=description, defaults=defaults, options=options)


def table(
    title: str,
    targets: Sequence[Json],
    *,
    description: str,
    overrides: Sequence[Json],
    hide: Sequence[str] = ("Time",),
    sort_by: str | None = None,
) -> Json:
    """Instant queries in table format, merged into one row per label set (Grafana's 'merge')."""
    transformations = [
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {"excludeByName": dict.fromkeys(hide, True), "renameByName": {}}},
    ]
    options: Json = {
        "cellHeight": "sm",
        "footer": {"countRows": False, "fields": "", "reducer": ["sum"], "show": False},
        "showHeader": True,
        "sortBy": [{"desc": False, "displayName": sort_by}] if sort_by else [],
    }
    defaults = _defaults("none", None, (), custom={"align": "auto", "cellOptions": {"type": "auto"}})
    return _panel(
        "table",
        title,
        targets,
        description=description,
        defaults=defaults,
        options=options,
        overrides=overrides,
        transformations=transformations,
    )


def column(
    field: str,
    name: str,
    *,
    unit: str = "none",
    steps: Json | None = None,
    mappings: Sequence[Json] = (),
    decimals: int | None = None,
    link: Json | None = None,
) -> Json:
    """A table column's override: its header, unit and, with steps or mappings, a coloured cell."""
    properties: list[Json] = [{"id": "displayName", "value": name}, {"id": "unit", "value": unit}]
    if steps is not None or mappings:
        properties.append({"id": "custom.cellOptions", "value": {"type": "color-background", "mode": "basic"}})
    if steps is not None:
        properties.append({"id": "thresholds", "value": steps})
    if mappings:
        properties.append({"id": "mappings", "value": list(mappings)})
    if decimals is not None:
        properties.append({"id": "decimals", "value": decimals})
    if link is not None:
        properties.append({"id": "links", "value": [link]})
    return {"matcher": {"id": "byName", "options": field}, "properties": properties}


def heatmap(title: str, target: Json, *, description: str, unit: str) -> Json:
    """Buckets of a Prometheus histogram drawn as they are (calculate off): a SmokePing-like picture."""
    options = {
        "calculate": False,
        "cellGap": 1,
        "color": {
            "exponent": 0.5,
            "fill": "dark-orange",
            "mode": "scheme",
            "reverse": False,
            "scale": "exponential",
            "scheme": "Oranges",
            "steps": 64,
        },
        "exemplars": {"color": "rgba(255,0,255,0.7)"},
        "filterValues": {"le": 1e-9},
        "legend": {"show": True},
        "rowsFrame": {"layout": "auto"},
        "showValue": "never",
        "tooltip": {"mode": "single", "showColorScale": False, "yHistogram": True},
        "yAxis": {"axisPlacement": "left", "reverse": False, "unit": unit},
    }
    defaults = {"custom": {"scaleDistribution": {"type": "linear"}}}
    return _panel("heatmap", title, [target], description=description, defaults=defaults, options=options)


def bar_gauge(title: str, targets: Sequence[Json], *, description: str, unit: str, steps: Json) -> Json:
    defaults = _defaults(unit, steps, ())
    options = {
        "displayMode": "gradient",
        "minVizHeight": 16,
        "minVizWidth": 8,
        "namePlacement": "auto",
        "orientation": "horizontal",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "showUnfilled": True,
        "sizing": "auto",
        "valueMode": "color",
    }
    return _panel("bargauge", title, targets, description=description, defaults=defaults, options=options)


def geomap(
    title: str,
    target: Json,
    *,
    description: str,
    steps: Json,
    mappings: Sequence[Json],
    label_field: str,
) -> Json:
    """Markers at the ``lat``/``lon`` columns of a table query, coloured by its value through ``steps``."""
    layer = {
        "type": "markers",
        "name": "Điểm cầu / Sites",
        "config": {
            "showLegend": True,
            "style": {
                "color": {"field": "Value", "fixed": "dark-green"},
                "opacity": 0.9,
                "size": {"fixed": 10, "max": 15, "min": 2},
                "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
                "symbolAlign": {"horizontal": "center", "vertical": "center"},
                "text": {"field": label_field, "fixed": "", "mode": "field"},
                "textConfig": {"fontSize": 11, "offsetX": 0, "offsetY": -14, "textAlign": "center"},
            },
        },
        "location": {"latitude": "lat", "longitude": "lon", "mode": "coords"},
        "tooltip": True,
    }
    options = {
        "basemap": {"config": {}, "name": "Bản đồ / Basemap", "type": "default"},
        "controls": {"mouseWheelZoom": True, "showAttribution": True, "showZoom": True},
        "layers": [layer],
        "tooltip": {"mode": "details"},
        "view": {"allLayers": True, "id": "fit", "lat": 0, "lon": 0, "padding": 10, "zoom": 1},
    }
    # Prometheus labels arrive as strings; the marker layer wants numbers.
    convert = {
        "id": "convertFieldType",
        "options": {
            "conversions": [
                {"destinationType": "number", "targetField": "lat"},
                {"destinationType": "number", "targetField": "lon"},
            ],
            "fields": {},
        },
    }
    defaults = _defaults("none", steps, mappings)
    return _panel(
        "geomap",
        title,
        [target],
        description=description,
        defaults=defaults,
        options=options,
        transformations=[convert],
    )


def text(title: str, markdown: str) -> Json:
    """A Markdown panel; Grafana fills in $variables, so links can point at the service's own routes."""
    return {
        "type": "text",
        "title": title,
        "options": {
            "code": {"language": "plaintext", "showLineNumbers": False},
            "content": markdown,
            "mode": "markdown",
        },
    }


class Grid:
    """Places panels left to right in rows of 24 columns and numbers them, as gridPos and id want."""

    def __init__(self) -> None:
        self._panels: list[Json] = []
        self._x = 0
        self._y = 0
        self._row_height = 0

    def add(self, size: Size, panel: Json) -> None:
        width, height = size
        if self._x + width > GRID_WIDTH:
            self._newline()
        self._panels.append({**panel, "gridPos": {"h": height, "w": width, "x": self._x, "y": self._y}})
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
        self, size: Size, title: str, expr: str, legend: str, *, description: str, mappings: Json, steps: Json
    ) -> None:
        """A state timeline of one query whose values ``mappings`` names (up/down, ok/failed...)."""
        self.add(
            size,
            state_timeline(title, [query(expr, legend)], description=description, mappings=[mappings], steps=steps),
        )

    def row(self, title: str) -> None:
        """A full-width heading that starts a new band of panels."""
        self._newline()
        self._panels.append(
            {"type": "row", "title": title, "collapsed": False, "panels": [], "gridPos": self._pos(GRID_WIDTH, 1)}
        )
        self._y += 1

    def _pos(self, width: int, height: int) -> Json:
        return {"h": height, "w": width, "x": self._x, "y": self._y}

    def _newline(self) -> None:
        if self._x:
            self._y += self._row_height
        self._x, self._row_height = 0, 0

    def panels(self) -> list[Json]:
        return [{"id": number, **panel} for number, panel in enumerate(self._panels, start=1)]
