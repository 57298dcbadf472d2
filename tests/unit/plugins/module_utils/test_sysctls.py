# -*- coding: utf-8 -*-
"""sysctls resource and task: value checks, state semantics (table-driven), dotted names,
rollback, the persist file and the guard, on a fake ip and a fake /proc/sys/net tree."""

import copy
import json
import os

import pytest

from ansible_collections.hostnet.netif.plugins.module_utils import guard, model, planner, resource, transaction
from ansible_collections.hostnet.netif.plugins.module_utils import sysctls
from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError

from netif_fakeip import FakeIp
from netif_testlib import FakeHost

make = FakeIp.make_link
SSH = "198.18.0.1 50000 198.18.0.10 22"
NAMES = ("lo", "eth0", "eth1", "v-x.1", "vb")
# kernel defaults of a few keys (what conf/default holds on a fresh namespace)
DEFAULTS = {"ipv4": {"rp_filter": 0, "accept_redirects": 1, "arp_ignore": 0, "forwarding": 0,
                     "log_martians": 0, "proxy_arp": 0, "shared_media": 1,
                     "drop_gratuitous_arp": 0},
            "ipv6": {"accept_ra": 1, "disable_ipv6": 0, "hop_limit": 64, "mtu": 1280,
                     "mldv1_unsolicited_report_interval": 10000}}


class FailingSysctl(transaction.SysctlIO):
    """The kernel refuses chosen (path, value) writes (as it does with EINVAL)."""

    def __init__(self, procfs):
        super(FailingSysctl, self).__init__(procfs)
        self.refuse = set()
        self.writes = []

    def write(self, op, value):
        path = self._path(op)
        if (path, value) in self.refuse:
            raise transaction.SysctlError("could not write %s=%s: Invalid argument" % (path, value))
        self.writes.append((path, value))
        super(FailingSysctl, self).write(op, value)


class Rig:
    def __init__(self, tmp_path, ssh=SSH):
        self.tree = FakeHost(tmp_path / "root")
        links = [make("lo", mtu=65536, flags=["LOOPBACK", "UP", "LOWER_UP"],
                      mac="00:00:00:00:00:00", link_type="loopback")]
        links += [make("eth0", up=True, addresses=[{
            "family": "inet", "local": "198.18.0.10", "prefixlen": 24, "scope": "global",
            "valid_life_time": 4294967295, "preferred_life_time": 4294967295}]),
            make("eth1", up=True, mtu=9000), make("v-x.1", "veth", parent="vb", up=True),
            make("vb", "veth", parent="v-x.1", up=True)]
        self.fake = FakeIp(links, routes={"198.18.0.1": {"dst": "198.18.0.1", "dev": "eth0",
                                                         "prefsrc": "198.18.0.10"}})
        for name in NAMES:
            self.tree.add_interface(name)
        # a few keys only (file writes are slow on some CI disks); the others read as
        # absent, like keys an older kernel lacks
        for name in ("all", "default") + NAMES:
            for family, keys in DEFAULTS.items():
                for key, value in keys.items():
                    if family == "ipv6" and key == "mtu" and name not in ("all", "default"):
                        value = 1500
                    self.tree.set_conf(family, name, key, value)
        self.sysctl = FailingSysctl(self.tree.procfs)
        environ = {"SSH_CONNECTION": ssh} if ssh else {}
        self.host = transaction.Host(self.fake.run, FakeIp.IP, environ=environ,
                                     sysctl=self.sysctl, files=self.tree.files())
        self.lock_path = str(tmp_path / "lock")
        self.persist_dir = tmp_path / "sysctl.d"
        self.persist_dir.mkdir()
        self.environ = {sysctls.DIR_ENV: str(self.persist_dir)}

    def value(self, family, name, key):
        with open(os.path.join(self.tree.procfs, family, "conf", name, key)) as handle:
            return int(handle.read())

    def set(self, family, name, key, value):
        self.tree.set_conf(family, name, key, value)

    def snapshot(self):
        result = {}
        for root, dummy, files in os.walk(self.tree.procfs):
            for name in files:
                with open(os.path.join(root, name)) as handle:
                    result[os.path.join(root, name)] = handle.read()
        return result

    def run(self, state, config=(), check_mode=False, diff=False, **kwargs):
        params = dict(state=state, config=[dict((k, item.get(k)) for k in sysctls.CONFIG_OPTIONS)
                                           for item in config],
                      running_config=None, scope=None, force=False, persist=False,
                      persist_file="90-hostnet-netif.conf")
        params.update(kwargs)
        lock = transaction.HostLock(self.lock_path, timeout=5)
        return sysctls.run(params, self.host, check_mode=check_mode, diff=diff,
                           environ=self.environ, lock=lock)

    def persisted(self, name="90-hostnet-netif.conf"):
        path = self.persist_dir / name
        return path.read_text() if path.exists() else None


@pytest.fixture
def rig(tmp_path):
    return Rig(tmp_path)


# ---------------------------------------------------------------------------
# values: allow-list, ranges, no path tricks
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("family, key, value, words", [
    ("ipv4", "../../../../etc/passwd", 1, "not an allowed"),
    ("ipv4", "conf/all/rp_filter", 1, "not an allowed"),
    ("ipv4", "rp_filter/../forwarding", 1, "not an allowed"),
    ("ipv4", "ip_forward", 1, "not an allowed"),
    ("ipv4", "accept_ra", 1, "not an allowed"),
    ("ipv6", "rp_filter", 1, "not an allowed"),
    ("ipv4", "mc_forwarding", 1, "read-only"),
    ("ipv6", "router_probes", 1, "not a sysctl"),
    ("ipv4", "rp_filter", 3, "between 0 and 2"),
    ("ipv4", "rp_filter", -1, "between 0 and 2"),
    ("ipv4", "arp_ignore", 9, "between 0 and 8"),
    ("ipv4", "arp_announce", 3, "between 0 and 2"),
    ("ipv6", "accept_ra", 3, "between 0 and 2"),
    ("ipv4", "forwarding", 2, "between 0 and 1"),
    ("ipv6", "mtu", 1279, "between 1280 and 65535"),
    ("ipv6", "hop_limit", 0, "between 1 and 255"),
    ("ipv6", "router_solicitation_interval", 2147484, "between 0 and 2147483"),
    ("ipv6", "mldv1_unsolicited_report_interval", 1001, "multiple of 100"),
    ("ipv4", "rp_filter", True, "integer"),
    ("ipv4", "rp_filter", "1", "integer"),
    ("ipv4", "rp_filter", "1; reboot", "integer"),
    ("ipv4", "rp_filter", 1.0, "integer"),
])
def test_check_value_refuses(family, key, value, words):
    with pytest.raises(InputError) as info:
        sysctls.check_value(family, key, value, "config[0].%s.%s" % (family, key))
    assert info.value.path == "config[0].%s.%s" % (family, key)
    assert words in str(info.value)


def test_every_allow_listed_key_has_a_spec():
    for family, keys in model.CONF_KEYS.items():
        assert set(sysctls.VALUE_SPECS[family]) == set(keys)
    for family in sysctls.FAMILIES:
        resettable = set(sysctls.resettable_keys(family))
        assert "mc_forwarding" not in resettable
        assert resettable <= set(model.CONF_KEYS[family])
    assert "mtu" not in sysctls.resettable_keys("ipv6")


# ---------------------------------------------------------------------------
# sysctl text and dotted names
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("line, parsed", [
    ("net.ipv4.conf.eth0.rp_filter = 1", ("eth0", "ipv4", "rp_filter", 1)),
    ("net.ipv4.conf.v-x/1.rp_filter = 2", ("v-x.1", "ipv4", "rp_filter", 2)),
    ("-net.ipv4.conf.v-x/1.rp_filter = 2", ("v-x.1", "ipv4", "rp_filter", 2)),
    ("net/ipv4/conf/v-x.1/rp_filter=0", ("v-x.1", "ipv4", "rp_filter", 0)),
    ("net.ipv6.conf.all.accept_ra=0", ("all", "ipv6", "accept_ra", 0)),
    ("  net.ipv6.conf.default.use_tempaddr = -1  ", ("default", "ipv6", "use_tempaddr", -1)),
    ("net.ipv4.conf.eth0.nosuch = 1", None),
    ("net.ipv4.ip_forward = 1", None),
    ("net.ipv4.conf.eth0.rp_filter = abc", None),
    ("# net.ipv4.conf.eth0.rp_filter = 1", None),
    ("net.ipv4.conf.a b.rp_filter = 1", None),
])
def test_parse_line(line, parsed):
    assert sysctls.parse_line(line) == parsed


def test_format_line_escapes_dots_and_round_trips():
    line = sysctls.format_line("v-x.1", "ipv4", "rp_filter", 2)
    assert line == "-net.ipv4.conf.v-x/1.rp_filter = 2"
    assert sysctls.parse_line(line) == ("v-x.1", "ipv4", "rp_filter", 2)
    assert sysctls.format_line("all", "ipv6", "forwarding", 0) == "net.ipv6.conf.all.forwarding = 0"


def test_dotted_interface_uses_its_name_as_is_in_proc(rig):
    result = rig.run("merged", [{"name": "v-x.1", "ipv4": {"rp_filter": 2}}])
    assert result["commands"] == ["sysctl -w net.ipv4.conf.v-x/1.rp_filter=2"]
    assert rig.sysctl.writes == [(os.path.join(rig.tree.procfs, "ipv4", "conf", "v-x.1",
                                               "rp_filter"), 2)]
    assert rig.value("ipv4", "v-x.1", "rp_filter") == 2


# ---------------------------------------------------------------------------
# state semantics, table-driven
# ---------------------------------------------------------------------------
def _seed(rig):
    rig.set("ipv4", "eth1", "rp_filter", 2)
    rig.set("ipv4", "eth1", "proxy_arp", 1)
    rig.set("ipv6", "eth1", "accept_ra", 0)
    rig.set("ipv4", "vb", "arp_ignore", 2)
    rig.set("ipv4", "default", "rp_filter", 1)   # the reference value for resets


# (label, state, config, scope, expected {(family, name, key): value})
STATES = [
    ("merged sets what is given", "merged",
     [{"name": "eth1", "ipv4": {"arp_ignore": 1}}], None,
     {("ipv4", "eth1", "arp_ignore"): 1, ("ipv4", "eth1", "rp_filter"): 2,
      ("ipv4", "eth1", "proxy_arp"): 1}),
    ("merged on all and default", "merged",
     [{"name": "all", "ipv4": {"log_martians": 1}}, {"name": "default", "ipv6": {"accept_ra": 0}}],
     None, {("ipv4", "all", "log_martians"): 1, ("ipv6", "default", "accept_ra"): 0,
            ("ipv4", "eth1", "log_martians"): 0}),
    ("replaced: others return to conf/default", "replaced",
     [{"name": "eth1", "ipv4": {"arp_ignore": 1}}], None,
     {("ipv4", "eth1", "arp_ignore"): 1, ("ipv4", "eth1", "rp_filter"): 1,
      ("ipv4", "eth1", "proxy_arp"): 0, ("ipv6", "eth1", "accept_ra"): 1,
      ("ipv6", "eth1", "mtu"): 1500, ("ipv4", "vb", "arp_ignore"): 2}),
    ("replaced on all leaves unnamed keys", "replaced",
     [{"name": "all", "ipv4": {"log_martians": 1}}], None,
     {("ipv4", "all", "log_martians"): 1, ("ipv4", "all", "shared_media"): 1}),
    ("overridden resets unlisted in scope", "overridden",
     [{"name": "eth1", "ipv4": {"rp_filter": 2}}], ["eth1", "vb", "all"],
     {("ipv4", "eth1", "rp_filter"): 2, ("ipv4", "eth1", "proxy_arp"): 0,
      ("ipv4", "vb", "arp_ignore"): 0, ("ipv4", "vb", "rp_filter"): 1,
      ("ipv4", "v-x.1", "rp_filter"): 0, ("ipv4", "all", "rp_filter"): 0}),
    ("deleted named keys (values ignored)", "deleted",
     [{"name": "eth1", "ipv4": {"proxy_arp": 1}}], None,
     {("ipv4", "eth1", "proxy_arp"): 0, ("ipv4", "eth1", "rp_filter"): 2,
      ("ipv6", "eth1", "accept_ra"): 0}),
    ("deleted a whole family", "deleted", [{"name": "eth1", "ipv6": {}}], None,
     {("ipv6", "eth1", "accept_ra"): 1, ("ipv4", "eth1", "rp_filter"): 2}),
    ("deleted the whole interface", "deleted", [{"name": "eth1"}], None,
     {("ipv6", "eth1", "accept_ra"): 1, ("ipv4", "eth1", "rp_filter"): 1,
      ("ipv4", "eth1", "proxy_arp"): 0, ("ipv4", "vb", "arp_ignore"): 2}),
    ("deleted by scope", "deleted", [], ["vb"],
     {("ipv4", "vb", "arp_ignore"): 0, ("ipv4", "eth1", "rp_filter"): 2}),
]


@pytest.mark.parametrize("label, state, config, scope, expected", STATES,
                         ids=[s[0] for s in STATES])
def test_state_semantics(rig, label, state, config, scope, expected):
    _seed(rig)
    result = rig.run(state, config, scope=scope)
    for (family, name, key), value in expected.items():
        assert rig.value(family, name, key) == value, (family, name, key)
    assert result["changed"] is True
    again = rig.run(state, config, scope=scope)
    assert again["changed"] is False and again["commands"] == []


@pytest.mark.parametrize("label, state, config, scope, expected", STATES,
                         ids=[s[0] for s in STATES])
def test_check_mode_changes_nothing(rig, label, state, config, scope, expected):
    _seed(rig)
    before = rig.snapshot()
    result = rig.run(state, config, scope=scope, check_mode=True, diff=True)
    assert rig.snapshot() == before and rig.sysctl.writes == []
    assert result["changed"] is True and result["commands"]
    after = dict((item["name"], item) for item in result["after"])
    for (family, name, key), value in expected.items():
        if key in after.get(name, {}).get(family, {}):  # merged reads the keys it names
            assert after[name][family][key] == value, (family, name, key)
    assert result["diff"]["before"] != result["diff"]["after"]


def test_resets_are_marked_and_the_guard_refuses_them_on_the_session_interface(rig):
    rig.set("ipv4", "eth0", "proxy_arp", 1)
    before = rig.snapshot()
    with pytest.raises(guard.GuardError) as info:
        rig.run("replaced", [{"name": "eth0", "ipv4": {"rp_filter": 1}}])
    assert "reset ipv4.proxy_arp of eth0" in str(info.value)
    assert rig.snapshot() == before
    # setting a value (no reset) on the session interface is fine
    assert rig.run("merged", [{"name": "eth0", "ipv4": {"rp_filter": 1}}])["changed"]
    assert rig.run("replaced", [{"name": "eth0", "ipv4": {"rp_filter": 1}}],
                   force=True)["changed"]
    assert rig.value("ipv4", "eth0", "proxy_arp") == 0


@pytest.mark.parametrize("config, state, path, words", [
    ([{"name": "nope0", "ipv4": {"rp_filter": 1}}], "merged", "config[0].name", "does not exist"),
    ([{"name": "eth1", "ipv6": {"router_probes": 1}}], "merged", "config[0].ipv6.router_probes",
     "not a sysctl"),
    ([{"name": "eth1", "ipv6": {"mtu": 9001}}], "merged", "config[0].ipv6.mtu",
     "exceeds the link MTU"),
    ([{"name": "all"}], "deleted", "config[0].name", "no default"),
    ([{"name": "eth1", "ipv6": {"mtu": 1400}}], "deleted", "config[0].ipv6.mtu", "never reset"),
    ([{"name": "eth1"}, {"name": "eth1"}], "merged", "config[1].name", "listed twice"),
    ([{"name": "eth1", "ipv4": [1]}], "merged", "config[0].ipv4", "expected a dict"),
    ([{"name": "../../x", "ipv4": {"rp_filter": 1}}], "merged", "config[0].name", "'/'"),
])
def test_input_errors_before_any_write(rig, config, state, path, words):
    before = rig.snapshot()
    with pytest.raises(InputError) as info:
        rig.run(state, config)
    assert info.value.path == path
    assert words in str(info.value)
    assert rig.snapshot() == before


def test_missing_kernel_key_is_an_input_error(rig):
    os.unlink(os.path.join(rig.tree.procfs, "ipv4", "conf", "eth1", "drop_gratuitous_arp"))
    with pytest.raises(InputError) as info:
        rig.run("merged", [{"name": "eth1", "ipv4": {"drop_gratuitous_arp": 1}}])
    assert info.value.path == "config[0].ipv4.drop_gratuitous_arp"
    assert "net.ipv4.conf.eth1.drop_gratuitous_arp" in str(info.value)


# ---------------------------------------------------------------------------
# rollback
# ---------------------------------------------------------------------------
def test_refused_write_restores_every_written_value(rig):
    before = rig.snapshot()
    rig.sysctl.refuse.add((os.path.join(rig.tree.procfs, "ipv6", "conf", "eth1", "hop_limit"), 9))
    with pytest.raises(transaction.TransactionError) as info:
        rig.run("merged", [{"name": "all", "ipv4": {"log_martians": 1}},
                           {"name": "eth1", "ipv4": {"rp_filter": 1}, "ipv6": {"hop_limit": 9}}])
    text = str(info.value)
    assert "ipv6/conf/eth1/hop_limit=9" in text and "Invalid argument" in text
    assert info.value.to_result()["restored"] is True
    assert rig.snapshot() == before


# ---------------------------------------------------------------------------
# the persist file
# ---------------------------------------------------------------------------
HEADER = sysctls.HEADER


def test_persist_writes_file_idempotently_with_diff(rig):
    config = [{"name": "v-x.1", "ipv4": {"rp_filter": 2}}, {"name": "all", "ipv4": {"log_martians": 1}}]
    first = rig.run("merged", config, persist=True, diff=True)
    text = rig.persisted()
    assert text == "\n".join([HEADER, "net.ipv4.conf.all.log_martians = 1",
                              "-net.ipv4.conf.v-x/1.rp_filter = 2"]) + "\n"
    assert first["persist"] == {"path": str(rig.persist_dir / "90-hostnet-netif.conf"),
                                "changed": True}
    assert first["diff"][1]["before"] == "" and first["diff"][1]["after"] == text
    assert first["diff"][1]["before_header"].endswith("(absent)")
    assert os.stat(str(rig.persist_dir / "90-hostnet-netif.conf")).st_mode & 0o777 == 0o644
    second = rig.run("merged", config, persist=True, diff=True)
    assert second["changed"] is False and second["persist"]["changed"] is False
    assert rig.persisted() == text
    assert sorted(os.listdir(str(rig.persist_dir))) == ["90-hostnet-netif.conf"]  # no temp files


def test_persist_alone_is_a_change_and_check_mode_only_reports(rig):
    rig.set("ipv4", "eth1", "rp_filter", 1)  # runtime already right
    checked = rig.run("merged", [{"name": "eth1", "ipv4": {"rp_filter": 1}}], persist=True,
                      check_mode=True, diff=True)
    assert checked["changed"] is True and checked["commands"] == []
    assert rig.persisted() is None
    assert "-net.ipv4.conf.eth1.rp_filter = 1" in checked["diff"][0]["after"]
    done = rig.run("merged", [{"name": "eth1", "ipv4": {"rp_filter": 1}}], persist=True)
    assert done["changed"] is True and done["commands"] == []
    assert "-net.ipv4.conf.eth1.rp_filter = 1\n" in rig.persisted()


def test_persist_keeps_foreign_lines_and_drops_reset_keys(rig):
    path = rig.persist_dir / "90-hostnet-netif.conf"
    path.write_text("# mine\nnet.ipv4.ip_forward = 1\n-net.ipv4.conf.eth1.proxy_arp = 1\n"
                    "-net.ipv4.conf.eth1.rp_filter = 2\n-net.ipv4.conf.vb.arp_ignore = 2\n")
    rig.run("deleted", [{"name": "eth1", "ipv4": {"proxy_arp": 0}}], persist=True)
    assert rig.persisted() == "\n".join([
        HEADER, "# mine", "net.ipv4.ip_forward = 1", "-net.ipv4.conf.eth1.rp_filter = 2",
        "-net.ipv4.conf.vb.arp_ignore = 2"]) + "\n"
    rig.run("replaced", [{"name": "vb", "ipv4": {"rp_filter": 1}}], persist=True)
    assert "-net.ipv4.conf.vb.arp_ignore" not in rig.persisted()
    assert "-net.ipv4.conf.vb.rp_filter = 1" in rig.persisted()
    rig.run("overridden", [], scope=["eth*", "vb"], persist=True)
    assert rig.persisted() == "\n".join([HEADER, "# mine", "net.ipv4.ip_forward = 1"]) + "\n"


def test_persist_file_removed_when_nothing_is_left(rig):
    rig.run("merged", [{"name": "eth1", "ipv4": {"rp_filter": 1}}], persist=True)
    result = rig.run("deleted", [{"name": "eth1"}], persist=True, diff=True)
    assert rig.persisted() is None
    assert result["persist"]["changed"] is True
    assert result["diff"][-1]["after_header"].endswith("(removed)")


def test_persist_write_failure_restores_runtime(rig, monkeypatch):
    before = rig.snapshot()

    def refuse(self, path, text, mode=None):
        raise transaction.FileWriteError("could not write %s: No space left on device" % path)

    monkeypatch.setattr(transaction.TextFiles, "write", refuse)
    with pytest.raises(transaction.TransactionError) as info:
        rig.run("merged", [{"name": "eth1", "ipv4": {"rp_filter": 1}}], persist=True)
    assert "No space left" in str(info.value)
    assert info.value.to_result()["restored"] is True
    assert rig.snapshot() == before
    assert rig.persisted() is None


def test_persist_file_goes_through_the_transaction_journal(rig, monkeypatch):
    seen = {}
    real = transaction.TextFiles.write

    def spy(self, path, text, mode=None):
        with open(rig.lock_path + ".journal") as handle:
            seen["files"] = json.load(handle)["files"]
        real(self, path, text, mode)

    monkeypatch.setattr(transaction.TextFiles, "write", spy)
    rig.run("merged", [{"name": "eth1", "ipv4": {"rp_filter": 1}}], persist=True)
    assert seen["files"] == {str(rig.persist_dir / "90-hostnet-netif.conf"): None}


@pytest.mark.parametrize("name", ["../x.conf", "a/b.conf", "..conf", ".hidden.conf", "x.txt",
                                  "x conf.conf", "x;rm.conf", "", "a" * 252 + ".conf"])
def test_persist_file_names_refused(name):
    assert sysctls.file_name_error(name) is not None
    with pytest.raises(InputError) as info:
        sysctls.PersistFile("/nonexistent", name)
    assert info.value.path == "persist_file"


def test_persist_file_name_accepted():
    assert sysctls.file_name_error("90-hostnet-netif.conf") is None
    assert sysctls.file_name_error("60_edge+v2@x.conf") is None


def test_persist_directory_override_must_be_absolute_and_exist(tmp_path):
    assert sysctls.persist_directory({}) == "/etc/sysctl.d"
    assert sysctls.persist_directory({sysctls.DIR_ENV: str(tmp_path)}) == str(tmp_path)
    for bad in ("relative/dir", str(tmp_path / "missing")):
        with pytest.raises(InputError):
            sysctls.persist_directory({sysctls.DIR_ENV: bad})


# ---------------------------------------------------------------------------
# offline states
# ---------------------------------------------------------------------------
SYSCTL_A = """\
net.ipv4.conf.all.rp_filter = 1
net.ipv4.conf.default.rp_filter = 1
net.ipv4.conf.eth1.rp_filter = 2
net.ipv4.conf.eth1.mc_forwarding = 0
net.ipv4.conf.v-x/1.arp_ignore = 1
net.ipv6.conf.eth1.accept_ra = 0
net.ipv4.ip_forward = 0
net.core.somaxconn = 4096
"""


def test_parsed_reads_sysctl_a_text():
    params = dict(state="parsed", config=[], running_config=SYSCTL_A, scope=["eth*", "v-*"],
                  force=False)
    parsed = resource.Runner(sysctls.SysctlsResource(), params).run()["parsed"]
    assert parsed == [{"name": "eth1", "ipv4": {"rp_filter": 2, "mc_forwarding": 0},
                       "ipv6": {"accept_ra": 0}},
                      {"name": "v-x.1", "ipv4": {"arp_ignore": 1}}]


def test_rendered_offline_and_against_a_capture():
    config = [{"name": "eth1", "ipv4": {"rp_filter": 2, "arp_ignore": 1}, "ipv6": None}]
    params = dict(state="rendered", config=config, running_config=None, scope=None, force=False)
    rendered = resource.Runner(sysctls.SysctlsResource(), params).run()["rendered"]
    assert rendered == ["sysctl -w net.ipv4.conf.eth1.arp_ignore=1",
                        "sysctl -w net.ipv4.conf.eth1.rp_filter=2"]
    params["running_config"] = SYSCTL_A
    # a capture may leave keys out (a sysctl.d file): they are planned, not refused
    assert resource.Runner(sysctls.SysctlsResource(), copy.deepcopy(params)).run()["rendered"] \
        == ["sysctl -w net.ipv4.conf.eth1.arp_ignore=1"]
    params["config"] = config + [{"name": "eth9", "ipv4": {"rp_filter": 1}, "ipv6": None}]
    with pytest.raises(InputError) as info:  # not in the capture
        resource.Runner(sysctls.SysctlsResource(), copy.deepcopy(params)).run()
    assert info.value.path == "config[1].name"


@pytest.mark.parametrize("state, config, scope", [
    ("replaced", [{"name": "eth1", "ipv4": {"arp_ignore": 1}}], None),
    ("overridden", [{"name": "eth1", "ipv4": {"rp_filter": 2}}], ["eth1", "vb", "all"]),
    ("deleted", [{"name": "eth1"}], None),
    ("deleted", [], ["vb"]),
])
def test_resets_read_every_key_only_where_they_reset(rig, state, config, scope):
    """The reader reads the named keys on every interface; the resource reads the rest
    only for the names a reset touches (and default), with the same plan as reading all."""
    _seed(rig)
    params = dict(state=state, config=[dict((k, item.get(k)) for k in sysctls.CONFIG_OPTIONS)
                                       for item in config],
                  running_config=None, scope=scope, force=False)
    lean = sysctls.SysctlsResource(params, files=rig.tree.files())
    assert lean.sysctl_keys == sysctls.needed_keys(params, reads_resets=True)
    assert len(lean.sysctl_keys) <= 1
    assert lean._full("default") and not lean._full("all") and not lean._full("lo")
    wide = sysctls.SysctlsResource(params)  # no files: the reader reads every key
    assert wide.sysctl_keys == sysctls.ALL_KEYS
    plans = []
    for resource_ in (lean, wide):
        runner = resource.Runner(resource_, dict(params), host=rig.host, check_mode=True)
        plans.append(runner.run()["commands"])
    assert plans[0] == plans[1] and plans[0]


def test_check_mode_plans_for_an_interface_an_earlier_task_creates(rig):
    """--check of a play that creates br-new first: the sysctls task plans (and warns), a
    real run of the same task still fails on the missing interface."""
    before = rig.snapshot()
    result = rig.run("merged", [{"name": "br-new", "ipv4": {"rp_filter": 1}}], check_mode=True)
    assert result["changed"] and result["commands"] == ["sysctl -w net.ipv4.conf.br-new.rp_filter=1"]
    assert any(w.startswith("check mode: interface br-new does not exist yet") for w in result["warnings"])
    assert rig.snapshot() == before
    with pytest.raises(InputError) as info:
        rig.run("merged", [{"name": "br-new", "ipv4": {"rp_filter": 1}}])
    assert info.value.path == "config[0].name" and "does not exist" in str(info.value)


# ---------------------------------------------------------------------------
# forwarding first: the kernel's side effects of writing conf/all/forwarding
# ---------------------------------------------------------------------------
class ForwardingKernel(FailingSysctl):
    """Writing ipv4 conf/all/forwarding, as devinet.c inet_forward_change does, sets
    default and every interface's forwarding and all/accept_redirects to the opposite
    (only when the value changes); ipv6 all/forwarding sets default and every interface and
    clears their force_forwarding (as measured on 6.18 for 1 -> 0; here for any change)."""

    def write(self, op, value):
        changed = op.dev == "all" and op.key == "forwarding" and self.read(op) != value
        super(ForwardingKernel, self).write(op, value)
        if not changed:
            return
        conf = os.path.join(self.procfs, op.family, "conf")
        for name in os.listdir(conf):
            if name != "all":
                with open(os.path.join(conf, name, "forwarding"), "w") as handle:
                    handle.write("%d\n" % value)
        if op.family == "ipv4":
            with open(os.path.join(conf, "all", "accept_redirects"), "w") as handle:
                handle.write("%d\n" % (0 if value else 1))
        else:
            for name in os.listdir(conf):
                if name != "all":
                    with open(os.path.join(conf, name, "force_forwarding"), "w") as handle:
                        handle.write("0\n")


def _forwarding_kernel(rig, family, value):
    """The rig's /proc behaves like the kernel on forwarding writes; every name forwards ``value``."""
    rig.sysctl = ForwardingKernel(rig.tree.procfs)
    rig.host.sysctl = rig.sysctl
    for name in ("all", "default") + NAMES:
        rig.set(family, name, "forwarding", value)
        if family == "ipv6":
            rig.set(family, name, "force_forwarding", 0)


@pytest.mark.parametrize("redirects_before", [0, 1])
def test_forwarding_is_written_first_and_keys_it_clobbers_are_rewritten(rig, redirects_before):
    """A remediation {forwarding: 0, accept_redirects: 0} on all of a router ends with both 0.

    Before: accept_redirects (sorted first) was written before forwarding, whose write set it
    back to 1; or, already 0, it was not written at all; either way verify failed and the
    task was rolled back."""
    _forwarding_kernel(rig, "ipv4", 1)
    rig.set("ipv4", "all", "accept_redirects", redirects_before)
    result = rig.run("merged", [{"name": "all", "ipv4": {"accept_redirects": 0, "forwarding": 0}},
                                {"name": "eth1", "ipv4": {"forwarding": 0}}])
    assert result["commands"] == ["sysctl -w net.ipv4.conf.all.forwarding=0",
                                  "sysctl -w net.ipv4.conf.eth1.forwarding=0",
                                  "sysctl -w net.ipv4.conf.all.accept_redirects=0"]
    assert rig.value("ipv4", "all", "forwarding") == 0
    assert rig.value("ipv4", "all", "accept_redirects") == 0
    assert rig.value("ipv4", "eth1", "forwarding") == 0
    again = rig.run("merged", [{"name": "all", "ipv4": {"accept_redirects": 0, "forwarding": 0}}])
    assert again["changed"] is False


def test_interface_forwarding_asked_with_all_is_rewritten_after_it(rig):
    """all.forwarding=1 with eth1.forwarding=0: the all write sets eth1 to 1, so eth1 is
    written after it even though it holds 0 now (IPv6: eth1 then only acts as a host)."""
    _forwarding_kernel(rig, "ipv6", 0)
    rig.set("ipv6", "eth1", "force_forwarding", 1)
    result = rig.run("merged", [{"name": "eth1", "ipv6": {"forwarding": 0, "force_forwarding": 1}},
                                {"name": "all", "ipv6": {"forwarding": 1}}])
    assert result["commands"] == ["sysctl -w net.ipv6.conf.all.forwarding=1",
                                  "sysctl -w net.ipv6.conf.eth1.force_forwarding=1",
                                  "sysctl -w net.ipv6.conf.eth1.forwarding=0"]
    assert rig.value("ipv6", "eth1", "forwarding") == 0
    assert rig.value("ipv6", "eth1", "force_forwarding") == 1
    assert rig.value("ipv6", "eth0", "forwarding") == 1


def test_sysctl_ops_order_forwarding_first_all_before_interfaces():
    ops = [planner.SysctlOp("ipv4", "eth1", "rp_filter", 1), planner.SysctlOp("ipv4", "all", "accept_redirects", 0),
           planner.SysctlOp("ipv6", "eth1", "forwarding", 0), planner.SysctlOp("ipv4", "all", "forwarding", 0)]
    order = [(op.family, op.dev, op.key) for op in planner.order(ops)]
    assert order == [("ipv4", "all", "forwarding"), ("ipv6", "eth1", "forwarding"),
                     ("ipv4", "eth1", "rp_filter"), ("ipv4", "all", "accept_redirects")]
