"""The audit role over SSH on a lab fleet with planted deviations.

Four lab hosts are first made compliant with the cis_network baseline (their
sysctls written in each namespace), then deviations are planted:

* h0: eth0 in promiscuous mode; 198.18.K.200 also on h2; a veth whose MAC h2 also uses
* h1: conf/eth0/accept_redirects=1 while conf/all is 0 and nothing forwards
  (conf/all alone would pass: only the effective per-interface value fails)
* h2: the duplicate address and MAC above; eth0 MTU 1400 on the lab /24 where
  the others use 1500; rp_filter 0 on conf/all and conf/eth0
* h3: nothing (the clean host)

The role runs through ansible-playbook, and the JSON report must hold exactly
the findings those deviations cause (including h2's drift from group ``lab``
for mtu and rp_filter), and only passes for the rest, h3 above all.

Also runnable as a demo: ``python tests/integration/test_audit_lab.py`` (make demo).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.integration.helpers import run_playbook  # noqa: E402

PYTHON = "/usr/bin/python3"
COMPLIANT_IPV4 = {"forwarding": 0, "send_redirects": 0, "accept_redirects": 0, "secure_redirects": 0,
                  "accept_source_route": 0, "log_martians": 1, "rp_filter": 1}
COMPLIANT_HOST = {"icmp_echo_ignore_broadcasts": 1, "icmp_ignore_bogus_error_responses": 1, "tcp_syncookies": 1}
SHARED_MAC = "02:5e:00:00:be:ef"
TODAY = "2030-06-15"

# Writes /proc/sys/net values inside one namespace in one process: argv is
# pairs of (relative path, value); paths are fixed by this file, never input.
_WRITER = r"""
import sys
args = sys.argv[1:]
for path, value in zip(args[0::2], args[1::2]):
    with open("/proc/sys/net/" + path, "w") as handle:
        handle.write(value + "\n")
"""

PLAYBOOK = """
- name: Audit the lab
  hosts: lab
  gather_facts: false
  roles:
    - role: hostnet.netif.audit
"""


def write_sysctls(lab, host, values):
    argv = [PYTHON, "-c", _WRITER]
    for path, value in values:
        argv += [path, str(value)]
    lab.exec(host, argv)


def make_compliant(lab, host):
    values = []
    for name in ("default", "all", "lo", "eth0"):
        values += [("ipv4/conf/%s/%s" % (name, key), value) for key, value in COMPLIANT_IPV4.items()]
    values += [("ipv4/" + key, value) for key, value in COMPLIANT_HOST.items()]
    write_sysctls(lab, host, values)


def plant(lab):
    """Make every host compliant, then plant the deviations; return the names used."""
    h0, h1, h2 = lab.hosts[:3]
    for host in lab.hosts:
        make_compliant(lab, host)
    prefix = lab.name  # lab names are random: so are the interface names made here
    veths = {"h0": (prefix + "ma", prefix + "mb"), "h2": (prefix + "mc", prefix + "md")}
    # h0: promiscuous eth0; the shared address; a veth with the shared MAC
    lab.exec(h0, ["ip", "link", "set", "dev", "eth0", "promisc", "on"])
    shared = str(lab.subnet.network_address + 200) + "/%d" % lab.subnet.prefixlen
    lab.add_address(h0, "eth0", shared)
    lab.add_veth_pair(h0, *veths["h0"])
    lab.exec(h0, ["ip", "link", "set", "dev", veths["h0"][0], "address", SHARED_MAC])
    # h1: the per-interface override that conf/all hides
    write_sysctls(lab, h1, [("ipv4/conf/eth0/accept_redirects", 1)])
    # h2: the same address and MAC, a smaller MTU, reverse path filtering off
    lab.add_address(h2, "eth0", shared)
    lab.add_veth_pair(h2, *veths["h2"])
    lab.exec(h2, ["ip", "link", "set", "dev", veths["h2"][0], "address", SHARED_MAC])
    lab.exec(h2, ["ip", "link", "set", "dev", "eth0", "mtu", "1400"])
    write_sysctls(lab, h2, [("ipv4/conf/all/rp_filter", 0), ("ipv4/conf/eth0/rp_filter", 0)])
    return {"veths": veths, "shared": shared}


def expected_findings(lab, planted):
    h0, h1, h2, dummy = (h.name for h in lab.hosts)
    mac0, mac2 = planted["veths"]["h0"][0], planted["veths"]["h2"][0]
    return sorted([
        (h0, "cis_network.promiscuous_interfaces", "eth0", "fail"),
        (h0, "fleet.duplicate_address", "eth0", "fail"),
        (h0, "fleet.duplicate_mac", mac0, "fail"),
        (h1, "cis_network.ipv4_accept_redirects", "eth0", "fail"),
        (h2, "cis_network.ipv4_rp_filter", "eth0", "fail"),
        (h2, "fleet.drift", "eth0", "fail"),      # mtu 1400 where the group has 1500
        (h2, "fleet.drift", "eth0", "fail"),      # rp_filter 0 where the group has 1
        (h2, "fleet.duplicate_address", "eth0", "fail"),
        (h2, "fleet.duplicate_mac", mac2, "fail"),
        (h2, "fleet.mtu_mismatch", "eth0", "fail"),
    ])


def audit(lab, report_dir, today=TODAY, **extra):
    extra_vars = {"netif_audit_report_dir": str(report_dir)}
    if today:
        extra_vars["netif_audit_today"] = today
    extra_vars.update(extra)
    rc, out, err = run_playbook(lab, PLAYBOOK, extra_vars, timeout=300)
    return rc, out, err


@pytest.fixture(scope="module")
def audited(lab_factory, tmp_path_factory):
    lab = lab_factory(hosts=4)
    planted = plant(lab)
    report_dir = tmp_path_factory.mktemp("audit-lab")
    rc, out, err = audit(lab, report_dir)
    assert rc == 0, out[-4000:] + err[-4000:]
    with open(report_dir / "netif-audit.json", encoding="utf-8") as handle:
        report = json.load(handle)
    return lab, planted, report, out


def test_exactly_the_planted_deviations_are_found(audited):
    lab, planted, report, dummy = audited
    found = sorted((f["host"], f["rule"], f["interface"], f["status"]) for f in report["findings"])
    assert found == expected_findings(lab, planted)


def test_the_clean_host_passes_everything_that_applies(audited):
    lab, dummy, report, dummy2 = audited
    clean = [h for h in report["hosts"] if h["name"] == lab.hosts[3].name][0]
    assert clean["status"] == "pass"
    assert clean["counts"]["fail"] == clean["counts"]["error"] == 0
    for rule in ("cis_network.promiscuous_interfaces", "cis_network.ipv4_accept_redirects",
                 "cis_network.ipv4_rp_filter", "fleet.duplicate_address", "fleet.duplicate_mac",
                 "fleet.mtu_mismatch", "fleet.drift"):
        assert clean["rules"][rule] == "pass", rule


def test_findings_name_every_host_involved(audited):
    lab, planted, report, dummy = audited
    h0, h2 = lab.hosts[0].name, lab.hosts[2].name
    for finding in report["findings"]:
        if finding["rule"] in ("fleet.duplicate_address", "fleet.duplicate_mac"):
            assert sorted(i["host"] for i in finding["involved"]) == sorted([h0, h2])
    dup = [f for f in report["findings"] if f["rule"] == "fleet.duplicate_address"][0]
    assert dup["actual"] == planted["shared"]
    redirects = [f for f in report["findings"] if f["rule"] == "cis_network.ipv4_accept_redirects"][0]
    assert redirects["actual"] == 1 and "conf/all (0)" in redirects["detail"]


def test_every_report_is_written_and_the_summary_printed(audited):
    dummy, dummy2, report, out = audited
    assert report["summary"]["hosts"] == 4
    assert report["summary"]["result"] == "fail"
    assert "audit fail: 4 host(s)" in out and "netif-audit.html" in out


def test_fail_on_fails_the_play_after_writing_the_reports(audited, tmp_path):
    lab = audited[0]
    rc, out, err = audit(lab, tmp_path, netif_audit_fail_on="high")
    assert rc != 0
    assert "at or above severity high" in out
    assert (tmp_path / "netif-audit.html").exists()


def main():
    """make demo: build a lab, plant deviations, audit it, print where the reports are."""
    from tests.lab import Lab

    collections = ROOT / ".build" / "collections"
    link = collections / "ansible_collections" / "hostnet" / "netif"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT)
    os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(collections))
    report_dir = Path(os.environ.get("NETIF_DEMO_REPORTS", "netif-reports/demo")).resolve()
    hosts = int(os.environ.get("NETIF_DEMO_HOSTS", "8"))
    with Lab(hosts=hosts) as lab:
        planted = plant(lab)
        print("lab %s: %d hosts; planted: promiscuous eth0 (h0), accept_redirects override (h1), "
              "duplicate address %s and MAC %s (h0, h2), MTU 1400 and rp_filter 0 (h2)"
              % (lab.name, hosts, planted["shared"], SHARED_MAC))
        rc, out, err = audit(lab, report_dir, today=None)
        # the role's summary (a debug task printing a list of lines) and the recap
        summary = out.split("Show the audit summary", 1)[-1].split("\n\n", 1)[0]
        print("\n".join(line.strip().strip('",') for line in summary.splitlines()
                        if line.startswith("        ")))
        print("PLAY RECAP" + out.split("PLAY RECAP", 1)[-1].rstrip())
        if rc != 0:
            print(out[-3000:] + err[-3000:], file=sys.stderr)
            return rc
    print("reports: %s (open netif-audit.html)" % report_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())


# ---------------------------------------------------------------- remediation
def test_remediation_honours_check_mode_then_fixes(lab_factory, tmp_path):
    lab = lab_factory(hosts=1)
    host = lab.hosts[0]
    make_compliant(lab, host)
    lab.exec(host, ["ip", "link", "set", "dev", "eth0", "promisc", "on"])
    write_sysctls(lab, host, [("ipv4/conf/eth0/send_redirects", 1)])

    def failing(report_dir):
        with open(report_dir / "netif-audit.json", encoding="utf-8") as handle:
            report = json.load(handle)
        return sorted((f["rule"], f["interface"]) for f in report["findings"] if f["status"] == "fail")

    planted = [("cis_network.ipv4_send_redirects", "eth0"), ("cis_network.promiscuous_interfaces", "eth0")]
    rc, out, err = run_playbook(lab, PLAYBOOK, {"netif_audit_report_dir": str(tmp_path / "check"),
                                                "netif_audit_remediate": True,
                                                "netif_audit_remediate_persist": False}, "--check", timeout=300)
    assert rc == 0, out[-4000:] + err[-4000:]
    assert failing(tmp_path / "check") == planted
    assert lab.read_proc(host, "sys/net/ipv4/conf/eth0/send_redirects") == "1"
    assert "PROMISC" in lab.exec(host, ["ip", "link", "show", "dev", "eth0"]).stdout

    rc, out, err = run_playbook(lab, PLAYBOOK, {"netif_audit_report_dir": str(tmp_path / "fix"),
                                                "netif_audit_remediate": True,
                                                "netif_audit_remediate_persist": False}, timeout=300)
    assert rc == 0, out[-4000:] + err[-4000:]
    assert failing(tmp_path / "fix") == []
    assert lab.read_proc(host, "sys/net/ipv4/conf/eth0/send_redirects") == "0"
    assert "PROMISC" not in lab.exec(host, ["ip", "link", "show", "dev", "eth0"]).stdout
