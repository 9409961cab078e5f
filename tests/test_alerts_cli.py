"""`giaoban alerts ...` and `giaoban maintenance ...` through the real parser, against a tmp SQLite database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alerts.model import AlertRecord
from alerts.store import SqlAlertStore
from monitor.cli import main as cli
from monitor.storage.database import Storage
from tests.notifier_samples import ALERT_T0, link_down_record
from tests.test_meetings_cli import CONFIG  # the same two-site district

pytestmark = pytest.mark.timeout(120)

FIRED = ALERT_T0 + 60  # 2026-12-07 08:01 in Asia/Ho_Chi_Minh (a Monday)
LINK_DOWN = link_down_record(labels={}, started_at=FIRED - 60, fired_at=FIRED)
OLD = AlertRecord(
    id="rtt/hub/link", rule="rtt", site="hub", target="link", severity="warning", state="resolved",
    summary="UBND huyện: trễ cao", started_at=FIRED - 9000, fired_at=FIRED - 8000, resolved_at=FIRED - 7000,
)  # fmt: skip


def giaoban(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The real entry point, as a shell would call it (each command opens and closes the database)."""
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
async def opts(tmp_path: Path) -> list[str]:
    config = tmp_path / "giaoban.yml"
    config.write_text(CONFIG.replace("LOCALE", "vi"), encoding="utf-8")
    database = f"sqlite:///{tmp_path / 'giaoban.db'}"
    storage = await Storage.open(database)
    try:
        await SqlAlertStore(storage).commit([LINK_DOWN, OLD], [])
    finally:
        await storage.close()
    return ["-c", str(config), "--database", database]


def test_alerts_list_and_ack(opts: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Open alerts in district time and Vietnamese; --all adds resolved ones; ack marks who and stops at resolved."""
    code, out, _ = giaoban(capsys, "alerts", "list", *opts)
    assert code == 0
    line = "đang báo      nghiêm trọng Thứ Hai 07/12/2026 08:01  link_down/tan-thinh/link  Xã Tân Thịnh: mất kết nối"
    assert line in out, out
    assert "rtt/hub/link" not in out
    code, out, _ = giaoban(capsys, "alerts", "list", "--all", *opts)
    assert code == 0 and "đã hết" in out and "rtt/hub/link" in out
    code, out, _ = giaoban(capsys, "alerts", "ack", LINK_DOWN.id, "--by", "tuan", *opts)
    assert code == 0 and out.strip() == "Đã xác nhận cảnh báo link_down/tan-thinh/link (tuan)."
    code, out, _ = giaoban(capsys, "alerts", "list", *opts)
    assert "(đã nhận: tuan)" in out
    code, out, _ = giaoban(capsys, "alerts", "ack", OLD.id, *opts)
    assert code == 1 and "đã hết" in out
    code, out, _ = giaoban(capsys, "alerts", "ack", "link_down/khong-co/link", *opts)
    assert code == 1 and "Không có cảnh báo" in out


def test_alerts_list_json(opts: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints what GET /api/v1/alerts answers, for scripts."""
    code, out, _ = giaoban(capsys, "alerts", "list", "--all", "--json", *opts)
    assert code == 0
    found = {a["id"]: a for a in json.loads(out)}
    assert set(found) == {LINK_DOWN.id, OLD.id}
    assert found[LINK_DOWN.id]["fired_at"] == "2026-12-07T01:01:00Z"
    assert found[LINK_DOWN.id]["summary"] == "Xã Tân Thịnh: mất kết nối"


def test_maintenance_add_list_remove(opts: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """A weekly window round trip: read in district time, listed with its next Sunday, removed once."""
    code, out, err = giaoban(
        capsys, "maintenance", "add", *opts, "--title", "Bảo trì tuyến cáp", "--start", "2099-12-07T22:00",
        "--duration", "2h", "--rrule", "FREQ=WEEKLY;BYDAY=SU", "--sites", "tan-thinh", "--rules", "link_down,loss",
        "--by", "tuan",
    )  # fmt: skip
    assert code == 0, err
    assert "Thứ Hai 07/12/2099 22:00" in out
    window_id = out.split("lịch bảo trì ")[1].split(":")[0]
    code, out, _ = giaoban(capsys, "maintenance", "list", *opts)
    assert code == 0
    assert (
        f"{window_id}  Bảo trì tuyến cáp  [lần tới Chủ Nhật 13/12/2099 22:00, 2h; lặp lại: FREQ=WEEKLY;BYDAY=SU]" in out
    )
    assert "điểm cầu: tan-thinh; đích: tất cả; quy tắc: link_down, loss" in out
    assert giaoban(capsys, "maintenance", "remove", *opts, window_id)[0] == 0
    code, out, _ = giaoban(capsys, "maintenance", "remove", *opts, window_id)
    assert code == 1 and "Không có lịch bảo trì" in out
    code, out, _ = giaoban(capsys, "maintenance", "list", *opts)
    assert code == 0 and out.strip() == "Không có lịch bảo trì nào."


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--start", "2099-12-07T22:00", "--duration", "2h", "--sites", "xa-khong-co"], "(sites)"),
        (["--start", "tối nay", "--duration", "2h"], "(start)"),
        (["--start", "2099-12-07T22:00", "--duration", "0s"], "(duration)"),
        (["--start", "2099-12-07T22:00", "--duration", "2h", "--rrule", "FREQ=NEVER"], "(rrule)"),
    ],
    ids=["unknown-site", "bad-start", "zero-duration", "bad-rrule"],
)
def test_maintenance_bad_input_exits_2(
    opts: list[str], capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    """Bad input exits 2 with the field named on stderr, and nothing is stored."""
    code, _, err = giaoban(capsys, "maintenance", "add", *opts, "--title", "x", *argv)
    assert code == 2 and needle in err and err.startswith("Lỗi")
    assert giaoban(capsys, "maintenance", "list", *opts)[1].strip() == "Không có lịch bảo trì nào."


def test_english_locale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """district.locale: en switches the messages."""
    config = tmp_path / "giaoban.yml"
    config.write_text(CONFIG.replace("LOCALE", "en"), encoding="utf-8")
    opts = ["-c", str(config), "--database", f"sqlite:///{tmp_path / 'g.db'}"]
    assert giaoban(capsys, "alerts", "list", *opts)[1].strip() == "No open alert."
    assert giaoban(capsys, "maintenance", "list", *opts)[1].strip() == "No maintenance window."
