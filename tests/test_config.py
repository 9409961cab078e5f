"""The inventory loader: positioned problems, cross-references, secrets, check-config and the examples.

Each bad-config case is one file in tests/config_cases/ whose header holds why it matters
(`# why: ...`), the exact problems expected (`# expect: {file}:LINE:COL: path: message`, in order) and
optionally `# resolve-secrets`.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
import subprocess
import sys
import typing
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import TypeAdapter

from monitor.cli.check_config import check_config
from monitor.config import loader
from monitor.config.loader import ConfigError, Problem, load_config, load_config_text
from monitor.config.models import Config, Endpoint
from probes import KINDS
from probes.core.secrets import Secret

ROOT = Path(__file__).resolve().parent.parent
CASES = sorted((Path(__file__).parent / "config_cases").glob("*.yml"))
EXAMPLES = ROOT / "examples"
DOC_NETS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]

# The 23 commune-level units of Định Hoá as of 2022-2023, exact names, with their coordinates.
COMMUNES = {
    "Thị trấn Chợ Chu": (21.9114, 105.6453),
    "Xã Linh Thông": (22.03, 105.62),
    "Xã Lam Vỹ": (22.00, 105.68),
    "Xã Quy Kỳ": (21.98, 105.63),
    "Xã Tân Thịnh": (21.96, 105.71),
    "Xã Kim Phượng": (21.94, 105.65),
    "Xã Bảo Linh": (21.93, 105.58),
    "Xã Phúc Chu": (21.92, 105.62),
    "Xã Tân Dương": (21.92, 105.68),
    "Xã Phượng Tiến": (21.89, 105.68),
    "Xã Bảo Cường": (21.89, 105.64),
    "Xã Đồng Thịnh": (21.8763, 105.5967),
    "Xã Định Biên": (21.8774, 105.5778),
    "Xã Thanh Định": (21.8644, 105.5436),
    "Xã Trung Hội": (21.86, 105.64),
    "Xã Trung Lương": (21.85, 105.61),
    "Xã Bình Yên": (21.85, 105.58),
    "Xã Điềm Mặc": (21.83, 105.55),
    "Xã Phú Tiến": (21.83, 105.66),
    "Xã Bộc Nhiêu": (21.79, 105.65),
    "Xã Sơn Phú": (21.80, 105.58),
    "Xã Phú Đình": (21.8011, 105.5250),
    "Xã Bình Thành": (21.78, 105.61),
}

MINIMAL = 'district: {name: "Test district"}\nsites:\n  - {id: hub, name: Hub}\n'


def _header(path: Path, key: str) -> list[str]:
    prefix = f"# {key}:"
    return [line[len(prefix) :].strip() for line in path.read_text("utf-8").splitlines() if line.startswith(prefix)]


def _expand(line: str, case: Path) -> str:
    """{file} is the case's path; {keys:top}, {keys:endpoint.KIND}, {keys:defaults.KIND} the keys that model allows.

    The key lists follow the probe settings, which grow with their kinds; the cases test the message's
    shape and position, test_registry.py that the lists come from the registry.
    """

    def keys(match: re.Match[str]) -> str:
        where, kind = match.group(1), match.group(2)
        if where == "top":
            return ", ".join(Config.model_fields)
        if where == "defaults":
            return ", ".join(KINDS[kind].settings.model_fields)
        minimal = {"id": "e", "kind": kind, "address": "http://127.0.0.1/"}
        if not KINDS[kind].target_is_url:
            minimal.update(address="127.0.0.1", port=1)
        return ", ".join(type(TypeAdapter(Endpoint).validate_python(minimal)).model_fields)

    pattern = r"\{keys:(top|endpoint|defaults)\.?([a-z0-9-]*)\}"
    return re.sub(pattern, keys, line.replace("{file}", str(case)))


def _problems(path: Path, **kw: bool) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, **kw)
    return [str(problem) for problem in caught.value.problems]


def _addresses(config: Config) -> list[str]:
    """Every host the config would send traffic to."""
    hosts = []
    for site in config.sites:
        if site.link is not None:
            hosts.append(site.link.address)
        hosts.extend(device.address for device in site.devices)
        for endpoint in site.endpoints:
            address = endpoint.address
            hosts.append(urlsplit(address).hostname or "" if "://" in address else address)
    return hosts


@pytest.fixture(autouse=True)
def _no_test_secrets_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cases rely on these variables being unset, whatever the developer's shell exports."""
    for name in ("GIAOBAN_TEST_UNSET", "HUB_AUTH", "TSLCD_COMMUNITY", "GIAOBAN_TOKEN"):
        monkeypatch.delenv(name, raising=False)


# --- one file per bad config --------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case.stem for case in CASES])
def test_bad_config_case(case: Path) -> None:
    """Each case file yields exactly its expected problems, positioned, in file order (why: its header)."""
    why = _header(case, "why")
    expected = [_expand(line, case) for line in _header(case, "expect")]
    assert why and expected, f"{case.name} needs '# why:' and '# expect:' lines"
    resolve = "# resolve-secrets" in case.read_text("utf-8")
    assert _problems(case, resolve_secrets=resolve) == expected, why[0]


def test_cases_cover_the_brief() -> None:
    """The error cases the brief lists all have a file; deleting one must fail loudly."""
    required = {
        "yaml_syntax", "duplicate_key", "top_not_mapping", "unknown_key_top", "unknown_key_nested",
        "unknown_key_endpoint", "wrong_type", "bad_duration", "bad_bandwidth", "bad_percentage", "bad_dscp",
        "unknown_timezone", "bad_locale", "bad_id", "bad_address", "unknown_endpoint_kind", "http_not_url",
        "tcp_without_port", "missing_required_key", "duplicate_site_id", "duplicate_endpoint_id",
        "unknown_parent", "parent_cycle", "unknown_technician", "link_device_other_site",
        "interface_without_device", "snmp_v2c_without_community", "snmpv3_without_user", "inline_secret",
        "unresolvable_secret", "several_errors", "missing_organisation", "district_and_organisation",
        "bad_unit_code", "duplicate_unit_code", "bad_organisation_code", "placeholder_address", "alias_bomb",
        "database_unsupported", "database_bad_port", "database_no_name", "database_password_twice",
    }  # fmt: skip
    assert required <= {case.stem for case in CASES}


def test_inline_secret_value_is_never_echoed() -> None:
    """A secret written inline is already leaked to the file; the error must not spread it further."""
    case = next(case for case in CASES if case.stem == "inline_secret")
    text = "\n".join(_problems(case))
    assert "s3cr3t" not in text


# --- the loader's own behaviour -------------------------------------------------------------------


def test_problem_str_format() -> None:
    """Editors and CI annotate FILE:LINE:COL: lines; the format is the contract."""
    problem = Problem("giaoban.yml", 7, 5, "sites[0].link.bandwidth", "bad")
    assert str(problem) == "giaoban.yml:7:5: sites[0].link.bandwidth: bad"


def test_unreadable_file(tmp_path: Path) -> None:
    """A missing file is a positioned problem too, not a traceback."""
    missing = tmp_path / "nope.yml"
    assert _problems(missing) == [f"{missing}:1:1: <file>: cannot read the file: No such file or directory"]


def test_not_utf8(tmp_path: Path) -> None:
    """A file saved in a legacy Vietnamese code page is pointed at, with the fix."""
    path = tmp_path / "cp1258.yml"
    path.write_bytes(b'district: {name: "Huy\xe7n"}\n')
    assert _problems(path) == [f"{path}:1:22: <file>: the file is not UTF-8 text (byte 0xe7); save it as UTF-8"]


def test_control_character(tmp_path: Path) -> None:
    """PyYAML's reader error carries no mark; the position is computed from its index."""
    path = tmp_path / "ctrl.yml"
    path.write_text('district: {name: "x\x01"}\n', "utf-8")
    expected = f"{path}:1:20: <yaml>: unacceptable character #x0001: special characters are not allowed"
    assert _problems(path) == [expected]


def test_load_config_text_names_the_file() -> None:
    """Text from elsewhere (an API upload, a test) is reported under the name given."""
    with pytest.raises(ConfigError) as caught:
        load_config_text("district: {name: x}\nsites: []\n", "upload.yml")
    assert [str(p) for p in caught.value.problems] == ["upload.yml:2:8: sites: list at least one site"]
    assert load_config_text(MINIMAL, "ok.yml").sites[0].id == "hub"


def test_merge_override_is_not_a_duplicate() -> None:
    """`<<: *anchor` then an explicit key is YAML's way to override, not a repeated key."""
    text = MINIMAL.replace(
        "  - {id: hub, name: Hub}",
        "  - id: hub\n    name: Hub\n    devices:\n"
        "      - {id: r1, address: 192.0.2.1, snmp: &v2c {community: {env: C}, port: 161}}\n"
        "      - {id: r2, address: 192.0.2.2, snmp: {<<: *v2c, port: 1161}}\n",
    )
    config = load_config_text(text, "merge.yml")
    assert [d.snmp.port for d in config.sites[0].devices if d.snmp] == [161, 1161]


# --- bounds (issue 13) -----------------------------------------------------------------------------


def test_alias_bomb_is_refused_before_anything_walks_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 1 KB billion-laughs case stops at composing: the constructor and the position index never see it."""
    calls = {"compose": 0, "construct": 0, "index": 0}

    def counting(name: str, original: typing.Callable[..., typing.Any]) -> typing.Callable[..., typing.Any]:
        def wrapper(*args: typing.Any, **kwargs: typing.Any) -> typing.Any:
            calls[name] += 1
            return original(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(loader._Checks, "compose_node", counting("compose", loader._Checks.compose_node))
    monkeypatch.setattr(
        yaml.constructor.BaseConstructor,
        "construct_object",
        counting("construct", yaml.constructor.BaseConstructor.construct_object),
    )
    monkeypatch.setattr(loader._Index, "visit", counting("index", loader._Index.visit))
    case = next(case for case in CASES if case.stem == "alias_bomb")
    assert case.stat().st_size < 1024
    problems = _problems(case)
    assert len(problems) == 1 and "past 100,000 nodes" in problems[0]
    assert 0 < calls["compose"] < 150  # the file's own nodes, each composed once; 9**9 as a tree
    assert calls["construct"] == 0 and calls["index"] == 0


@pytest.mark.parametrize(("uses", "refused"), [(6, False), (7, True)], ids=["at-the-bound", "one-past"])
def test_alias_bound_counts_the_nodes_each_alias_brings(
    monkeypatch: pytest.MonkeyPatch, uses: int, refused: bool
) -> None:
    """Each alias adds its target's size as a tree (here 5 nodes): 6 uses make 30, the bound; the 7th is refused."""
    monkeypatch.setattr(loader, "MAX_ALIAS_NODES", 30)
    sites = "  - {id: hub, name: Hub, technicians: [" + ", ".join(["*t"] * uses) + "]}"
    text = f'district: {{name: "Test district"}}\nanchors: &t [a, b, c, d]\nsites:\n{sites}\n'
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "aliases.yml")
    bound = [str(problem) for problem in caught.value.problems if "past 30 nodes" in problem.message]
    seventh = sites.index("*t") + 1 + 4 * 6  # each further alias is 4 characters on: ", *t"
    message = (
        "alias *t takes what aliases bring in past 30 nodes; "
        "write the repeated values out, or reuse anchors fewer times and less deeply"
    )
    assert bound == ([f"aliases.yml:4:{seventh}: <yaml>: {message}"] if refused else [])


def test_merge_keys_reused_across_sites_stay_well_inside_the_bound() -> None:
    """`<<: *defaults` once per site, as inventories do, costs the anchor's size per use: 500 sites load."""
    snmp = "&v2c {community: {env: C}, port: 161}"
    lines = ['district: {name: "Test district"}', "sites:"]
    for i in range(501):
        address = f"192.0.2.{i % 250 + 1}"
        lines.append(f"  - {{id: s{i}, name: S, devices: [{{id: r{i}, address: {address}, snmp: {snmp}}}]}}")
        snmp = f"{{<<: *v2c, port: {1000 + i}}}"
    config = load_config_text("\n".join(lines) + "\n", "merges.yml")
    ports = [site.devices[0].snmp.port for site in config.sites if site.devices[0].snmp]
    assert ports == [161, *range(1000, 1500)]


def test_file_over_the_size_bound_is_refused_unparsed(tmp_path: Path) -> None:
    """A file over 4 MiB is refused before the YAML parser, which would take minutes on it, sees a byte."""
    path = tmp_path / "huge.yml"
    path.write_bytes(b"#" * (loader.MAX_FILE_BYTES + 1))
    expected = (
        f"{path}:1:1: <file>: the file is larger than 4 MiB, more than any inventory needs; is it the right file?"
    )
    assert _problems(path) == [expected]


def test_size_bound_is_inclusive_for_files_and_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Exactly the bound loads; one byte more is refused, from a file and from text (counted in UTF-8 bytes)."""
    monkeypatch.setattr(loader, "MAX_FILE_BYTES", len(MINIMAL.encode()))
    path = tmp_path / "giaoban.yml"
    path.write_text(MINIMAL, "utf-8")
    assert load_config(path).sites[0].id == "hub"
    assert load_config_text(MINIMAL, "ok.yml").sites[0].id == "hub"
    path.write_text(MINIMAL + " ", "utf-8")
    assert _problems(path)[0].startswith(f"{path}:1:1: <file>: the file is larger than")
    with pytest.raises(ConfigError, match="larger than"):
        load_config_text(MINIMAL.replace("Hub", "Hứb"), "text.yml")  # same characters, one byte more


def test_config_error_message_lists_every_problem() -> None:
    """The service logs str(ConfigError): it must carry all problems, one per line."""
    with pytest.raises(ConfigError) as caught:
        load_config_text("district: {name: x, locale: fr, timezone: X/Y}\nsites: [{id: hub, name: H}]\n", "c.yml")
    assert str(caught.value).splitlines() == [str(p) for p in caught.value.problems]
    assert len(caught.value.problems) == 2


# --- secrets --------------------------------------------------------------------------------------

SECRET_CONFIG = """\
district: {name: "Test district"}
sites:
  - id: hub
    name: Hub
    devices:
      - id: hub-core
        address: 192.0.2.1
        snmp: {version: 3, user: mon, auth: SHA, auth_key: {env: HUB_AUTH}, priv: AES, priv_key: {file: keys/hub.priv}}
    endpoints:
      - {id: web, kind: http, address: "https://192.0.2.10/", bearer_token: {env: WEB_TOKEN}}
api: {token: {file: keys/api.token}}
"""


@pytest.fixture
def secret_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config whose secrets are all resolvable, from a directory other than the working one."""
    conf_dir = tmp_path / "etc"
    (conf_dir / "keys").mkdir(parents=True)
    (conf_dir / "keys" / "hub.priv").write_text("s3cr3t-priv\n", "utf-8")
    (conf_dir / "keys" / "api.token").write_text("s3cr3t-api", "utf-8")
    path = conf_dir / "giaoban.yml"
    path.write_text(SECRET_CONFIG, "utf-8")
    monkeypatch.setenv("HUB_AUTH", "s3cr3t-value")
    monkeypatch.setenv("WEB_TOKEN", "s3cr3t-web")
    monkeypatch.chdir(tmp_path)
    return path


def test_relative_secret_files_resolve_against_the_config_dir(secret_config: Path) -> None:
    """`{file: keys/x}` must not depend on where the service was started from."""
    config = load_config(secret_config, resolve_secrets=True)
    token = config.api.token
    assert token is not None
    assert token.file == str(secret_config.parent / "keys" / "api.token")
    assert token.reveal() == "s3cr3t-api"
    snmp = config.sites[0].devices[0].snmp
    assert snmp is not None and snmp.priv_key is not None and snmp.priv_key.reveal() == "s3cr3t-priv"


def test_relative_secret_file_missing_names_the_resolved_path(secret_config: Path) -> None:
    """The message says where the loader looked, so the admin can put the file there."""
    (secret_config.parent / "keys" / "api.token").unlink()
    expected = (
        f"{secret_config}:11:14: api.token: cannot read secret file "
        f"{secret_config.parent / 'keys' / 'api.token'}: No such file or directory"
    )
    assert _problems(secret_config, resolve_secrets=True) == [expected]


def test_empty_secret_is_a_problem(secret_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An exported but empty variable is a mistake that would fail later as a bad password."""
    monkeypatch.setenv("HUB_AUTH", "")
    assert _problems(secret_config, resolve_secrets=True) == [
        f"{secret_config}:8:60: sites[0].devices[0].snmp.auth_key: environment variable HUB_AUTH is empty"
    ]


def test_secrets_not_read_without_resolve(secret_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """check-config on a workstation validates the structure without the production secrets."""
    monkeypatch.delenv("HUB_AUTH")
    (secret_config.parent / "keys" / "api.token").unlink()
    assert load_config(secret_config).sites[0].id == "hub"


def test_repr_of_loaded_config_has_no_secret_value(secret_config: Path) -> None:
    """Logging a config object (or a part of it) must not leak a secret."""
    config = load_config(secret_config, resolve_secrets=True)
    text = repr(config) + str(config) + config.model_dump_json() + repr(config.sites[0].endpoints)
    assert "s3cr3t" not in text
    assert "Secret(env HUB_AUTH)" in text


def test_check_config_never_prints_secret_values(secret_config: Path) -> None:
    """Both streams of check-config, success and failure, are free of every secret value."""
    out, err = io.StringIO(), io.StringIO()
    assert check_config(str(secret_config), out=out, err=err, resolve_secrets=True) == 0
    broken = secret_config.with_name("broken.yml")
    broken.write_text(SECRET_CONFIG.replace("name: Hub", "name: Hub\n    parent: nowhere"), "utf-8")
    assert check_config(str(broken), out=out, err=err, resolve_secrets=True) == 2
    assert "s3cr3t" not in out.getvalue() + err.getvalue()
    assert "env HUB_AUTH" in out.getvalue() and "unknown parent site 'nowhere'" in err.getvalue()


# --- the database setting (issue 13) ----------------------------------------------------------------

DATABASE_MAPPING = 'database: {url: "postgresql://giaoban@db.example:5432/giaoban", password: {file: keys/pg.pass}}\n'


def test_database_as_a_plain_url_still_loads() -> None:
    """The string form every existing inventory uses keeps working, with no password secret."""
    config = load_config_text(MINIMAL + "database: sqlite:///var/lib/giaoban/giaoban.db\n", "c.yml")
    assert config.database is not None
    assert (config.database.url, config.database.password) == ("sqlite:///var/lib/giaoban/giaoban.db", None)


def test_database_password_is_a_secret_like_the_others(tmp_path: Path) -> None:
    """`{file: ...}` is taken against the config's directory, read only with --secrets, named by source, never shown."""
    (tmp_path / "keys").mkdir()
    path = tmp_path / "giaoban.yml"
    path.write_text(MINIMAL + DATABASE_MAPPING, "utf-8")
    config = load_config(path)
    assert config.database is not None and config.database.password == Secret(file=str(tmp_path / "keys/pg.pass"))
    out, err = io.StringIO(), io.StringIO()
    assert check_config(str(path), out=out, err=err) == 0
    assert out.getvalue().splitlines()[1] == f"secrets (not read): file {tmp_path / 'keys/pg.pass'}"
    assert check_config(str(path), out=out, err=err, resolve_secrets=True) == 2
    assert f"{path}:4:75: database.password: cannot read secret file" in err.getvalue()
    (tmp_path / "keys" / "pg.pass").write_text("s3cr3t-pg\n", "utf-8")
    out = io.StringIO()
    assert check_config(str(path), out=out, err=err, resolve_secrets=True) == 0
    config = load_config(path, resolve_secrets=True)
    assert "s3cr3t" not in out.getvalue() + repr(config) + config.model_dump_json()
    assert config.database is not None and config.database.password is not None
    assert config.database.password.reveal() == "s3cr3t-pg"


def test_database_problems_never_echo_the_url() -> None:
    """A refused URL may hold a password: no message repeats it."""
    case = next(case for case in CASES if case.stem == "database_password_twice")
    assert "hunter2" in case.read_text("utf-8")
    assert "hunter2" not in "\n".join(_problems(case))


# --- check-config ---------------------------------------------------------------------------------


def test_check_config_ok_summary(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The summary an admin reads after editing: counts by role, links, devices, endpoints, people."""
    monkeypatch.chdir(ROOT)
    assert check_config("examples/dinh-hoa.yml") == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines() == [
        "examples/dinh-hoa.yml: OK — Huyện Định Hoá, 24 sites (1 district, 23 communes), 24 links, "
        "24 devices, 25 endpoints, 4 technicians",
        "secrets (not read): env GIAOBAN_TOKEN, env HOOK_SECRET, env HUB_AUTH, env SMTP_PASS, env TG_TOKEN, "
        "env TSLCD_COMMUNITY, file /etc/giaoban/hub.priv",
    ]


def test_check_config_problems_exit_2(tmp_path: Path) -> None:
    """Exit 2 with every problem on stderr, one per line, then the count; nothing on stdout."""
    path = tmp_path / "bad.yml"
    path.write_text("district: {name: x, locale: fr}\nsites: [{id: hub, name: H, parent: hubb}]\n", "utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert check_config(str(path), out=out, err=err) == 2
    assert out.getvalue() == ""
    assert err.getvalue().splitlines() == [
        f"{path}:1:29: district.locale: must be one of: vi, en",
        f"{path}:2:36: sites[0].parent: unknown parent site 'hubb' (did you mean 'hub'?); known: hub",
        f"{path}: 2 problems; nothing was loaded",
    ]


# --- the examples ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["thai-nguyen.yml", "dinh-hoa.yml", "loopback.yml"])
def test_example_validates(name: str) -> None:
    """The shipped examples are the reference users copy: they must load cleanly."""
    assert load_config(EXAMPLES / name).sites


def test_loopback_example_runs_without_secrets() -> None:
    """The runnable demo needs no environment at all, and only ever touches loopback."""
    config = load_config(EXAMPLES / "loopback.yml", resolve_secrets=True)
    assert config.api.token is None
    assert all(ipaddress.ip_address(host).is_loopback for host in _addresses(config))
    assert [site.link.address for site in config.sites if site.link] == ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    targets = {endpoint.target() for site in config.sites for endpoint in site.endpoints}
    assert targets == {"http://127.0.0.1:9876/-/healthy", "127.0.0.1:9876"}


def test_dinh_hoa_example_matches_reference() -> None:
    """The district example holds the hub and the 23 real communes with their exact names and coordinates."""
    config = load_config(EXAMPLES / "dinh-hoa.yml")
    assert config.district.name == "Huyện Định Hoá"
    assert (config.district.timezone, config.district.locale) == ("Asia/Ho_Chi_Minh", "vi")
    hub, *communes = config.sites
    assert (hub.id, hub.name, hub.role) == ("hub", "UBND huyện Định Hoá", "district")
    assert hub.location is not None and (hub.location.lat, hub.location.lon) == (21.9114, 105.6453)
    assert {c.name: (c.location.lat, c.location.lon) for c in communes if c.location} == COMMUNES
    for commune in communes:
        assert commune.parent == "hub" and commune.role == "commune" and commune.technicians
        assert commune.id == _slug(commune.name.removeprefix("Xã ").removeprefix("Thị trấn "))
        assert commune.link is not None and commune.link.bandwidth in (100_000_000, 200_000_000)
        assert commune.link.device in {device.id for device in commune.devices}
        snmp = commune.devices[0].snmp
        assert snmp is not None and snmp.version == "2c" and snmp.community == Secret(env="TSLCD_COMMUNITY")
        assert [(e.kind, e.port) for e in commune.endpoints] == [("tcp", 1720)]
    hub_snmp = hub.devices[0].snmp
    assert hub_snmp is not None and (hub_snmp.version, hub_snmp.auth, hub_snmp.priv) == ("3", "SHA", "AES")
    assert {e.kind for e in hub.endpoints} == {"tcp", "http"}
    assert config.api.token == Secret(env="GIAOBAN_TOKEN")


def test_dinh_hoa_example_uses_documentation_addresses_only() -> None:
    """Example addresses must never reach a real network (RFC 5737 ranges only)."""
    config = load_config(EXAMPLES / "dinh-hoa.yml")
    hosts = _addresses(config)
    assert len(hosts) == 24 + 24 + 25
    for host in hosts:
        assert any(ipaddress.ip_address(host) in net for net in DOC_NETS), host


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name.replace("Đ", "D").replace("đ", "d"))
    ascii_name = "".join(c for c in ascii_name if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


# --- organisation: and the older district: ---------------------------------------------------------


def test_organisation_and_district_are_one_block() -> None:
    """Code reads config.district; either key fills it, and a dump holds one of them, so it validates again."""
    new = load_config_text('organisation: {name: "Tỉnh Thái Nguyên", code: "19"}\nsites: [{id: a, name: A}]\n', "x")
    old = load_config_text('district: {name: "Huyện Định Hoá"}\nsites: [{id: a, name: A}]\n', "x")
    assert (new.district.name, new.district.code) == ("Tỉnh Thái Nguyên", "19") and new.organisation == new.district
    assert old.organisation.name == old.district.name == "Huyện Định Hoá"
    assert (new.deprecations(), len(old.deprecations())) == ([], 1)
    for config in (new, old):
        dumped = config.model_dump(include={"district", "organisation", "sites"})
        assert "district" not in dumped
        again = Config.model_validate(dumped)
        assert again.district == config.district and again.deprecations() == []


@pytest.mark.parametrize(
    ("locale", "warning"),
    [
        ("vi", "cảnh báo: khóa district: đã cũ: hãy đổi tên thành organisation: (cùng các trường, thêm code: "
         "là mã tỉnh)"),
        ("en", "warning: the key district: is deprecated: rename it organisation: (same fields, plus code: for the "
         "province's code)"),
    ],
)  # fmt: skip
def test_district_key_is_a_warning_not_an_error(tmp_path: Path, locale: str, warning: str) -> None:
    """An older file still passes check-config (exit 0), with the rename asked for in its own language."""
    path = tmp_path / "old.yml"
    path.write_text(f'district: {{name: "Huyện Định Hoá", locale: {locale}}}\nsites: [{{id: hub, name: Hub}}]\n')
    out, err = io.StringIO(), io.StringIO()
    assert check_config(str(path), out=out, err=err) == 0
    assert out.getvalue().startswith(f"{path}: OK — Huyện Định Hoá, 1 site (1 commune)")
    assert err.getvalue().splitlines() == [f"{path}: {warning}"]


def test_service_logs_the_district_deprecation(caplog: pytest.LogCaptureFixture) -> None:
    """The running service says it too, at start and at each reload (check-config is not always run)."""
    from monitor.app.service import _log_deprecations

    old = load_config_text('district: {name: "Huyện Định Hoá"}\nsites: [{id: a, name: A}]\n', "x")
    new = load_config_text('organisation: {name: "Tỉnh Thái Nguyên"}\nsites: [{id: a, name: A}]\n', "x")
    with caplog.at_level("WARNING", logger="monitor.app.service"):
        _log_deprecations(Path("giaoban.yml"), new)
        _log_deprecations(Path("giaoban.yml"), old)
    assert [r.getMessage() for r in caplog.records] == [
        "giaoban.yml: the key district: is deprecated: rename it organisation: (same fields, plus code: for the "
        "province's code)"
    ]


# --- the province example -------------------------------------------------------------------------


def _official_units(province: str) -> dict[str, str]:
    """{code: name} of one province, read straight from the shipped CSV (not through monitor.config.units2025)."""
    with (ROOT / "monitor" / "config" / "data" / "communes-2025.csv").open(encoding="utf-8", newline="") as file:
        return {row["code"]: row["name"] for row in csv.DictReader(file) if row["province"] == province}


def test_thai_nguyen_example_holds_the_official_units() -> None:
    """92 units with their official codes, names and roles (77 xã, 15 phường), all under the provincial hub."""
    config = load_config(EXAMPLES / "thai-nguyen.yml")
    assert (config.district.name, config.district.code, config.deprecations()) == ("Tỉnh Thái Nguyên", "19", [])
    hub, *units = config.sites
    assert (hub.role, hub.code, hub.parent) == ("province", None, None)
    assert {u.code: u.name for u in units} == _official_units("Tỉnh Thái Nguyên")
    assert len(units) == 92
    roles = {"Xã": "commune", "Phường": "ward"}
    assert all(u.role == roles[u.name.split(" ")[0]] and u.parent == hub.id for u in units)
    assert [sum(u.role == role for u in units) for role in ("commune", "ward")] == [77, 15]
    dinh_hoa = {u.code for u in units if u.location is not None}
    assert dinh_hoa == {"05569", "05587", "05581", "05563", "05602", "05605", "05551", "05542"}  # NQ 1683/2025


def test_thai_nguyen_example_is_the_full_reference() -> None:
    """Every part the reference must show is there: SNMP v2c and v3 with env/file secrets, three codec kinds,
    UPS, technicians, all four channels, weekly and monthly briefings, a central conference, alerts, maintenance."""
    config = load_config(EXAMPLES / "thai-nguyen.yml")
    snmp = [d.snmp for s in config.sites for d in s.devices if d.snmp is not None]
    assert {x.version for x in snmp} == {"2c", "3"} and any(x.ups for x in snmp)
    assert {(x.auth_key.env is not None, x.priv_key.file is not None) for x in snmp if x.version == "3"} == {
        (True, True)
    }  # fmt: skip
    kinds = {e.kind for s in config.sites[1:] for e in s.endpoints}
    assert {"sip", "cisco-xapi", "poly-rest"} <= kinds
    assert len(config.technicians) >= 6 and all(s.technicians for s in config.sites)
    assert {n.kind for n in config.notifiers} == {"alertmanager", "telegram", "email", "webhook"}
    rules = {m.id: m.rrule for m in config.meetings}
    assert any("WEEKLY" in (r or "") for r in rules.values()) and any("MONTHLY" in (r or "") for r in rules.values())
    assert any(m.rrule is None and m.sites == "all" for m in config.meetings)  # the central conference
    assert config.alerts.admins and config.alerts.rules and len(config.maintenance) >= 2
    routers = {s.id: s.devices[0].address for s in config.sites[1:]}
    links = {s.id: s.link.address for s in config.sites[1:] if s.link}
    assert sum(routers[i] != links[i] for i in links) >= 10  # routers with their own management address


def test_thai_nguyen_example_uses_distinct_documentation_addresses() -> None:
    """Example addresses never reach a real network (RFC 5737 only), and no two things share one by accident."""
    config = load_config(EXAMPLES / "thai-nguyen.yml")
    hosts = _addresses(config)
    for host in hosts:
        assert any(ipaddress.ip_address(host) in net for net in DOC_NETS), host
    routers = {d.address for s in config.sites for d in s.devices}
    codecs = [e.address for s in config.sites[1:] for e in s.endpoints]
    assert len(codecs) == len(set(codecs)) == 92 and not routers & set(codecs)
    assert {ipaddress.ip_network(f"{h}/24", strict=False) for h in hosts} == set(DOC_NETS)  # all three ranges


def test_thai_nguyen_example_is_what_its_generator_writes() -> None:
    """The committed file and examples/make_thai_nguyen.py agree, so the file can always be regenerated."""
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / "make_thai_nguyen.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
