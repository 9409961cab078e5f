"""The Grafana dashboards, built with grafana-foundation-sdk (never hand-edited JSON); `giaoban dashboards export DIR`.

    giaoban-overview.json    giaoban — Tổng quan huyện / District overview      uid giaoban-overview
    giaoban-link.json        giaoban — Đường truyền điểm cầu / Site link        uid giaoban-link      ($site)
    giaoban-meetings.json    giaoban — Sẵn sàng giao ban / Meeting readiness    uid giaoban-meetings  ($meeting)
    giaoban-endpoints.json   giaoban — Thiết bị đầu cuối / Endpoints            uid giaoban-endpoints ($site)
    giaoban-national.json    giaoban — Toàn quốc / National overview            uid giaoban-national  ($meeting)

The national overview reads the per-province roll-ups of alerts/prometheus/rules.yml (``giaoban:province_*``,
group giaoban-provinces), evaluated where the nation's series are (the central Prometheus or vmalert against
VictoriaMetrics, deploy/national/).

The files in dashboards/ are this module's output, committed so that Grafana's file provisioning
(deploy/grafana/provisioning/dashboards/giaoban.yml) can load them without Python; a test keeps them
equal to what this module produces, and another that each decodes into the SDK's models and encodes back
unchanged. Each dashboard function returns the SDK's JSON (monitor/dashboards/panels.py: to_json). Queries
use only the metric names of the README's metrics table, plus
``giaoban_site_info{site,parent,role,code,lat,lon} 1`` (monitor/metrics/sites.py) for the map.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard as model

from monitor.dashboards.panels import (
    BLUE,
    DS_VARIABLE,
    GREEN,
    OK_FAILED,
    ORANGE,
    RED,
    UP_DOWN,
    YELLOW,
    YES_NO,
    Grid,
    Json,
    bar_gauge,
    column,
    datasource,
    geomap,
    heatmap,
    instant,
    override,
    query,
    stat,
    table,
    table_queries,
    text,
    thresholds,
    timeseries,
    to_json,
    value_map,
)
from monitor.i18n import verdict_both

TAG = "giaoban"
DEFAULT_GIAOBAN_URL = "http://localhost:9876"

# Vendors' thresholds (one-way delay < 150 ms, ITU-T G.114; loss ≤ 1 %, jitter ≤ 30 ms, Cisco interactive video),
# for colours only: the service's configured ones decide alerts.
MOS_STEPS = thresholds((RED, None), (ORANGE, 3.1), (GREEN, 3.6))
LOSS_STEPS = thresholds((GREEN, None), (ORANGE, 0.01), (RED, 0.03))
RTT_STEPS = thresholds((GREEN, None), (ORANGE, 0.15), (RED, 0.3))  # RTT: 150 ms one-way is 300 ms round trip
JITTER_STEPS = thresholds((GREEN, None), (ORANGE, 0.03), (RED, 0.05))
UTIL_STEPS = thresholds((GREEN, None), (ORANGE, 0.7), (RED, 0.8))  # 20% headroom over the call rate
READINESS = value_map(
    (1, verdict_both("READY"), GREEN), (0.5, verdict_both("DEGRADED"), YELLOW), (0, verdict_both("NOT_READY"), RED)
)
READINESS_STEPS = thresholds((RED, None), (YELLOW, 0.5), (GREEN, 1))
UP_STEPS = thresholds((RED, None), (GREEN, 1))
INFO_STEPS = thresholds((BLUE, None))  # a count or time that is neither good nor bad
ANY_IS_BAD_STEPS = thresholds((GREEN, None), (RED, 1))  # a count of things down: one is too many
ON_BATTERY = value_map((1, "Chạy pin / On battery", RED), (0, "Điện lưới / Mains", GREEN))

LINK_UID = "giaoban-link"
SITE_LINK = {
    "title": "Đường truyền của điểm cầu / Site link detail",
    "url": f"/d/{LINK_UID}?var-site=${{__value.raw}}&${{__url_time_range}}",
}


# ---------------------------------------------------------------- dashboard shell


def _datasource_variable() -> dashboard_builder.DatasourceVariable:
    return (
        dashboard_builder.DatasourceVariable(DS_VARIABLE)
        .label("Nguồn dữ liệu / Data source")
        .type("prometheus")
        .hide(model.VariableHide.DONT_HIDE)
        .include_all(False)
        .multi(False)
        .regex("")
    )


def _label_variable(name: str, label: str, metric: str, *, multi: bool) -> dashboard_builder.QueryVariable:
    """A variable listing one label's values; multi-select ones also offer All (regex .*)."""
    definition = f"label_values({metric}, {name})"
    variable = (
        dashboard_builder.QueryVariable(name)
        .label(label)
        .datasource(datasource())
        .query({"qryType": 1, "query": definition, "refId": "PrometheusVariableQueryEditor-VariableQuery"})
        .hide(model.VariableHide.DONT_HIDE)
        .include_all(multi)
        .multi(multi)
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)  # sites come and go with the inventory
        .regex("")
        .sort(model.VariableSort.ALPHABETICAL_ASC)
    )
    if multi:
        variable.all_value(".*")
    return variable


def _url_variable() -> dashboard_builder.TextBoxVariable:
    """Where the giaoban service answers for the browser (its board and API), for the text panels' links."""
    current = model.VariableOption(selected=True, text=DEFAULT_GIAOBAN_URL, value=DEFAULT_GIAOBAN_URL)
    return (
        dashboard_builder.TextBoxVariable("giaoban")
        .label("Địa chỉ giaoban / giaoban URL")
        .default_value(DEFAULT_GIAOBAN_URL)
        .current(current)
        .hide(model.VariableHide.DONT_HIDE)
        .options([current])
    )


def _dashboard(
    uid: str, title: str, description: str, grid: Grid, variables: Sequence[cogbuilder.Builder[model.VariableModel]]
) -> Json:
    board = (
        dashboard_builder.Dashboard(title)
        .uid(uid)
        .description(description)
        .annotation(
            dashboard_builder.AnnotationQuery()
            .built_in(1)
            .datasource(model.DataSourceRef(type_val="grafana", uid="-- Grafana --"))
            .enable(True)
            .hide(True)
            .icon_color("rgba(0, 211, 255, 1)")
            .name("Annotations & Alerts")
            .type("dashboard")
        )
        .tooltip(model.DashboardCursorSync.CROSSHAIR)  # shared crosshair: a loss spike lines up with traffic and RTT
        .link(
            dashboard_builder.DashboardLink("giaoban")
            .as_dropdown(True)
            .icon("external link")
            .include_vars(False)
            .keep_time(True)
            .tags([TAG])
            .target_blank(False)
            .type(model.DashboardLinkType.DASHBOARDS)
        )
        .refresh("1m")
        .tags([TAG])
        .variables([_datasource_variable(), *variables])
        .time("now-6h", "now")
        .timezone("browser")
        .version(1)
        .week_start("monday")
    )
    return to_json(grid.place(board).build())


# ---------------------------------------------------------------- (1) district overview


def overview() -> Json:
    grid = Grid()
    grid.value(
        (4, 4),
        "Điểm cầu kết nối / Sites up",
        "sum(giaoban_link_up)",
        "Lên / Up",
        description="Links with at least one echo answered in their last round (giaoban_link_up).",
        steps=INFO_STEPS,
    )
    grid.value(
        (4, 4),
        "Điểm cầu mất kết nối / Sites down",
        "sum(1 - giaoban_link_up)",
        "Mất / Down",
        description="Links whose last round got no answer at all.",
        steps=ANY_IS_BAD_STEPS,
    )
    grid.value(
        (5, 4),
        "Cuộc họp tiếp theo / Next meeting",
        "min(giaoban_meeting_start_timestamp_seconds > time()) * 1000",
        "Bắt đầu / Starts",
        description="Start of the next scheduled briefing.",
        unit="dateTimeFromNow",
        steps=INFO_STEPS,
    )
    next_meeting = "bottomk(1, giaoban_meeting_start_timestamp_seconds > time())"
    grid.add(
        (6, 4),
        stat(
            "Sẵn sàng cho cuộc họp tới / Ready for the next meeting",
            [
                instant(f"sum(giaoban_meeting_ready_sites and on(meeting) {next_meeting})", verdict_both("READY")),
                instant(f"sum(giaoban_meeting_sites and on(meeting) {next_meeting})", "Tổng / Total"),
            ],
            description="Participating sites found READY by the last readiness check of the next meeting, of all "
            "its sites. The reasons are on the meeting readiness dashboard and the board.",
            steps=INFO_STEPS,
        ),
    )
    grid.value(
        (5, 4),
        "Cảnh báo đang bật / Alerts firing",
        "sum(giaoban_alerts_firing)",
        "Cảnh báo / Alerts",
        description="Alerts in the firing state, all severities.",
        steps=thresholds((GREEN, None), (ORANGE, 1)),
    )
    grid.add(
        (10, 14),
        geomap(
            "Bản đồ điểm cầu / Site map",
            query(
                "max by (site) (giaoban_link_mos * giaoban_link_up)"
                " * on(site) group_left(lat, lon) max by (site, lat, lon) (giaoban_site_info)",
                instant=True,
                table=True,
            ),
            description="Each site at its inventory location, coloured by the estimated MOS of its link; "
            "a link that is down shows 0 (red). Sites without a location are not drawn.",
            steps=thresholds((RED, None), (ORANGE, 3.1), (GREEN, 3.6)),
            mappings=[value_map((0, "Mất / Down", RED))],
            label_field="site",
        ),
    )
    grid.add(
        (14, 14),
        table(
            "Đường truyền các điểm cầu / Site links",
            table_queries(
                "max by (site) (giaoban_link_up)",
                "max by (site) (giaoban_link_loss_ratio)",
                'max by (site) (giaoban_link_rtt_seconds{stat="median"})',
                "max by (site) (giaoban_link_jitter_seconds)",
                "max by (site) (giaoban_link_mos)",
                # The busiest direction of any monitored interface at the site (its uplink, in practice).
                "max by (site) (giaoban_interface_utilization_ratio)",
            ),
            description="Last values per site; click a site for its link detail.",
            overrides=[
                column("site", "Điểm cầu / Site", link=SITE_LINK),
                column("Value #A", "Trạng thái / State", mappings=[UP_DOWN]),
                column("Value #B", "Mất gói / Loss", unit="percentunit", steps=LOSS_STEPS, decimals=1),
                column("Value #C", "RTT (trung vị / median)", unit="s", steps=RTT_STEPS),
                column("Value #D", "Jitter", unit="s", steps=JITTER_STEPS),
                column("Value #E", "MOS", steps=MOS_STEPS, decimals=2),
                column("Value #F", "Tải / Utilisation", unit="percentunit", steps=UTIL_STEPS, decimals=0),
            ],
            sort_by="Điểm cầu / Site",
        ),
    )
    grid.row("Chất lượng đường truyền / Link quality")
    grid.trend(
        (12, 8),
        "Mất gói theo điểm cầu / Loss by site",
        "max by (site) (giaoban_link_loss_ratio)",
        "{{site}}",
        description="Share of echoes lost per probe round.",
        unit="percentunit",
        steps=LOSS_STEPS,
        minimum=0,
    )
    grid.trend(
        (12, 8),
        "MOS ước tính theo điểm cầu / Estimated MOS by site",
        "max by (site) (giaoban_link_mos)",
        "{{site}}",
        description="Simplified E-model from RTT, jitter and loss (1–4.5); below 3.6 a call suffers.",
        unit="none",
        steps=MOS_STEPS,
        minimum=1,
        maximum=4.5,
    )
    grid.row("Tự giám sát / Self-monitoring")
    grid.trend(
        (8, 7),
        "Lần đo lỗi theo loại / Failing probes by kind",
        "sum by (kind) (1 - giaoban_probe_success)",
        "{{kind}}",
        description="Targets whose last probe failed, by probe kind.",
        unit="none",
        minimum=0,
    )
    grid.trend(
        (8, 7),
        "Độ trễ lịch đo / Scheduler lag (p95)",
        "histogram_quantile(0.95, sum by (le) (rate(giaoban_scheduler_lag_seconds_bucket[$__rate_interval])))",
        "p95",
        description="How late probes start against their due time; growing lag means the machine is overloaded.",
        unit="s",
        minimum=0,
    )
    grid.trend(
        (8, 7),
        "Thông báo đã gửi / Notifications",
        "sum by (channel, result) (increase(giaoban_notifications_total[$__rate_interval]))",
        "{{channel}} {{result}}",
        description="Notifications sent per channel and result; failures are retried from the outbox.",
        unit="none",
        minimum=0,
        draw="bars",
    )
    grid.value(
        (4, 4),
        "Cấu hình / Configuration",
        "min(giaoban_config_last_reload_successful)",
        "Nạp lại / Reload",
        description="Whether the last load or reload of the inventory succeeded.",
        mappings=[OK_FAILED],
        steps=UP_STEPS,
    )
    grid.value(
        (4, 4),
        "Phiên bản / Version",
        "count by (version) (giaoban_build_info)",
        "{{version}}",
        description="Versions of giaoban running, with how many agents run each.",
        text_mode="name",
        steps=INFO_STEPS,
    )
    return _dashboard(
        "giaoban-overview",
        "giaoban — Tổng quan huyện / District overview",
        "Every site of the district at a glance: links, the next briefing, alerts.",
        grid,
        [_url_variable()],
    )


# ---------------------------------------------------------------- (2) link detail per site


def link_detail() -> Json:
    site = 'site="$site"'
    grid = Grid()
    grid.value(
        (4, 4),
        "Đường truyền / Link",
        f"max(giaoban_link_up{{{site}}})",
        description="1 when at least one echo of the last round came back.",
        mappings=[UP_DOWN],
        steps=UP_STEPS,
    )
    grid.value(
        (4, 4),
        "MOS ước tính / Estimated MOS",
        f"max(giaoban_link_mos{{{site}}})",
        description="Simplified E-model (1–4.5).",
        steps=MOS_STEPS,
        decimals=2,
    )
    grid.value(
        (4, 4),
        "Mất gói / Loss",
        f"max(giaoban_link_loss_ratio{{{site}}})",
        description="Share of echoes lost in the last round.",
        unit="percentunit",
        steps=LOSS_STEPS,
        decimals=1,
    )
    grid.value(
        (4, 4),
        "RTT trung vị / Median RTT",
        f'max(giaoban_link_rtt_seconds{{{site},stat="median"}})',
        description="Median round-trip time of the last round.",
        unit="s",
        steps=RTT_STEPS,
    )
    grid.value(
        (4, 4),
        "Thời gian chạy thiết bị / Device uptime",
        f"min(giaoban_device_uptime_seconds{{{site}}})",
        description="sysUpTime of the site's SNMP devices (the most recently restarted); a small value means "
        "a reboot, often a power cut.",
        unit="s",
        steps=thresholds((ORANGE, None), (GREEN, 3600)),
    )
    grid.value(
        (4, 4),
        "UPS",
        f"max(giaoban_ups_on_battery{{{site}}})",
        description="Whether the site's UPS runs from its battery (mains lost).",
        mappings=[ON_BATTERY],
        steps=ANY_IS_BAD_STEPS,
    )
    grid.add(
        (24, 9),
        heatmap(
            "Phân bố RTT / RTT distribution (SmokePing)",
            query(
                f"sum by (le) (rate(giaoban_link_echo_rtt_seconds_bucket{{{site}}}[$__rate_interval]))",
                "{{le}}",
                heatmap=True,
            ),
            description="Every echo's round-trip time, per bucket: a wide or rising band shows congestion "
            "before loss does.",
            unit="s",
        ),
    )
    grid.trend(
        (12, 8),
        "RTT min / trung vị / max",
        f'giaoban_link_rtt_seconds{{{site},stat=~"min|median|max"}}',
        "{{stat}}",
        description="Per probe round; absent while no echo came back.",
        unit="s",
        steps=RTT_STEPS,
        minimum=0,
    )
    grid.trend(
        (12, 8),
        "Mất gói / Loss",
        f"giaoban_link_loss_ratio{{{site}}}",
        "{{target}}",
        description="Below 1% is good for video, 1–3% fair, above 3% poor.",
        unit="percentunit",
        steps=LOSS_STEPS,
        minimum=0,
        maximum=1,
    )
    grid.trend(
        (12, 8),
        "Jitter",
        f"giaoban_link_jitter_seconds{{{site}}}",
        "{{target}}",
        description="Mean difference of successive RTTs; video wants under 30 ms.",
        unit="s",
        steps=JITTER_STEPS,
        minimum=0,
    )
    grid.trend(
        (12, 8),
        "MOS ước tính / Estimated MOS",
        f"giaoban_link_mos{{{site}}}",
        "{{target}}",
        description="Below 3.6 a call suffers.",
        unit="none",
        steps=MOS_STEPS,
        minimum=1,
        maximum=4.5,
    )
    grid.row("Thiết bị mạng / Network devices (SNMP)")
    grid.add(
        (12, 8),
        timeseries(
            "Lưu lượng / Traffic",
            [
                query(
                    f"rate(giaoban_interface_receive_bytes_total{{{site}}}[$__rate_interval]) * 8",
                    "{{target}} {{interface}} vào / in",
                ),
                query(
                    f"rate(giaoban_interface_transmit_bytes_total{{{site}}}[$__rate_interval]) * 8",
                    "{{target}} {{interface}} ra / out",
                ),
            ],
            description="Bits per second on the monitored interfaces; sent traffic is drawn below the axis.",
            unit="bps",
            overrides=[override("byFrameRefID", "B", custom__transform="negative-Y")],
        ),
    )
    grid.trend(
        (12, 8),
        "Tải / Utilisation",
        f"giaoban_interface_utilization_ratio{{{site}}}",
        "{{target}} {{interface}} {{direction}}",
        description="Traffic over the contracted bandwidth (or the interface speed); a call needs its rate "
        "plus 20% free.",
        unit="percentunit",
        steps=UTIL_STEPS,
        minimum=0,
        maximum=1,
    )
    grid.trend(
        (8, 8),
        "Lỗi cổng / Interface errors",
        f"rate(giaoban_interface_errors_total{{{site}}}[$__rate_interval])",
        "{{target}} {{interface}} {{direction}}",
        description="ifInErrors / ifOutErrors per second; rising errors point at a cable, port or radio.",
        unit="cps",
        minimum=0,
    )
    grid.states(
        (8, 8),
        "Trạng thái cổng / Interface state",
        f"giaoban_interface_oper_up{{{site}}}",
        "{{target}} {{interface}}",
        description="ifOperStatus of the monitored interfaces.",
        mappings=UP_DOWN,
        steps=UP_STEPS,
    )
    grid.trend(
        (8, 8),
        "Thời gian chạy / Uptime",
        f"giaoban_device_uptime_seconds{{{site}}}",
        "{{target}}",
        description="A drop to zero is a reboot.",
        unit="s",
        minimum=0,
    )
    grid.states(
        (12, 6),
        "Nguồn UPS / UPS source",
        f"giaoban_ups_on_battery{{{site}}}",
        "{{target}}",
        description="When the site ran from its battery.",
        mappings=ON_BATTERY,
        steps=ANY_IS_BAD_STEPS,
    )
    grid.trend(
        (12, 6),
        "Thời gian pin còn lại / UPS runtime left",
        f"giaoban_ups_runtime_seconds{{{site}}}",
        "{{target}}",
        description="The UPS's own estimate; a meeting needs more than its length.",
        unit="s",
        minimum=0,
    )
    grid.row("Các lần đo / Probes")
    grid.states(
        (24, 7),
        "Kết quả đo / Probe results",
        f"giaoban_probe_success{{{site}}}",
        "{{kind}} {{target}}",
        description="Every target of the site: link, devices, endpoints.",
        mappings=OK_FAILED,
        steps=UP_STEPS,
    )
    return _dashboard(
        LINK_UID,
        "giaoban — Đường truyền điểm cầu / Site link",
        "One site's TSLCD link in depth: RTT distribution, loss, jitter, MOS, its router and UPS.",
        grid,
        [_label_variable("site", "Điểm cầu / Site", "giaoban_link_up", multi=False)],
    )


# ---------------------------------------------------------------- (3) meeting readiness


def meeting_readiness() -> Json:
    meeting = 'meeting=~"$meeting"'
    grid = Grid()
    grid.add(
        (16, 8),
        table(
            "Cuộc họp sắp tới / Upcoming meetings",
            table_queries(
                # Started in the last 2 hours (the default length) or later: the one going on stays listed.
                f"(giaoban_meeting_start_timestamp_seconds{{{meeting}}} > time() - 7200) * 1000",
                f"max by (meeting) (giaoban_meeting_ready_sites{{{meeting}}})",
                f"max by (meeting) (giaoban_meeting_sites{{{meeting}}})",
                f"max by (meeting) (giaoban_readiness_check_timestamp_seconds{{{meeting}}}) * 1000",
            ),
            description="Each meeting's start, how many of its sites the last check found ready, and when that "
            "check ran. Click a meeting for its full report (reasons per site) from the giaoban API.",
            overrides=[
                column(
                    "meeting",
                    "Cuộc họp / Meeting",
                    link={
                        "title": "Báo cáo sẵn sàng / Readiness report",
                        "url": "${giaoban}/api/v1/meetings/${__value.raw}/readiness",
                        "targetBlank": True,
                    },
                ),
                column("Value #A", "Bắt đầu / Starts", unit="dateTimeAsIso"),
                column("Value #B", verdict_both("READY")),
                column("Value #C", "Điểm cầu / Sites"),
                column("Value #D", "Kiểm tra lúc / Checked", unit="dateTimeFromNow"),
            ],
            sort_by="Bắt đầu / Starts",
        ),
    )
    grid.add(
        (8, 8),
        text(
            "Lý do / Reasons",
            "Lý do một điểm cầu chưa sẵn sàng hoặc bị suy giảm là văn bản, không phải số liệu: xem "
            "[bảng sẵn sàng]($giaoban/) hoặc API `GET $giaoban/api/v1/meetings/{id}/readiness`.\n\n"
            "Why a site is not ready or degraded is text, not a metric: see the [readiness board]($giaoban/) or the "
            "API `GET $giaoban/api/v1/meetings/{id}/readiness` (click a meeting in the table).\n\n"
            "Đặt địa chỉ giaoban ở biến *giaoban URL* phía trên. / Set the service's address in the *giaoban URL* "
            "variable above.",
        ),
    )
    grid.states(
        (24, 10),
        "Sẵn sàng theo điểm cầu / Readiness by site",
        f"giaoban_meeting_site_ready{{{meeting}}}",
        "{{meeting}} · {{site}}",
        description="Result of every readiness check (T-60, T-30, T-10 by default) per site.",
        mappings=READINESS,
        steps=READINESS_STEPS,
    )
    grid.add(
        (16, 8),
        timeseries(
            "Sẵn sàng / tổng số / Ready vs total",
            [
                query(f"giaoban_meeting_ready_sites{{{meeting}}}", "{{meeting}} sẵn sàng / ready"),
                query(f"giaoban_meeting_sites{{{meeting}}}", "{{meeting}} tổng / total"),
            ],
            description="Ready sites rising to the total before the start is the goal.",
            unit="none",
            minimum=0,
        ),
    )
    # A range query, not an instant one like the other stats (as the dashboards have always had it).
    grid.add(
        (8, 8),
        stat(
            "Lần kiểm tra gần nhất / Last check",
            [query(f"max by (meeting) (giaoban_readiness_check_timestamp_seconds{{{meeting}}}) * 1000", "{{meeting}}")],
            description="When each meeting's readiness was last checked.",
            unit="dateTimeFromNow",
            steps=INFO_STEPS,
        ),
    )
    return _dashboard(
        "giaoban-meetings",
        "giaoban — Sẵn sàng giao ban / Meeting readiness",
        "Are all sites ready for the briefing? Checks before each meeting and their results per site.",
        grid,
        [
            _label_variable("meeting", "Cuộc họp / Meeting", "giaoban_meeting_start_timestamp_seconds", multi=True),
            _url_variable(),
        ],
    )


# ---------------------------------------------------------------- (4) endpoints


def endpoints() -> Json:
    site = 'site=~"$site"'
    grid = Grid()
    grid.value(
        (8, 4),
        "Thiết bị hoạt động theo giao thức / Endpoints up by protocol",
        f"sum by (protocol) (giaoban_endpoint_up{{{site}}})",
        "{{protocol}}",
        description="Endpoints answering their protocol (SIP OPTIONS, H.323 connect, the codecs' status APIs).",
        steps=INFO_STEPS,
    )
    grid.value(
        (4, 4),
        "Thiết bị không phản hồi / Endpoints down",
        f"sum(1 - giaoban_endpoint_up{{{site}}})",
        "Mất / Down",
        description="Endpoints that did not answer their last probe.",
        steps=ANY_IS_BAD_STEPS,
    )
    grid.value(
        (4, 4),
        "Đang trong cuộc gọi / In a call",
        f"sum(giaoban_endpoint_in_call{{{site}}})",
        "Trong cuộc gọi / In call",
        description="Codecs already in a call: busy before a briefing means someone must hang up.",
        steps=INFO_STEPS,
    )
    grid.value(
        (8, 4),
        "Dịch vụ HTTP/TCP lỗi / HTTP/TCP checks failing",
        f'sum(1 - giaoban_probe_success{{{site},kind=~"http|tcp"}})',
        "Lỗi / Failing",
        description="HTTP and TCP checks (servers, MCUs, portals) whose last probe failed.",
        steps=ANY_IS_BAD_STEPS,
    )
    grid.add(
        (24, 9),
        table(
            "Thiết bị đầu cuối / Endpoints",
            table_queries(
                f"max by (site, target, protocol) (giaoban_endpoint_up{{{site}}})",
                f"max by (site, target) (giaoban_endpoint_registered{{{site}}})",
                f"max by (site, target) (giaoban_endpoint_in_call{{{site}}})",
                f"max by (site, target) (giaoban_endpoint_sip_status_code{{{site}}})",
                f"max by (site, target) (giaoban_endpoint_response_seconds{{{site}}})",
            ),
            description="Last state of every video endpoint; an empty cell is a field the device does not report "
            "(unknown, never assumed OK).",
            overrides=[
                column("site", "Điểm cầu / Site", link=SITE_LINK),
                column("target", "Thiết bị / Endpoint"),
                column("protocol", "Giao thức / Protocol"),
                column("Value #A", "Trạng thái / State", mappings=[UP_DOWN]),
                column("Value #B", "Đăng ký / Registered", mappings=[YES_NO]),
                column(
                    "Value #C",
                    "Trong cuộc gọi / In call",
                    mappings=[value_map((1, "Bận / Busy", ORANGE), (0, "Rảnh / Idle", GREEN))],
                ),
                column(
                    "Value #D",
                    "Mã SIP / SIP status",
                    mappings=[value_map((200, "200 OK", GREEN), (486, "486 Busy", ORANGE))],
                ),
                column("Value #E", "Phản hồi / Response", unit="s"),
            ],
            sort_by="Điểm cầu / Site",
        ),
    )
    grid.states(
        (12, 8),
        "Hoạt động / Up over time",
        f"giaoban_endpoint_up{{{site}}}",
        "{{site}} {{target}}",
        description="When each endpoint answered.",
        mappings=UP_DOWN,
        steps=UP_STEPS,
    )
    grid.states(
        (12, 8),
        "Camera và micro / Peripherals",
        f"giaoban_endpoint_peripheral_ok{{{site}}}",
        "{{site}} {{target}} {{peripheral}}",
        description="Camera and microphones as the codec reports them; absent when it does not say.",
        mappings=value_map((1, "Kết nối / Connected", GREEN), (0, "Thiếu / Missing", RED)),
        steps=UP_STEPS,
    )
    grid.trend(
        (12, 8),
        "Thời gian phản hồi / Response time",
        f"giaoban_endpoint_response_seconds{{{site}}}",
        "{{site}} {{target}} {{protocol}}",
        description="How long each endpoint took to answer its protocol.",
        unit="s",
        minimum=0,
    )
    grid.trend(
        (12, 8),
        "Mã trạng thái SIP / SIP status code",
        f"giaoban_endpoint_sip_status_code{{{site}}}",
        "{{site}} {{target}}",
        description="200 ready; 486/600-class busy in a call; anything else alive but not ready.",
        unit="none",
        draw="points",
    )
    grid.row("Máy chủ và chứng chỉ / Servers and certificates")
    grid.states(
        (12, 8),
        "Kiểm tra HTTP/TCP / HTTP/TCP checks",
        f'giaoban_probe_success{{{site},kind=~"http|tcp"}}',
        "{{site}} {{kind}} {{target}}",
        description="Servers, MCU web interfaces and ports the inventory lists as http or tcp endpoints.",
        mappings=OK_FAILED,
        steps=UP_STEPS,
    )
    grid.trend(
        (12, 8),
        "Thời gian kiểm tra / Check duration",
        f'giaoban_probe_duration_seconds{{{site},kind=~"http|tcp",phase="total"}}',
        "{{site}} {{kind}} {{target}}",
        description="Total time of each HTTP/TCP check.",
        unit="s",
        minimum=0,
    )
    grid.trend(
        (12, 7),
        "Mã HTTP / HTTP status",
        f"giaoban_http_status_code{{{site}}}",
        "{{site}} {{target}}",
        description="Status code of each HTTP check's last answer.",
        unit="none",
        draw="points",
    )
    grid.add(
        (12, 7),
        bar_gauge(
            "Chứng chỉ TLS hết hạn sau / TLS certificate expires in",
            [instant(f"giaoban_tls_cert_expiry_timestamp_seconds{{{site}}} - time()", "{{site}} {{target}}")],
            description="Time left on each HTTPS endpoint's certificate.",
            unit="s",
            steps=thresholds((RED, None), (ORANGE, 7 * 86400), (GREEN, 30 * 86400)),
        ),
    )
    return _dashboard(
        "giaoban-endpoints",
        "giaoban — Thiết bị đầu cuối / Endpoints",
        "Video endpoints and servers: reachability, registration, calls, camera and microphones, certificates.",
        grid,
        [_label_variable("site", "Điểm cầu / Site", "giaoban_link_up", multi=True)],
    )


# ---------------------------------------------------------------- files


# ---------------------------------------------------------------- (5) the nation, by province


def national() -> Json:
    """34 provinces and 3,321 communes from one central store: counts per province, never one panel per site."""
    meeting = 'meeting=~"$meeting"'
    grid = Grid()
    grid.value(
        (4, 4),
        "Điểm cầu kết nối / Sites up",
        "sum(giaoban:province_links_up:sum)",
        "Lên / Up",
        description="Links up in the whole country, each site counted once whatever the agents probing it.",
        steps=INFO_STEPS,
    )
    grid.value(
        (4, 4),
        "Điểm cầu mất kết nối / Sites down",
        "sum(giaoban:province_links:count) - sum(giaoban:province_links_up:sum)",
        "Mất / Down",
        description="Links whose last round got no answer, in the whole country.",
        steps=ANY_IS_BAD_STEPS,
    )
    grid.value(
        (4, 4),
        "Tác tử giaoban / giaoban agents",
        'count(up{job="giaoban"} == 1)',
        "Đang chạy / Up",
        description="Agents Prometheus scrapes successfully (deploy/national/agents.yml).",
        steps=INFO_STEPS,
    )
    grid.value(
        (4, 4),
        "Tác tử không trả lời / Agents not answering",
        'count(up{job="giaoban"} == 0) or vector(0)',
        "Lỗi / Down",
        description="Agents whose /metrics Prometheus cannot scrape: their provinces are not measured.",
        steps=ANY_IS_BAD_STEPS,
    )
    grid.add(
        (8, 4),
        stat(
            "Sẵn sàng toàn quốc / Ready in the country",
            [
                instant(f"sum(giaoban:province_meeting_ready_sites:sum{{{meeting}}})", verdict_both("READY")),
                instant(f"sum(giaoban:province_meeting_sites:count{{{meeting}}})", "Đã kiểm tra / Checked"),
            ],
            description="Sites found READY by their agents' last readiness check of the chosen meetings, of the "
            "sites checked. Sites nobody checked are on the board and in the API (UNKNOWN).",
            steps=INFO_STEPS,
        ),
    )
    grid.add(
        (12, 16),
        table(
            "Đường truyền theo tỉnh / Links by province",
            table_queries(
                "giaoban:province_links:count",
                "giaoban:province_links:count - giaoban:province_links_up:sum",
                "giaoban:province_link_loss_ratio:avg",
                "giaoban:province_link_rtt_seconds:avg",
            ),
            description="Per province: its hub and communes with a link, how many are down, the average loss "
            "and RTT. Sort by a column to see the worst provinces first.",
            overrides=[
                column("province", "Tỉnh / Province"),
                column("Value #A", "Điểm cầu / Sites"),
                column("Value #B", "Mất / Down", steps=ANY_IS_BAD_STEPS),
                column("Value #C", "Mất gói / Loss", unit="percentunit", steps=LOSS_STEPS, decimals=1),
                column("Value #D", "RTT", unit="s", steps=RTT_STEPS),
            ],
            sort_by="Mất / Down",
        ),
    )
    grid.add(
        (12, 16),
        table(
            "Sẵn sàng theo tỉnh / Readiness by province",
            table_queries(
                f"sum by (province) (giaoban:province_meeting_ready_sites:sum{{{meeting}}})",
                f"sum by (province) (giaoban:province_meeting_sites:count{{{meeting}}})",
            ),
            description="Per province: sites READY in the last check of the chosen meetings, of those checked. "
            "The reasons, and the sites nobody reported on, are on the board and in the API.",
            overrides=[
                column("province", "Tỉnh / Province"),
                column("Value #A", verdict_both("READY")),
                column("Value #B", "Đã kiểm tra / Checked"),
            ],
            sort_by="Tỉnh / Province",
        ),
    )
    grid.trend(
        (24, 8),
        "Điểm cầu mất kết nối theo tỉnh / Sites down by province",
        "giaoban:province_links:count - giaoban:province_links_up:sum",
        "{{province}}",
        description="Links down per province over time.",
        unit="none",
        steps=ANY_IS_BAD_STEPS,
        minimum=0,
    )
    return _dashboard(
        "giaoban-national",
        "giaoban — Toàn quốc / National overview",
        "Every province at a glance from the central store: links up and down, readiness per province.",
        grid,
        [
            _label_variable("meeting", "Cuộc họp / Meeting", "giaoban_meeting_start_timestamp_seconds", multi=True),
            _url_variable(),
        ],
    )


DASHBOARDS: dict[str, Callable[[], Json]] = {
    "giaoban-overview.json": overview,
    "giaoban-link.json": link_detail,
    "giaoban-meetings.json": meeting_readiness,
    "giaoban-endpoints.json": endpoints,
    "giaoban-national.json": national,
}


def render(dashboard: Json) -> str:
    """The file text: stable key order and indentation, so regenerating gives the same bytes."""
    return json.dumps(dashboard, ensure_ascii=False, indent=2) + "\n"


def export(directory: Path) -> list[Path]:
    """Write every dashboard into ``directory`` (created if missing); returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, build in DASHBOARDS.items():
        path = directory / filename
        path.write_text(render(build()), encoding="utf-8")
        written.append(path)
    return written


def expressions(dashboard: Json) -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every query of a dashboard's panels, e.g. ("Sites up/A", "sum(giaoban_link_up)")."""
    for panel in dashboard["panels"]:
        for target in panel.get("targets", ()):
            yield f"{panel['title']}/{target['refId']}", target["expr"]


__all__ = ["DASHBOARDS", "export", "expressions", "render"]
