"""Boot rules (issue #10): drift runtime versus boot, effective sysctls at boot,
two managers, unreadable files, the CIS baseline judged on boot values, scope
defaults, the remediation plan, and what the role must gather."""

import json
import os

import jsonschema
import pytest
from audit_testlib import address, compliant_host, copy_doc, interface, set_all, set_sysctls

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import boot, engine
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.policy import PolicyError, load_policy

TODAY = "2030-06-15"
POLICY = load_policy(["cis_network", "boot"])
BOOT_ONLY = load_policy("boot")
SCHEMA_DIR = os.path.join(os.path.dirname(boot.__file__), "..", "schemas")
with open(os.path.join(SCHEMA_DIR, "report.schema.json"), encoding="utf-8") as _handle:
    REPORT_SCHEMA = json.load(_handle)
NET = "/etc/systemd/network"
CONF = "/etc/sysctl.d/99-planted.conf"


def record(manager="networkd", sources=None, kind=None, mtu=None, mac=None, master=None, enabled=True,
           addresses=(), **extra):
    out = {"manager": manager, "sources": list(sources or ["%s/10-x.network" % NET]), "kind": kind,
           "mtu": mtu, "mac": mac, "master": master, "enabled": enabled, "addresses": list(addresses),
           "dhcp4": False, "dhcp6": False}
    out.update(extra)
    return out


def sysctl(value, line=1, conf=CONF, **extra):
    return dict({"value": value, "file": conf, "line": line}, **extra)


def host(interfaces=None, boot_interfaces=None, boot_sysctl=None, errors=()):
    doc = compliant_host(interfaces)
    doc["gather_subset"] = sorted(set(doc["gather_subset"]) | {"boot"})
    doc["boot"] = {"interfaces": boot_interfaces or {}, "sysctl": boot_sysctl or {},
                   "errors": list(errors), "unevaluated": []}
    return doc


def failing(doc, policy=POLICY, rule=None):
    found = engine.evaluate_host(policy, "h1", [], doc, TODAY)
    return [f for f in found if f["status"] != "pass" and (rule is None or f["rule"] == rule)]


def eth0_boot(**changes):
    base = dict(addresses=["198.18.0.10/24"])
    base.update(changes)
    return {"eth0": record(**base)}


# ---------------------------------------------------------------- interface drift
def test_a_host_whose_boot_matches_runtime_has_no_boot_finding():
    assert [f for f in failing(host(boot_interfaces=eth0_boot(mtu=1500)))
            if f["rule"].startswith("boot.")] == []


@pytest.mark.parametrize("changes, attribute, boot_value, now", [
    ({"mtu": 9000}, "mtu", 9000, 1500),
    ({"mac": "02:00:00:00:00:99"}, "mac", "02:00:00:00:00:99", "02:00:00:00:00:01"),
    ({"enabled": False}, "admin_state", "down", "up"),
    ({"master": "br0"}, "master", "br0", None),
    ({"addresses": ["198.18.0.11/24"]}, "addresses", ["198.18.0.11/24"], ["198.18.0.10/24"]),
])
def test_interface_drift_names_the_attribute_and_the_file(changes, attribute, boot_value, now):
    found = failing(host(boot_interfaces=eth0_boot(**changes)), rule="boot.interface_drift")
    assert len(found) == 1
    finding = found[0]
    assert finding["interface"] == "eth0" and finding["phase"] == "boot"
    assert finding["expected"] == {attribute: boot_value} and finding["actual"] == {attribute: now}
    assert finding["files"] == ["%s/10-x.network" % NET]
    assert "%s/10-x.network" % NET in finding["detail"]


def test_link_local_and_dynamic_addresses_are_not_drift():
    lo_and_eth = compliant_host()["interfaces"]
    eth0 = lo_and_eth["eth0"]
    eth0["addresses"].append(address("fe80::1/64", "link"))
    dynamic = address("198.18.0.77/24")
    dynamic["flags"] = ["dynamic"]
    eth0["addresses"].append(dynamic)
    assert failing(host(list(lo_and_eth.values()), boot_interfaces=eth0_boot()),
                   rule="boot.interface_drift") == []


def test_existence_both_ways():
    doc = host(boot_interfaces={"nb0": record(kind="bridge", sources=["%s/10-nb0.netdev" % NET])})
    doc["interfaces"]["br7"] = interface("br7", kind="bridge")
    found = dict((f["interface"], f) for f in failing(doc, rule="boot.interface_drift"))
    assert sorted(found) == ["br7", "nb0"]
    assert found["nb0"]["expected"] == {"exists": True} and "creates it as a bridge" in found["nb0"]["detail"]
    assert found["br7"]["actual"] == {"exists": True} and "gone after a reboot" in found["br7"]["detail"]


def test_runtime_only_interfaces_do_not_flood_the_report():
    """Container veths, docker bridges and VM taps: left out by the baseline's selectors."""
    doc = host(boot_interfaces=eth0_boot())
    for name, kind in (("veth1a2b", "veth"), ("docker0", "bridge"), ("br-0f3c", "bridge"),
                       ("vnet3", "tun"), ("tap0", "tap"), ("virbr0", "bridge"), ("cali12", "veth")):
        doc["interfaces"][name] = interface(name, kind=kind, mtu=1450)
        set_sysctls(doc, name, ipv4={"rp_filter": 0})
    doc["boot"]["sysctl"] = {"net.ipv4.conf.all.rp_filter": sysctl(1)}
    assert [f for f in failing(doc) if f["rule"].startswith("boot.")] == []
    # the same bridge under a name no glob excludes is reported
    doc["interfaces"]["br9"] = interface("br9", kind="bridge")
    assert [f["interface"] for f in failing(doc, rule="boot.interface_drift")] == ["br9"]


def test_drift_attributes_are_a_parameter():
    policy = load_policy({"schema_version": 1, "name": "mine", "rules": [{
        "id": "mine.mtu_only", "title": "t", "severity": "low", "rationale": "r", "remediation": {"text": "x"},
        "scope": "boot", "check": "interface_drift", "parameters": {"attributes": ["mtu"]}}]})
    doc = host(boot_interfaces=eth0_boot(mtu=9000, enabled=False))
    found = failing(doc, policy)
    assert [(f["expected"], f["actual"]) for f in found] == [({"mtu": 9000}, {"mtu": 1500})]
    assert engine.required_subsets(policy)["gather_subset"] == ["boot", "links"]


# ---------------------------------------------------------------- sysctls at boot
def test_effective_drift_uses_the_kernels_combining_rule():
    """rp_filter is MAX(all, iface): a file lowering only eth0 drifts only when conf/all is low too."""
    doc = host(boot_interfaces=eth0_boot())
    doc["boot"]["sysctl"] = {"net.ipv4.conf.eth0.rp_filter": sysctl(0)}
    # conf/all keeps the kernel's 0: eth0 drifts; lo has no input from a file: not judged
    found = failing(doc, rule="boot.sysctl_drift")
    assert [(f["interface"], f["expected"], f["actual"]) for f in found] == [("eth0", 0, 1)]
    assert "conf/all/rp_filter 0 (kernel default)" in found[0]["detail"]
    doc["boot"]["sysctl"]["net.ipv4.conf.all.rp_filter"] = sysctl(1, 2)
    assert failing(doc, rule="boot.sysctl_drift") == []  # MAX(1, 0) = 1 = runtime
    doc["boot"]["sysctl"]["net.ipv4.conf.all.rp_filter"] = sysctl(0, 2)
    found = failing(doc, rule="boot.sysctl_drift")
    assert [(f["interface"], f["expected"], f["actual"]) for f in found] == [("eth0", 0, 1), ("lo", 0, 1)]
    assert found[0]["files"] == [CONF] and "line 2" in found[0]["detail"]


def test_or_keys_drift_when_one_side_turns_on_at_boot():
    doc = host(boot_interfaces=eth0_boot())
    doc["boot"]["sysctl"] = {"net.ipv4.conf.eth0.send_redirects": sysctl(1)}
    found = failing(doc, rule="boot.sysctl_drift")
    assert [(f["interface"], f["expected"], f["actual"]) for f in found] == [("eth0", 1, 0)]


def test_default_reaches_interfaces_created_after_sysctl_d_only():
    """networkd creates nb0 after systemd-sysctl: it copies conf/default. eth0 (a NIC) exists
    before and keeps the kernel's value, which the audit does not guess."""
    doc = host([interface("eth0"), interface("nb0", kind="bridge")],
               boot_interfaces={"eth0": record(), "nb0": record(kind="bridge")})
    doc["boot"]["sysctl"] = {"net.ipv4.conf.default.log_martians": sysctl(0),
                             "net.ipv4.conf.all.log_martians": sysctl(0, 2)}
    found = failing(doc, rule="boot.sysctl_drift")
    assert sorted(f["interface"] for f in found if "log_martians" in f["detail"]) == ["eth0", "nb0"]
    by_name = dict((f["interface"], f) for f in found if "log_martians" in f["detail"])
    assert ("conf/nb0/log_martians 0 (copied from conf/default, created after sysctl.d: %s line 1)" % CONF
            in by_name["nb0"]["detail"])
    assert "conf/eth0/log_martians 0 (kernel default, present before sysctl.d)" in by_name["eth0"]["detail"]


def test_all_forwarding_sets_every_interface_at_boot():
    doc = host(boot_interfaces=eth0_boot())
    doc["boot"]["sysctl"] = {"net.ipv4.ip_forward": sysctl(1)}
    found = dict(((f["interface"], f["detail"].split()[2]), f) for f in failing(doc, rule="boot.sysctl_drift"))
    forwarding = found[("eth0", "ipv4.forwarding")]
    assert (forwarding["expected"], forwarding["actual"]) == (1, 0)
    assert "conf/eth0/forwarding 1 (set with conf/all/forwarding: %s line 1)" % CONF in forwarding["detail"]
    # an interface that forwards combines accept_redirects with AND: kernel defaults 1 and 1
    assert found[("eth0", "ipv4.accept_redirects")]["expected"] == 1


def test_a_glob_left_unexpanded_offline_matches_the_interface():
    doc = host(boot_interfaces=eth0_boot())
    doc["boot"]["sysctl"] = {"net.ipv4.conf.*.accept_redirects": sysctl(1, glob="net.ipv4.conf.*.accept_redirects")}
    found = failing(doc, rule="boot.sysctl_drift")
    assert sorted(f["interface"] for f in found) == ["eth0", "lo"]


def test_host_keys_drift_names_the_file():
    doc = host(boot_interfaces=eth0_boot())
    doc["boot"]["sysctl"] = {"net.ipv4.tcp_syncookies": sysctl(0, 7)}
    found = failing(doc, rule="boot.sysctl_drift")
    assert [(f["interface"], f["expected"], f["actual"], f["files"]) for f in found] == [(None, 0, 1, [CONF])]


def test_sysctl_drift_without_runtime_sysctls_is_an_error():
    doc = host(boot_interfaces=eth0_boot())
    doc["gather_subset"].remove("sysctl")
    found = failing(doc, BOOT_ONLY, rule="boot.sysctl_drift")
    assert [f["status"] for f in found] == ["error"] and "gather_subset 'sysctl'" in found[0]["detail"]


# ---------------------------------------------------------------- managers, files, subset
def test_two_managers_name_both_and_the_files():
    doc = host(boot_interfaces=eth0_boot(also_configured_by=["NetworkManager"]))
    found = failing(doc, rule="boot.two_managers")
    assert [(f["interface"], f["actual"]) for f in found] == [("eth0", ["networkd", "NetworkManager"])]
    assert found[0]["files"] == ["%s/10-x.network" % NET]


def test_unreadable_boot_files_are_one_finding_each():
    doc = host(errors=[{"path": "/etc/netplan/80-bad.yaml", "reason": "invalid YAML: x"},
                       {"path": "%s/70-binary.network" % NET, "reason": "binary file (contains NUL bytes)"}])
    found = failing(doc, rule="boot.unreadable")
    assert sorted(f["files"][0] for f in found) == ["/etc/netplan/80-bad.yaml", "%s/70-binary.network" % NET]
    assert all(f["severity"] == "high" and f["interface"] is None for f in found)


def test_without_the_boot_subset_every_boot_rule_is_an_error_never_a_pass():
    doc = compliant_host()
    found = failing(doc, BOOT_ONLY)
    assert sorted(f["rule"] for f in found) == sorted(r.id for r in BOOT_ONLY.rules)
    assert all(f["status"] == "error" and "gather_subset 'boot'" in f["detail"] for f in found)


def test_the_audit_role_gathers_boot_for_a_policy_with_boot_rules():
    needs = engine.required_subsets(BOOT_ONLY)
    assert "boot" in needs["gather_subset"] and "addresses" in needs["gather_subset"]
    assert "ipv4.rp_filter" in needs["sysctl_keys"] and "net.ipv4.tcp_syncookies" in needs["sysctl_keys"]
    assert "boot" not in engine.required_subsets(load_policy("cis_network"))["gather_subset"]


# ---------------------------------------------------------------- CIS at boot
def test_cis_rule_that_passes_now_and_fails_after_a_reboot_is_a_finding():
    doc = host(boot_interfaces=eth0_boot())
    doc["boot"]["sysctl"] = {"net.ipv4.conf.all.rp_filter": sysctl(0), "net.ipv4.conf.eth0.rp_filter": sysctl(0, 2)}
    found = failing(doc, rule="boot.baseline_after_reboot")
    assert [(f["interface"], f["base_rule"], f["actual"]) for f in found] == [("eth0", "cis_network.ipv4_rp_filter", 0)]
    base = POLICY.rules_by_id["cis_network.ipv4_rp_filter"]
    assert found[0]["severity"] == base.severity and found[0]["files"] == [CONF]
    assert found[0]["boot_fix"]["persist"]["sysctls"] == {"eth0": {"ipv4": {"rp_filter": 1}},
                                                          "all": {"ipv4": {"rp_filter": 1}}}


def test_cis_rule_failing_now_is_the_runtime_finding_only():
    doc = host(boot_interfaces=eth0_boot())
    set_all(doc, "ipv4", "rp_filter", 0)
    set_sysctls(doc, "eth0", ipv4={"rp_filter": 0})
    doc["boot"]["sysctl"] = {"net.ipv4.conf.all.rp_filter": sysctl(0), "net.ipv4.conf.eth0.rp_filter": sysctl(0, 2)}
    assert failing(doc, rule="boot.baseline_after_reboot") == []
    assert [f["interface"] for f in failing(doc, rule="cis_network.ipv4_rp_filter")] == ["eth0"]


def test_cis_host_rule_at_boot():
    doc = host(boot_interfaces=eth0_boot())
    doc["boot"]["sysctl"] = {"net.ipv4.tcp_syncookies": sysctl(0)}
    found = failing(doc, rule="boot.baseline_after_reboot")
    assert [(f["interface"], f["base_rule"], f["files"]) for f in found] == [
        (None, "cis_network.tcp_syncookies", [CONF])]


def test_keys_a_network_manager_sets_per_link_are_not_guessed():
    """networkd sets accept_ra per link it manages: a conf/all file alone does not decide it."""
    doc = host(boot_interfaces=eth0_boot())
    doc["boot"]["sysctl"] = {"net.ipv6.conf.all.accept_ra": sysctl(1), "net.ipv6.conf.default.accept_ra": sysctl(1)}
    found = failing(doc, rule="boot.baseline_after_reboot")
    # conf/default is judged on its own (a host rule), eth0's accept_ra is networkd's
    assert [(f["interface"], f["base_rule"]) for f in found] == [(None, "cis_network.ipv6_accept_ra_default")]
    doc["boot"]["sysctl"]["net.ipv6.conf.eth0.accept_ra"] = sysctl(1, 3)
    assert [f["base_rule"] for f in failing(doc, rule="boot.baseline_after_reboot") if f["interface"] == "eth0"] == [
        "cis_network.ipv6_accept_ra"]


# ---------------------------------------------------------------- remediation and report
def test_remediation_plan_revert_and_persist():
    doc = host(boot_interfaces=eth0_boot(mtu=9000, addresses=["198.18.0.11/24"]))
    doc["boot"]["sysctl"] = {"net.ipv4.conf.all.rp_filter": sysctl(0), "net.ipv4.conf.eth0.rp_filter": sysctl(0, 2)}
    found = engine.evaluate_host(POLICY, "h1", [], doc, TODAY)
    plan = boot.remediation_plan(found)
    assert plan["revert"]["interfaces"] == [{"name": "eth0", "mtu": 9000}]
    assert plan["revert"]["addresses"] == [{"name": "eth0", "addresses": ["198.18.0.11/24"]}]
    assert {"name": "eth0", "ipv4": {"rp_filter": 0}} in plan["revert"]["sysctls"]
    assert plan["persist"]["interfaces"] == [{"name": "eth0", "mtu": 1500}]
    assert {"name": "all", "ipv4": {"rp_filter": 1}} in plan["persist"]["sysctls"]
    assert plan["persist_file"] == "zz-hostnet-netif-boot.conf"
    # the engine's own plan leaves drift with a machine-usable fix to the boot plan
    assert not set(engine.remediation_plan(POLICY, found)["manual"]) & {"boot.interface_drift", "boot.sysctl_drift"}


def test_boot_findings_fit_the_report_schema_and_waivers():
    doc = host(boot_interfaces=eth0_boot(mtu=9000, also_configured_by=["ifupdown"]),
               errors=[{"path": "/etc/netplan/x.yaml", "reason": "invalid YAML"}])
    doc["boot"]["sysctl"] = {"net.ipv4.conf.all.rp_filter": sysctl(0), "net.ipv4.conf.eth0.rp_filter": sysctl(0, 2)}
    waived = load_policy(["cis_network", "boot"], waivers=[{"rule": "boot.two_managers", "reason": "migration"}])
    report = engine.audit(waived, {"h1": doc, "h2": copy_doc(compliant_host())}, today=TODAY)
    jsonschema.Draft202012Validator(REPORT_SCHEMA, format_checker=jsonschema.FormatChecker()).validate(report)
    statuses = dict(((f["host"], f["rule"]), f["status"]) for f in report["findings"])
    assert statuses[("h1", "boot.two_managers")] == "waived"
    assert statuses[("h1", "boot.interface_drift")] == "fail"
    assert statuses[("h2", "boot.interface_drift")] == "error"  # h2 did not gather boot
    assert report["rules"]["boot.sysctl_drift"]["scope"] == "boot"


@pytest.mark.parametrize("rule, where", [
    ({"fact": "mtu", "expect": {"equals": 1}}, "fact"),
    ({"check": "duplicate_mac"}, "check"),
    ({"check": "sysctl_drift", "parameters": {"keys": ["ipv4.no_such"]}}, "parameters.keys[0]"),
    ({"check": "interface_drift", "parameters": {"attributes": ["colour"]}}, "parameters.attributes[0]"),
])
def test_bad_boot_rules_are_refused_naming_the_field(rule, where):
    spec = dict({"id": "mine.x", "title": "t", "severity": "low", "rationale": "r",
                 "remediation": {"text": "x"}, "scope": "boot"}, **rule)
    if "check" not in spec:
        spec["check"] = "unreadable"
    with pytest.raises(PolicyError) as info:
        load_policy({"schema_version": 1, "name": "mine", "rules": [spec]})
    assert "rules[0].%s" % where in str(info.value)


def test_every_report_format_carries_the_boot_findings(tmp_path):
    from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import reports

    doc = host(boot_interfaces=eth0_boot(mtu=9000))
    report = engine.audit(POLICY, {"h1": doc}, today=TODAY)
    paths = reports.write_reports(report, str(tmp_path), ["json", "junit", "markdown", "html"])
    for path in (paths.values() if isinstance(paths, dict) else paths):
        with open(path, encoding="utf-8") as handle:
            text = handle.read().replace("\\_", "_")  # markdown escapes underscores
        assert "boot.interface_drift" in text and "10-x.network" in text, path


def test_the_role_learns_which_setters_can_persist():
    modules = os.path.join(os.path.dirname(boot.__file__), "..", "..", "modules")
    assert boot.module_has_option(os.path.abspath(os.path.join(modules, "sysctls.py")), "persist")
    assert not boot.module_has_option(os.path.abspath(os.path.join(modules, "sysctls.py")), "no_such_option")
    assert not boot.module_has_option("/nonexistent/interfaces.py", "persist")
    assert not boot.module_has_option(None, "persist")
