"""Every sentence of an alert message, in Vietnamese and English (chosen by ``district.locale``).

Per rule: a title (firing), a resolved title, the measured detail and what to check. Fields in braces
come from the rule's finding (alerts/rules.py) and the engine: {site} the site's name, {device},
{endpoint}, {interface}, {address}, {value} and {limit} (already in the unit the sentence names),
{detail} what went wrong: our words for the probe's reason code, then, in Vietnamese, the probe's own English
quoted after a label (monitor.i18n.fault_text). A test checks every rule × event × locale renders, in NFC, and
that the Vietnamese carries its diacritics; tests/test_vi_texts.py that no English word of ours is left in it.
"""

from __future__ import annotations

from typing import NamedTuple

from monitor.i18n import Locale


class RuleText(NamedTuple):
    title: str
    resolved: str
    detail: str
    action: str


RULE_TEXTS: dict[str, dict[Locale, RuleText]] = {
    "link_down": {
        "vi": RuleText(
            "Mất kết nối {site}",
            "Đã có lại kết nối {site}",
            "Đường truyền {address} mất kết nối: {detail}.",
            "Kiểm tra nguồn điện và cáp quang của bộ định tuyến; gọi VNPT nếu đường truyền vẫn mất.",
        ),
        "en": RuleText(
            "{site} is unreachable",
            "{site} is reachable again",
            "The link {address} does not answer ping: {detail}.",
            "Check the router's power and fibre; call VNPT if the link stays down.",
        ),
    },
    "link_loss": {
        "vi": RuleText(
            "Mất gói cao trên đường truyền {site}",
            "Hết mất gói trên đường truyền {site}",
            "Mất gói {value}% (ngưỡng {limit}%) tới {address}: hình và tiếng sẽ bị giật.",
            "Kiểm tra cáp và cổng mạng; nếu mất gói trên đường truyền, báo VNPT.",
        ),
        "en": RuleText(
            "High packet loss on the link of {site}",
            "Packet loss on the link of {site} is back to normal",
            "Packet loss {value}% (limit {limit}%) to {address}: picture and sound will break up.",
            "Check cables and ports; if the loss is on the line, report it to VNPT.",
        ),
    },
    "link_rtt": {
        "vi": RuleText(
            "Độ trễ cao trên đường truyền {site}",
            "Độ trễ đường truyền {site} đã bình thường",
            "Độ trễ {value} ms (ngưỡng {limit} ms) tới {address}: hội thoại sẽ bị chậm.",
            "Tìm máy đang tải lớn trên mạng của điểm cầu; báo VNPT nếu độ trễ vẫn cao.",
        ),
        "en": RuleText(
            "High latency on the link of {site}",
            "Latency on the link of {site} is back to normal",
            "Round-trip time {value} ms (limit {limit} ms) to {address}: conversation will lag.",
            "Look for heavy transfers on the site's network; report to VNPT if the delay stays high.",
        ),
    },
    "link_jitter": {
        "vi": RuleText(
            "Độ dao động trễ (jitter) cao trên đường truyền {site}",
            "Jitter đường truyền {site} đã bình thường",
            "Jitter {value} ms (ngưỡng {limit} ms) tới {address}: hình và tiếng sẽ không đều.",
            "Kiểm tra tải trên đường truyền và cấu hình QoS của bộ định tuyến.",
        ),
        "en": RuleText(
            "High jitter on the link of {site}",
            "Jitter on the link of {site} is back to normal",
            "Jitter {value} ms (limit {limit} ms) to {address}: picture and sound will stutter.",
            "Check the load on the link and the router's QoS settings.",
        ),
    },
    "link_mos": {
        "vi": RuleText(
            "Chất lượng cuộc gọi ước tính thấp tại {site}",
            "Chất lượng cuộc gọi tại {site} đã bình thường",
            "Điểm MOS ước tính {value} (ngưỡng {limit}) trên đường truyền {address}.",
            "Kiểm tra mất gói, độ trễ và jitter của đường truyền; báo VNPT nếu kéo dài.",
        ),
        "en": RuleText(
            "Low estimated call quality at {site}",
            "Call quality at {site} is back to normal",
            "Estimated MOS {value} (limit {limit}) on the link {address}.",
            "Check the link's loss, delay and jitter; report to VNPT if it persists.",
        ),
    },
    "device_down": {
        "vi": RuleText(
            "Thiết bị {device} tại {site} không trả lời",
            "Thiết bị {device} tại {site} đã trả lời lại",
            "Không đọc được SNMP từ {device} ({address}): {detail}.",
            "Kiểm tra nguồn điện và cáp mạng của thiết bị; khởi động lại nếu đèn báo bất thường.",
        ),
        "en": RuleText(
            "Device {device} at {site} does not answer",
            "Device {device} at {site} answers again",
            "No SNMP answer from {device} ({address}): {detail}.",
            "Check the device's power and network cable; restart it if its lights look wrong.",
        ),
    },
    "device_rebooted": {
        "vi": RuleText(
            "Thiết bị {device} tại {site} vừa khởi động lại",
            "Thiết bị {device} tại {site} đã chạy ổn định",
            "Thiết bị mới chạy được {value} phút.",
            "Kiểm tra nguồn điện và bộ lưu điện (UPS); xem nhật ký thiết bị nếu khởi động lại nhiều lần.",
        ),
        "en": RuleText(
            "Device {device} at {site} has just restarted",
            "Device {device} at {site} has been running steadily",
            "The device has been up for {value} minutes.",
            "Check the power and the UPS; read the device's log if it restarts repeatedly.",
        ),
    },
    "interface_down": {
        "vi": RuleText(
            "Cổng {interface} của {device} tại {site} bị ngắt",
            "Cổng {interface} của {device} tại {site} đã hoạt động lại",
            "Cổng {interface} của {device} ({address}) không ở trạng thái hoạt động.",
            "Kiểm tra cáp và thiết bị ở đầu bên kia của cổng.",
        ),
        "en": RuleText(
            "Interface {interface} of {device} at {site} is down",
            "Interface {interface} of {device} at {site} is up again",
            "Interface {interface} of {device} ({address}) is not operationally up.",
            "Check the cable and the device at the other end of the port.",
        ),
    },
    "interface_saturated": {
        "vi": RuleText(
            "Cổng {interface} của {device} tại {site} quá tải",
            "Cổng {interface} của {device} tại {site} đã hết quá tải",
            "Lưu lượng chiều {direction} dùng {value}% băng thông (ngưỡng {limit}%).",
            "Tìm máy đang tải lớn (cập nhật phần mềm, camera giám sát); hạn chế trong giờ họp.",
        ),
        "en": RuleText(
            "Interface {interface} of {device} at {site} is saturated",
            "Interface {interface} of {device} at {site} is no longer saturated",
            "Traffic {direction} uses {value}% of the bandwidth (limit {limit}%).",
            "Look for heavy transfers (updates, CCTV); hold them off during meetings.",
        ),
    },
    "endpoint_down": {
        "vi": RuleText(
            "Thiết bị hội nghị {endpoint} tại {site} không trả lời",
            "Thiết bị hội nghị {endpoint} tại {site} đã trả lời lại",
            "{endpoint} ({address}): {detail}.",
            "Kiểm tra thiết bị đã bật, cáp mạng đã cắm và địa chỉ IP đúng.",
        ),
        "en": RuleText(
            "Endpoint {endpoint} at {site} does not answer",
            "Endpoint {endpoint} at {site} answers again",
            "{endpoint} ({address}): {detail}.",
            "Check that the device is on, its network cable plugged in and its IP address right.",
        ),
    },
    "endpoint_unregistered": {
        "vi": RuleText(
            "Thiết bị {endpoint} tại {site} chưa đăng ký với tổng đài",
            "Thiết bị {endpoint} tại {site} đã đăng ký lại",
            "{endpoint} ({address}): {detail}.",
            "Kiểm tra tài khoản SIP/H.323 và máy chủ đăng ký trên thiết bị, và kết nối tới tổng đài.",
        ),
        "en": RuleText(
            "Endpoint {endpoint} at {site} is not registered",
            "Endpoint {endpoint} at {site} is registered again",
            "{endpoint} ({address}): {detail}.",
            "Check the SIP/H.323 account and registrar on the device, and its path to the call server.",
        ),
    },
    "peripheral_missing": {
        "vi": RuleText(
            "Thiết bị {endpoint} tại {site} thiếu camera hoặc micro",
            "Thiết bị {endpoint} tại {site} đã nhận đủ camera và micro",
            "{endpoint}: {missing}.",
            "Kiểm tra cáp camera (HDMI/USB), dây micro và nguồn của chúng.",
        ),
        "en": RuleText(
            "Endpoint {endpoint} at {site} is missing a camera or microphone",
            "Endpoint {endpoint} at {site} has its camera and microphones again",
            "{endpoint}: {missing}.",
            "Check the camera cable (HDMI/USB), the microphone cables and their power.",
        ),
    },
    "certificate_expiring": {
        "vi": RuleText(
            "Chứng chỉ TLS của {endpoint} tại {site} sắp hết hạn",
            "Chứng chỉ TLS của {endpoint} tại {site} đã được gia hạn",
            "Chứng chỉ của {address} còn {value} ngày.",
            "Gia hạn chứng chỉ và cài lại lên thiết bị trước khi hết hạn.",
        ),
        "en": RuleText(
            "TLS certificate of {endpoint} at {site} expires soon",
            "TLS certificate of {endpoint} at {site} has been renewed",
            "The certificate of {address} has {value} days left.",
            "Renew the certificate and install it on the device before it expires.",
        ),
    },
    "ups_on_battery": {
        "vi": RuleText(
            "Bộ lưu điện {device} tại {site} đang chạy bằng pin",
            "Bộ lưu điện {device} tại {site} đã có điện lưới trở lại",
            "Mất điện lưới; thời gian pin còn lại ước tính {value} phút.",
            "Kiểm tra điện lưới; chuẩn bị máy phát nếu mất điện kéo dài.",
        ),
        "en": RuleText(
            "UPS {device} at {site} is on battery",
            "UPS {device} at {site} is back on mains",
            "Mains power is lost; estimated battery runtime left {value} minutes.",
            "Check the mains supply; prepare a generator if the outage lasts.",
        ),
    },
    # {state} says NOT_READY or DEGRADED in words (WORDS "state_*"): a degraded site is never "not ready".
    "site_not_ready": {
        "vi": RuleText(
            "{site} {state} {meeting} (họp lúc {start})",
            "{site} đã sẵn sàng cho cuộc họp {meeting} (họp lúc {start})",
            "Kết quả kiểm tra khi còn {left} đến giờ họp: {verdict}.",
            "Xử lý từng vấn đề nêu trên trước giờ họp.",
        ),
        "en": RuleText(
            "{site} {state} {meeting} (starts {start})",
            "{site} is ready for the meeting {meeting} (starts {start})",
            "Checked with {left} left before the start: {verdict}.",
            "Fix each problem above before the meeting starts.",
        ),
    },
    # In a running meeting (monitor/readiness/watch.py): {meeting} its title, {start} its start, {joined} and
    # {left} the site's times ("07:42"), {grace} calls.join_grace; the alert resolves when the site joins or
    # recovers, or when the meeting ends.
    "not_joined": {
        "vi": RuleText(
            "{site} chưa vào cuộc họp {meeting}",
            "Hết cảnh báo: {site} đã vào cuộc họp {meeting} hoặc cuộc họp đã kết thúc",
            "Cuộc họp bắt đầu lúc {start}; sau {grace} điểm cầu vẫn chưa kết nối.",
            "Gọi điện cho điểm cầu; kiểm tra thiết bị hội nghị đã bật, đã gọi vào cầu hội nghị và đường truyền.",
        ),
        "en": RuleText(
            "{site} has not joined the meeting {meeting}",
            "All clear: {site} has joined the meeting {meeting}, or the meeting has ended",
            "The meeting started at {start}; {grace} later the site is still not connected.",
            "Call the site; check that the room system is on, has dialled the bridge, and the link.",
        ),
    },
    "dropped_out": {
        "vi": RuleText(
            "{site} rời cuộc họp {meeting} lúc {left}",
            "Hết cảnh báo: {site} đã vào lại cuộc họp {meeting} hoặc cuộc họp đã kết thúc",
            "Điểm cầu vào họp lúc {joined} và rời cuộc họp lúc {left}.",
            "Gọi điện cho điểm cầu; kiểm tra đường truyền và thiết bị hội nghị, rồi gọi lại vào cầu hội nghị.",
        ),
        "en": RuleText(
            "{site} left the meeting {meeting} at {left}",
            "All clear: {site} is back in the meeting {meeting}, or the meeting has ended",
            "The site joined at {joined} and left the meeting at {left}.",
            "Call the site; check the link and the room system, then dial the bridge again.",
        ),
    },
    # {direction} "in" (what the site receives) or "out"; {media} audio or video; {band} the vendor's band.
    "poor_media": {
        "vi": RuleText(
            "Hình và tiếng kém tại {site} trong cuộc họp {meeting}",
            "Hết cảnh báo hình và tiếng kém tại {site} trong cuộc họp {meeting}",
            "Mất gói {media} chiều {direction} {value}% (ngưỡng {limit}%, mức {band}), độ dao động trễ {jitter} ms "
            "(ngưỡng {jitter_limit} ms).",
            "Kiểm tra tải trên đường truyền của điểm cầu; giảm tốc độ cuộc gọi hoặc báo VNPT nếu kéo dài.",
        ),
        "en": RuleText(
            "Poor picture and sound at {site} in the meeting {meeting}",
            "All clear: poor picture and sound at {site} in the meeting {meeting}",
            "Packet loss of the {media} {direction}: {value}% (limit {limit}%, {band}), jitter {jitter} ms "
            "(limit {jitter_limit} ms).",
            "Check the load on the site's link; lower the call rate or report to VNPT if it lasts.",
        ),
    },
    # Loss above calls.loss_critical ({limit_critical}, in %); its resolve means "back under the critical limit": the
    # poor_media alert beside it stays open (and is told) while the loss is still above calls.loss.
    "poor_media_critical": {
        "vi": RuleText(
            "Mất gói nghiêm trọng tại {site} trong cuộc họp {meeting}: hình và tiếng bị gián đoạn",
            "Mất gói tại {site} trong cuộc họp {meeting} đã xuống dưới mức nghiêm trọng",
            "Mất gói {media} chiều {direction} {value}%, trên mức nghiêm trọng {limit_critical}% (ngưỡng {limit}%), "
            "độ dao động trễ {jitter} ms.",
            "Gọi điện cho điểm cầu ngay; giảm tốc độ cuộc gọi, tắt các ứng dụng dùng chung đường truyền và báo VNPT.",
        ),
        "en": RuleText(
            "Critical packet loss at {site} in the meeting {meeting}: picture and sound break up",
            "Packet loss at {site} in the meeting {meeting} is back under the critical limit",
            "Packet loss of the {media} {direction}: {value}%, above the critical {limit_critical}% (limit {limit}%), "
            "jitter {jitter} ms.",
            "Call the site now; lower the call rate, stop other traffic on the link and report to VNPT.",
        ),
    },
    # {fix} is monitor/engine/setup.py's sentence in the district's locale: what the admins must change.
    "probe_setup": {
        "vi": RuleText(
            "giaoban không đo được {count} mục kiểm tra {kind}: cần sửa cài đặt của giaoban",
            "giaoban đã đo được lại các mục kiểm tra {kind}",
            "{count} mục kiểm tra {kind} tại {sites} điểm cầu chưa được đo. Lỗi nằm ở cài đặt của giaoban, không "
            "phải ở điểm cầu, nên không báo cho kỹ thuật viên của điểm cầu nào.",
            "{fix}.",
        ),
        "en": RuleText(
            "giaoban cannot measure {count} {kind} checks: its set-up needs a change",
            "giaoban measures its {kind} checks again",
            "{count} {kind} checks at {sites} sites are not measured. The fault is in giaoban's set-up, not at "
            "the sites, so no site's technician is alerted.",
            "{fix}.",
        ),
    },
}

# A rule's texts for one of the probe's reason codes (the finding's {fault}), where the rule's own would mislead:
# a codec whose own diagnostics report a network or temperature fault answers, so "does not answer" is wrong
# and so is its advice. The alert stays the rule's (the same name, route and Prometheus rule).
FAULT_TEXTS: dict[tuple[str, str], dict[Locale, RuleText]] = {
    ("endpoint_down", "network_fault"): {
        "vi": RuleText(
            "Thiết bị hội nghị {endpoint} tại {site} báo sự cố mạng",
            "Thiết bị hội nghị {endpoint} tại {site} đã hết sự cố mạng",
            "{endpoint} ({address}) vẫn trả lời nhưng tự báo lỗi trên đường mạng của nó: {detail}.",
            "Kiểm tra dây mạng của thiết bị và cổng trên bộ chuyển mạch (tốc độ, song công), rồi địa chỉ IP; "
            "thay dây hoặc chuyển sang cổng khác nếu lỗi vẫn còn.",
        ),
        "en": RuleText(
            "Endpoint {endpoint} at {site} reports a network fault",
            "Endpoint {endpoint} at {site} no longer reports a network fault",
            "{endpoint} ({address}) answers but reports a fault on its own network link: {detail}.",
            "Check the device's network cable and its switch port (speed, duplex), then its IP address; "
            "replace the cable or move it to another port if the fault stays.",
        ),
    },
    ("endpoint_down", "overheating"): {
        "vi": RuleText(
            "Thiết bị hội nghị {endpoint} tại {site} bị quá nhiệt",
            "Thiết bị hội nghị {endpoint} tại {site} đã hết quá nhiệt",
            "{endpoint} ({address}) tự báo nhiệt độ hoặc quạt vượt ngưỡng: {detail}.",
            "Kiểm tra quạt và khe thoát gió của thiết bị, dọn bụi và vật che chắn, làm mát phòng; nếu cần, tắt "
            "thiết bị cho nguội rồi bật lại trước giờ họp.",
        ),
        "en": RuleText(
            "Endpoint {endpoint} at {site} is overheating",
            "Endpoint {endpoint} at {site} is no longer overheating",
            "{endpoint} ({address}) reports its temperature or fans out of bounds: {detail}.",
            "Check the device's fans and vents, clear dust and anything blocking them, cool the room; if needed, "
            "switch it off to cool down and back on before the meeting.",
        ),
    },
}

# Short words the templates put around the rule's sentences; "alert_*" (an alert's state) and "level_*" (its
# severity) are also the words of the alert lists (CLI, board).
WORDS: dict[Locale, dict[str, str]] = {
    "vi": {
        "critical": "[NGHIÊM TRỌNG]",
        "warning": "[CẢNH BÁO]",
        "info": "[THÔNG BÁO]",
        "reminder": "[NHẮC LẠI]",
        "resolved": "[ĐÃ KHẮC PHỤC]",
        "site": "Điểm cầu",
        "action": "Việc cần làm",
        "since": "Phát hiện lúc",
        "still": "Vẫn chưa khắc phục sau {duration}.",
        "lasted": "Thời gian sự cố: {duration}.",
        "affected": "{count} điểm cầu bị ảnh hưởng: {names}",
        "affected_back": "{count} điểm cầu phía sau đã có thể liên lạc lại; điểm nào vẫn lỗi sẽ được báo riêng.",
        "ack": "Xác nhận đã nhận (dừng nhắc lại): {command}",
        "board": "Xem trên bảng theo dõi: {url}",
        "unknown": "không rõ",
        "left": "còn {left}",
        "reasons": "Các vấn đề:",
        "summary_title": "Cuộc họp {meeting} lúc {start}: {ready}/{total} điểm cầu sẵn sàng",
        "summary_all": "Tất cả điểm cầu đã sẵn sàng.",
        "summary_not_ready": "Chưa sẵn sàng: {names}",
        "summary_degraded": "Suy giảm: {names}",
        "state_NOT_READY": "chưa sẵn sàng cho cuộc họp",
        "state_DEGRADED": "bị suy giảm trước cuộc họp",
        "state_unknown": "có vấn đề trước cuộc họp",
        "missing_camera": "không nhận camera",
        "missing_microphone": "không nhận micro",
        "missing_camera_microphone": "không nhận camera và micro",
        "missing_any": "thiếu camera hoặc micro",
        "alert_pending": "đang theo dõi",
        "alert_firing": "đang báo",
        "alert_resolved": "đã hết",
        "level_critical": "nghiêm trọng",
        "level_warning": "cảnh báo",
        "level_info": "thông tin",
        "in": "vào",
        "out": "ra",
        "affected_short": "{count} điểm cầu bị ảnh hưởng",
        "zone": "giờ địa phương",
        "media_audio": "âm thanh",
        "media_video": "hình ảnh",
        "band_major": "nặng",
        "band_critical": "nghiêm trọng",
    },
    "en": {
        "critical": "[CRITICAL]",
        "warning": "[WARNING]",
        "info": "[INFO]",
        "reminder": "[REMINDER]",
        "resolved": "[RESOLVED]",
        "site": "Site",
        "action": "What to do",
        "since": "Detected at",
        "still": "Still not fixed after {duration}.",
        "lasted": "Lasted {duration}.",
        "affected": "{count} sites affected: {names}",
        "affected_back": "{count} sites behind it can be reached again; any still failing will be reported on its own.",
        "ack": "Acknowledge (stops reminders): {command}",
        "board": "On the board: {url}",
        "unknown": "unknown",
        "left": "{left} left",
        "reasons": "Problems:",
        "summary_title": "Meeting {meeting} at {start}: {ready}/{total} sites ready",
        "summary_all": "Every site is ready.",
        "summary_not_ready": "Not ready: {names}",
        "summary_degraded": "Degraded: {names}",
        "state_NOT_READY": "is not ready for the meeting",
        "state_DEGRADED": "is degraded for the meeting",
        "state_unknown": "has problems before the meeting",
        "missing_camera": "no camera connected",
        "missing_microphone": "no microphone connected",
        "missing_camera_microphone": "no camera and no microphone connected",
        "missing_any": "a camera or microphone is missing",
        "alert_pending": "pending",
        "alert_firing": "firing",
        "alert_resolved": "resolved",
        "level_critical": "critical",
        "level_warning": "warning",
        "level_info": "info",
        "in": "in",
        "out": "out",
        "affected_short": "{count} sites affected",
        "zone": "local time",
        "media_audio": "audio",
        "media_video": "video",
        "band_major": "major",
        "band_critical": "critical",
    },
}

# The admins' notice when giaoban cannot use its own database (alerts/database_notice.py): it is sent around
# the outbox, so it exists even when no alert can be stored. {area} is one of the area names below.
DATABASE_TEXTS: dict[Locale, dict[str, str]] = {
    "vi": {
        "title": "giaoban không ghi được vào cơ sở dữ liệu",
        "resolved": "giaoban đã ghi được vào cơ sở dữ liệu trở lại",
        "fault": "{area}: lỗi từ {since}: {error}",
        "host": "Máy chủ: {host}",
        "effect": (
            "giaoban vẫn tiếp tục đo, nhưng cảnh báo mới không gửi được qua hàng đợi thông báo và lịch sử đo "
            "chỉ được giữ tạm trong bộ nhớ."
        ),
        "action": (
            "Kiểm tra dung lượng đĩa chứa cơ sở dữ liệu (df -h) hoặc máy chủ PostgreSQL, rồi xem nhật ký của "
            "giaoban (journalctl -u giaoban)."
        ),
        "back": (
            "Các cảnh báo bị chậm sẽ được gửi ngay; lịch sử đo còn trong bộ nhớ được ghi bù (số kết quả bị bỏ: "
            "giaoban_history_rows_dropped_total)."
        ),
        "history": "Ghi lịch sử đo",
        "alerts": "Ghi trạng thái cảnh báo",
        "outbox": "Hàng đợi thông báo",
        "database": "Kết nối tới cơ sở dữ liệu",
    },
    "en": {
        "title": "giaoban cannot write to its database",
        "resolved": "giaoban can write to its database again",
        "fault": "{area}: failing since {since}: {error}",
        "host": "Host: {host}",
        "effect": (
            "giaoban keeps probing, but new alerts cannot go through the notification outbox and probe history "
            "is only held in memory."
        ),
        "action": (
            "Check the free space on the database's disk (df -h) or the PostgreSQL server, then read giaoban's "
            "log (journalctl -u giaoban)."
        ),
        "back": (
            "Delayed alerts go out now; the probe history held in memory is written (results dropped: "
            "giaoban_history_rows_dropped_total)."
        ),
        "history": "Writing probe history",
        "alerts": "Writing alert states",
        "outbox": "Notification outbox",
        "database": "Connection to the database",
    },
}
