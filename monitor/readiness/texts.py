"""What a readiness reason says, in Vietnamese and English: the finding and what the technician should do.

Each reason code has a sentence and an action per locale, with named fields filled from the measurement.
Vietnamese numbers use a decimal comma ("5,2%"), as Vietnamese readers write them (monitor.i18n.number). A
``{detail}`` is what a probe said, with its reason code in the field ``fault``: it is shown through
monitor.i18n.fault_text, so a Vietnamese sentence names the fault in Vietnamese and quotes the probe's English
after a label. A test checks that every code has both locales, in NFC, and that the Vietnamese carries its
diacritics; tests/test_vi_texts.py that no English word of ours is left in the Vietnamese.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from monitor.i18n import Locale, fault_text, number

# code → locale → (sentence, action)
TEXTS: dict[str, dict[Locale, tuple[str, str]]] = {
    "link_down": {
        "vi": (
            "Mất kết nối đường truyền: {address} không trả lời {sent} gói ping.",
            "Kiểm tra nguồn điện, đèn báo và cáp quang của bộ định tuyến; gọi VNPT nếu đường truyền vẫn mất.",
        ),
        "en": (
            "Link down: {address} answered none of {sent} pings.",
            "Check the router's power, lights and fibre; call VNPT if the link stays down.",
        ),
    },
    "link_unchecked": {
        "vi": (
            "Không đo được đường truyền tới {address}: {detail}.",
            "Báo quản trị mạng của huyện: cấp quyền gửi gói ICMP cho giaoban "
            "(xem hướng dẫn về quyền ICMP trong README).",
        ),
        "en": (
            "Could not measure the link to {address}: {detail}.",
            "Tell the district's network administrator: give giaoban ICMP permission (README, ICMP permissions).",
        ),
    },
    "link_loss_high": {
        "vi": (
            "Mất gói {loss}% (giới hạn {limit}%): hình và tiếng sẽ bị giật, xã có thể rớt khỏi cuộc họp.",
            "Kiểm tra cáp và cổng mạng; nếu mất gói trên đường truyền, báo VNPT ngay.",
        ),
        "en": (
            "Packet loss {loss}% (limit {limit}%): picture and sound will break up; the site may drop out.",
            "Check cables and ports; if the loss is on the line, report it to VNPT now.",
        ),
    },
    "link_loss_elevated": {
        "vi": (
            "Mất gói {loss}% (trên mức tốt {limit}%).",
            "Theo dõi đường truyền; tránh tải lớn trên mạng của xã trong giờ họp.",
        ),
        "en": (
            "Packet loss {loss}% (above the good level of {limit}%).",
            "Watch the link; avoid heavy traffic on the site's network during the meeting.",
        ),
    },
    "link_rtt_high": {
        "vi": (
            "Độ trễ {rtt} ms (giới hạn {limit} ms): hội thoại sẽ bị chậm.",
            "Kiểm tra xem có máy nào đang tải lớn trên mạng của xã; báo VNPT nếu độ trễ vẫn cao.",
        ),
        "en": (
            "Round-trip time {rtt} ms (limit {limit} ms): conversation will lag.",
            "Look for heavy transfers on the site's network; report to VNPT if the delay stays high.",
        ),
    },
    "link_rtt_elevated": {
        "vi": ("Độ trễ {rtt} ms (trên mức tốt {limit} ms).", "Theo dõi độ trễ trước giờ họp."),
        "en": ("Round-trip time {rtt} ms (above the good level of {limit} ms).", "Watch the delay before the meeting."),
    },
    "link_jitter_high": {
        "vi": (
            "Độ dao động trễ (jitter) {jitter} ms (giới hạn {limit} ms): tiếng sẽ bị vỡ.",
            "Tắt các tải nặng (cập nhật phần mềm, xem video, sao lưu) trên mạng của xã trong giờ họp.",
        ),
        "en": (
            "Jitter {jitter} ms (limit {limit} ms): audio will break up.",
            "Stop heavy traffic (updates, video streaming, backups) on the site's network during the meeting.",
        ),
    },
    "link_jitter_elevated": {
        "vi": ("Độ dao động trễ (jitter) {jitter} ms (trên mức tốt {limit} ms).", "Theo dõi đường truyền."),
        "en": ("Jitter {jitter} ms (above the good level of {limit} ms).", "Watch the link."),
    },
    "link_mos_low": {
        "vi": (
            "Chất lượng thoại ước tính MOS {mos} (giới hạn {limit}): khó nghe rõ.",
            "Xử lý mất gói và độ trễ trên đường truyền trước giờ họp.",
        ),
        "en": (
            "Estimated voice quality MOS {mos} (limit {limit}): hard to understand.",
            "Fix the loss and delay on the link before the meeting.",
        ),
    },
    "link_mos_fair": {
        "vi": ("Chất lượng thoại ước tính MOS {mos} (dưới mức tốt {limit}).", "Theo dõi chất lượng đường truyền."),
        "en": ("Estimated voice quality MOS {mos} (below the good level of {limit}).", "Watch the link's quality."),
    },
    "bandwidth_insufficient": {
        "vi": (
            "Băng thông còn trống {free} Mbit/s, cần {need} Mbit/s "
            "({rate} Mbit/s cho cuộc họp và {headroom}% dự phòng).",
            "Tạm dừng tải lớn (sao lưu, cập nhật, camera giám sát) trên cổng {interface} trước giờ họp.",
        ),
        "en": (
            "{free} Mbit/s of bandwidth free, {need} Mbit/s needed "
            "({rate} Mbit/s for the call plus {headroom}% headroom).",
            "Pause heavy transfers (backups, updates, CCTV) on {interface} before the meeting.",
        ),
    },
    "bandwidth_unmeasured": {
        "vi": (
            "Chưa đo được lưu lượng trên cổng {interface}: không kiểm tra được băng thông còn trống.",
            "Chờ lần kiểm tra sau; nếu vẫn vậy, kiểm tra SNMP của bộ định tuyến.",
        ),
        "en": (
            "No traffic rate for {interface} yet: free bandwidth could not be checked.",
            "Wait for the next check; if it persists, check the router's SNMP.",
        ),
    },
    "interface_down": {
        "vi": (
            "Cổng {interface} của bộ định tuyến {device} đang ngắt.",
            "Kiểm tra dây mạng và đèn báo của cổng; bật lại cổng nếu bị tắt.",
        ),
        "en": ("Interface {interface} of router {device} is down.", "Check the cable and lights; enable the port."),
    },
    "interface_errors_rising": {
        "vi": (
            "Lỗi trên cổng {interface} đang tăng ({errors} lỗi mới).",
            "Kiểm tra hoặc thay dây nhảy, module quang của cổng.",
        ),
        "en": (
            "Errors on {interface} are rising ({errors} new errors).",
            "Check or replace the patch cable or optical module of the port.",
        ),
    },
    "interface_unknown": {
        "vi": (
            "Không tìm thấy cổng {interface} trên {device}: không đo được băng thông.",
            "Sửa tên cổng (interface) trong cấu hình giaoban.",
        ),
        "en": (
            "Interface {interface} not found on {device}: bandwidth cannot be measured.",
            "Correct the interface name in giaoban's configuration.",
        ),
    },
    "router_unreachable": {
        "vi": (
            "Không đọc được SNMP của bộ định tuyến {device}: {detail}.",
            "Kiểm tra cấu hình SNMP (community hoặc người dùng v3) và tường lửa của bộ định tuyến.",
        ),
        "en": (
            "Router {device} does not answer SNMP: {detail}.",
            "Check the router's SNMP settings (community or v3 user) and firewall.",
        ),
    },
    "router_rebooted": {
        "vi": (
            "Bộ định tuyến {device} vừa khởi động lại {minutes} phút trước.",
            "Kiểm tra nguồn điện, UPS và nguyên nhân khởi động lại.",
        ),
        "en": ("Router {device} restarted {minutes} minutes ago.", "Check the power, the UPS and why it restarted."),
    },
    "ups_on_battery_short": {
        "vi": (
            "Mất điện lưới: UPS đang chạy pin, chỉ còn {runtime} phút, ít hơn thời lượng cuộc họp ({duration} phút).",
            "Khôi phục điện lưới hoặc chuẩn bị máy phát điện trước giờ họp.",
        ),
        "en": (
            "Mains power lost: the UPS is on battery with {runtime} minutes left, "
            "less than the meeting ({duration} min).",
            "Restore mains power or bring a generator before the meeting.",
        ),
    },
    "ups_on_battery": {
        "vi": ("UPS đang chạy pin (còn khoảng {runtime} phút).", "Kiểm tra điện lưới."),
        "en": ("The UPS is on battery (about {runtime} minutes left).", "Check the mains power."),
    },
    "endpoint_down": {
        "vi": (
            "Thiết bị hội nghị {endpoint} không trả lời: {detail}.",
            "Kiểm tra nguồn và dây mạng của thiết bị hội nghị (codec), rồi khởi động lại thiết bị.",
        ),
        "en": (
            "Video endpoint {endpoint} does not answer: {detail}.",
            "Check the codec's power and network cable, then restart it.",
        ),
    },
    "endpoint_not_registered": {
        "vi": (
            "Thiết bị {endpoint} chưa đăng ký với tổng đài hội nghị (MCU).",
            "Kiểm tra tài khoản SIP/H.323 và địa chỉ máy chủ trên thiết bị; khởi động lại thiết bị.",
        ),
        "en": (
            "Endpoint {endpoint} is not registered with the conference server (MCU).",
            "Check the SIP/H.323 account and server address on the device; restart it.",
        ),
    },
    "endpoint_in_call": {
        "vi": (
            "Thiết bị {endpoint} đang bận trong một cuộc gọi khác.",
            "Kết thúc cuộc gọi đang diễn ra trước giờ họp.",
        ),
        "en": ("Endpoint {endpoint} is busy in another call.", "End the current call before the meeting."),
    },
    "endpoint_not_ready": {
        "vi": (
            "Thiết bị {endpoint} trả lời nhưng chưa sẵn sàng nhận cuộc gọi: {detail}.",
            "Xem trạng thái trên màn hình điều khiển của thiết bị; khởi động lại nếu cần.",
        ),
        "en": (
            "Endpoint {endpoint} answers but would not take a call: {detail}.",
            "Look at the device's control screen; restart it if needed.",
        ),
    },
    "endpoint_network_fault": {
        "vi": (
            "Thiết bị {endpoint} tự báo sự cố mạng: {detail}.",
            "Kiểm tra dây mạng, cổng switch (tốc độ, song công) và địa chỉ IP của thiết bị.",
        ),
        "en": (
            "Endpoint {endpoint} reports a network fault: {detail}.",
            "Check the network cable, the switch port (speed, duplex) and the device's IP address.",
        ),
    },
    "endpoint_overheating": {
        "vi": (
            "Thiết bị {endpoint} tự báo quá nhiệt: {detail}.",
            "Kiểm tra quạt và chỗ thoát gió của thiết bị; tắt cho nguội rồi bật lại trước giờ họp nếu cần.",
        ),
        "en": (
            "Endpoint {endpoint} reports overheating: {detail}.",
            "Check the device's fans and vents; let it cool down and restart it before the meeting if needed.",
        ),
    },
    "camera_missing": {
        "vi": ("Thiết bị {endpoint} không nhận camera.", "Kiểm tra cáp camera (HDMI/USB) và nguồn của camera."),
        "en": ("Endpoint {endpoint} has no camera connected.", "Check the camera's cable (HDMI/USB) and power."),
    },
    "microphone_missing": {
        "vi": ("Thiết bị {endpoint} không nhận micro.", "Kiểm tra dây micro và bàn trộn âm thanh (mixer)."),
        "en": ("Endpoint {endpoint} has no microphone connected.", "Check the microphone cable and the mixer."),
    },
    "microphone_muted": {
        "vi": ("Micro của thiết bị {endpoint} đang tắt tiếng.", "Bật lại micro trước giờ họp nếu không cố ý tắt."),
        "en": ("The microphones of {endpoint} are muted.", "Unmute before the meeting unless it is intended."),
    },
    "check_failed": {
        "vi": ("Không kiểm tra xong {what} trong {limit} giây.", "Báo quản trị mạng của huyện."),
        "en": ("Could not finish checking {what} within {limit} s.", "Tell the district's network administrator."),
    },
    # A joined (national) answer: no agent's report names the site for this occurrence (issue 17).
    "no_report": {
        "vi": (
            "Chưa có máy giám sát nào báo cáo tình trạng của {what} cho buổi họp này.",
            "Kiểm tra máy giám sát phụ trách tỉnh này (giaoban run --scope) đang chạy và kết nối được "
            "cơ sở dữ liệu trung tâm.",
        ),
        "en": (
            "No monitoring agent has reported on {what} for this meeting.",
            "Check that the agent in charge of this province (giaoban run --scope) runs and reaches the "
            "central database.",
        ),
    },
}


class _Shown(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "?"  # a reason stored by an older version may lack a field a sentence now names


def render(code: str, locale: Locale, fields: Mapping[str, object]) -> tuple[str, str]:
    """The (sentence, action) of ``code`` in ``locale``; numbers in ``fields`` are formatted for the locale."""
    sentence, action = TEXTS[code][locale]
    shown = _Shown({key: number(value, locale) if isinstance(value, float) else value for key, value in fields.items()})
    if "detail" in fields or "fault" in fields:
        shown["detail"] = fault_text(fields.get("fault"), fields.get("detail"), locale)
    return (
        unicodedata.normalize("NFC", sentence.format_map(shown)),
        unicodedata.normalize("NFC", action.format_map(shown)),
    )
