"""`giaoban meetings ...` through its own parser and run(), on SQLite and PostgreSQL."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from monitor.cli import meetings as cli_meetings
from tests.postgres_lab import database_url_fixture, postgres_lab_fixture  # noqa: F401  (fixtures)
from tests.test_meetings import WEEKLY_ICS

pytestmark = pytest.mark.timeout(120)

CONFIG = """\
district: {name: "Huyện Định Hoá", timezone: Asia/Ho_Chi_Minh, locale: LOCALE}
sites:
  - {id: hub, name: "UBND huyện", role: district}
  - {id: tan-thinh, name: "Xã Tân Thịnh", parent: hub}
"""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="giaoban")
    cli_meetings.add_parser(top.add_subparsers(dest="command", required=True))
    return top


async def giaoban(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await cli_meetings.run(parser().parse_args(list(argv)))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "giaoban.yml"
    path.write_text(CONFIG.replace("LOCALE", "vi"), encoding="utf-8")
    return path


async def test_add_list_remove(database_url: str, config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI round trip, with times in district time and Vietnamese weekday names."""
    opts = ["-c", str(config_file), "--database", database_url]
    code, out, _ = await giaoban(
        capsys, "meetings", "add", *opts, "--title", "Giao ban thứ Hai", "--start", "2099-12-07T07:30",
        "--duration", "2h", "--sites", "hub,tan-thinh", "--call-rate", "2048kbit", "--rrule", "FREQ=WEEKLY;BYDAY=MO",
    )  # fmt: skip
    assert code == 0
    assert "Thứ Hai 07/12/2099 07:30" in out
    meeting_id = out.split("cuộc họp ")[1].split(":")[0]
    code, out, _ = await giaoban(capsys, "meetings", "list", *opts, "--days", "36500")
    assert code == 0
    assert "Thứ Hai 07/12/2099 07:30–09:30  Giao ban thứ Hai" in out
    assert "điểm cầu: hub, tan-thinh" in out
    assert (await giaoban(capsys, "meetings", "remove", *opts, meeting_id))[0] == 0
    code, out, _ = await giaoban(capsys, "meetings", "remove", *opts, meeting_id)
    assert code == 1 and "Không có cuộc họp" in out
    code, out, _ = await giaoban(capsys, "meetings", "list", *opts)
    assert code == 0 and "Không có cuộc họp nào" in out


async def test_import_twice(
    database_url: str, config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second import of the same file reports every occurrence unchanged; the report says what was read."""
    ics = tmp_path / "lich.ics"
    ics.write_bytes(WEEKLY_ICS)
    opts = ["-c", str(config_file), "--database", database_url, "--from", "2026-12-01", "--to", "2027-01-10"]
    code, out, _ = await giaoban(capsys, "meetings", "import", *opts, str(ics))
    assert code == 0 and "thêm 5, cập nhật 0, không đổi 0" in out
    assert "5 lần họp của 2 sự kiện, từ Thứ Ba 01/12/2026 00:00 đến Chủ Nhật 10/01/2027 00:00" in out
    code, out, _ = await giaoban(capsys, "meetings", "import", *opts, str(ics))
    assert code == 0 and "thêm 0, cập nhật 0, không đổi 5" in out


async def test_import_reports_skipped_events(
    database_url: str, config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An all-day event is skipped and named, in Vietnamese, and the file is imported all the same (issue 15)."""
    holiday = b"BEGIN:VEVENT\r\nUID:tet@x\r\nSUMMARY:T\xe1\xba\xbft\r\nDTSTART;VALUE=DATE:20270101\r\nEND:VEVENT\r\n"
    ics = tmp_path / "lich.ics"
    ics.write_bytes(WEEKLY_ICS.replace(b"END:VCALENDAR", holiday + b"END:VCALENDAR"))
    opts = ["-c", str(config_file), "--database", database_url, "--from", "2026-12-01", "--to", "2027-01-10"]
    code, out, _ = await giaoban(capsys, "meetings", "import", *opts, str(ics))
    assert code == 0 and "thêm 5," in out
    assert "Bỏ qua 1 sự kiện: 1 cả ngày." in out
    assert "- sự kiện 3 (Tết): cả ngày" in out


async def test_list_range_as_json(
    database_url: str, config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`list --from --to --json` gives each occurrence's meeting id, title and UTC start."""
    ics = tmp_path / "lich.ics"
    ics.write_bytes(WEEKLY_ICS)
    opts = ["-c", str(config_file), "--database", database_url]
    await giaoban(capsys, "meetings", "import", *opts, "--from", "2026-12-01", "--to", "2027-01-10", str(ics))
    code, out, _ = await giaoban(
        capsys, "meetings", "list", *opts, "--from", "2026-12-08", "--to", "2026-12-15", "--json"
    )
    assert code == 0
    listed = json.loads(out)
    assert [(o["title"], o["start"]) for o in listed] == [
        ("Họp đột xuất", "2026-12-10T02:00:00Z"), ("Giao ban trực tuyến thứ Hai", "2026-12-14T00:30:00Z")
    ]  # fmt: skip
    assert all(o["meeting_id"] for o in listed)
    code, out, _ = await giaoban(capsys, "meetings", "list", *opts, "--from", "2026-12-08", "--to", "2026-12-15")
    assert code == 0 and out.startswith("Lịch giao ban từ Thứ Ba 08/12/2026 00:00 đến Thứ Ba 15/12/2026 00:00")
    assert "Thứ Năm 10/12/2026 09:00–10:30  Họp đột xuất" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["add", "--title", "x", "--start", "2099-12-07T07:30", "--sites", "xa-khong-co"], "(sites)"),
        (["add", "--title", "x", "--start", "hôm nay"], "(start)"),
        (["import", "/nonexistent/lich.ics"], "cannot read"),
    ],
    ids=["unknown-site", "bad-start", "missing-file"],
)
async def test_bad_input_exits_2(
    database_url: str, config_file: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    """Bad input exits 2 with the field or file named on stderr."""
    code, _, err = await giaoban(
        capsys, "meetings", argv[0], "-c", str(config_file), "--database", database_url, *argv[1:]
    )
    assert code == 2
    assert needle in err


async def test_english_locale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """district.locale: en switches the messages; times stay in district time."""
    path = tmp_path / "giaoban.yml"
    path.write_text(CONFIG.replace("LOCALE", "en"), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'g.db'}"
    code, out, _ = await giaoban(capsys, "meetings", "list", "-c", str(path), "--database", db)
    assert code == 0 and out.startswith("No meeting in the next 14 days")


async def test_bad_database_url_exits_2(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unusable --database is a usage error with the reason, not a traceback: argparse refuses it (issue 13)."""
    with pytest.raises(SystemExit) as exited:
        await giaoban(capsys, "meetings", "list", "-c", str(config_file), "--database", "mysql://x@y/z")
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "argument --database: mysql:// is not supported" in err
