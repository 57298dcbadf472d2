"""Every example of README.md runs as written against a lab host, and does what it says.

An example is a fenced ``yaml`` or ``sh`` block. The line before it says what it is:

* ``<!-- example: ID -->`` -- run it; ``CHECKS[ID]`` says what must be true afterwards;
* ``<!-- not-run: why -->`` -- skipped on purpose (``make audit``, installing).

A ``yaml``/``sh`` block with neither marker, a marker without a check, or a check without
an example fails the suite, so the README cannot grow an example nobody runs.

* ``sh`` blocks: one command per line (``\\`` continues a line, ``#`` starts a comment,
  leading ``NAME=value`` words are its environment); only ``ansible`` and
  ``ansible-playbook`` commands, run as written (no shell) in a scratch directory with
  the lab's inventory as ``ANSIBLE_INVENTORY``: the lab has one host, so ``all`` is it.
* ``yaml`` blocks: a playbook (plays with ``hosts``) runs as it is; a list of tasks is
  wrapped in one play on ``all`` without fact gathering.

The examples run in README order on one lab host, like a reader following the README
(``check-diff`` uses the veth the ``setters`` example creates). Their state is checked
with ``ip -json`` and ``/proc`` inside the host's namespace and in the reports written,
never with the modules' own reading. Addresses are 198.19.0.0/16 (inside 198.18.0.0/15)
and IPv4-mapped IPv6; the lab disables IPv6 in its namespaces, so ``conf/default/
disable_ipv6`` is set to 0 for the examples that create interfaces with IPv6 addresses.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.integration.helpers import ansible_bin

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
EXAMPLE_LANGUAGES = {"yaml", "yml", "sh", "bash", "shell", "console"}
RUNNABLE = {"ansible", "ansible-playbook"}
SHELL_OPERATORS = {"|", "||", "&", "&&", ";", ">", ">>", "<", "2>", "2>&1", "$(", "`"}
MARKER = re.compile(r"^<!--\s*(?:example:\s*(?P<id>[A-Za-z0-9_.-]+)|(?P<skip>not-run)\b[^>]*?)\s*-->$")
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*(?P<lang>[^\s`]*)")


@dataclass
class Block:
    line: int          # 1-based line of the opening fence
    lang: str
    text: str
    example_id: str | None
    not_run: bool


def extract(text):
    """Fenced blocks of a Markdown text -> (blocks, problems)."""
    lines = text.splitlines()
    blocks, problems = [], []
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        fence, lang = match.group("fence"), match.group("lang").lower()
        end = index + 1
        while end < len(lines) and not (lines[end].startswith(fence[0] * len(fence))
                                        and lines[end].strip(fence[0]).strip() == ""):
            end += 1
        if end == len(lines):
            problems.append("line %d: fenced block is never closed" % (index + 1))
        before = index - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        marker = MARKER.match(lines[before].strip()) if before >= 0 else None
        block = Block(index + 1, lang, "\n".join(lines[index + 1:end]) + "\n",
                      marker.group("id") if marker else None, bool(marker and marker.group("skip")))
        if lang in EXAMPLE_LANGUAGES and not marker:
            problems.append("line %d: %s block has neither <!-- example: ID --> nor <!-- not-run: why --> "
                            "before it" % (block.line, lang))
        if marker and lang not in EXAMPLE_LANGUAGES:
            problems.append("line %d: marker before a %r block, which is not an example language"
                            % (block.line, lang))
        blocks.append(block)
        index = end + 1
    ids = [b.example_id for b in blocks if b.example_id]
    for dup in sorted(set(i for i in ids if ids.count(i) > 1)):
        problems.append("example id %r is used twice" % dup)
    return blocks, problems


def readme_examples():
    blocks, dummy = extract(README.read_text(encoding="utf-8"))
    return [b for b in blocks if b.example_id]


def commands(text):
    """The commands of an sh example: [(env assignments, argv)]."""
    result = []
    for line in text.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        env = {}
        while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
            name, dummy, value = words.pop(0).partition("=")
            env[name] = value
        bad = [w for w in words if w in SHELL_OPERATORS]
        if bad:
            raise AssertionError("README command %r uses the shell (%s): write it as one command, "
                                 "or mark the block not-run" % (line, " ".join(bad)))
        if not words or words[0] not in RUNNABLE:
            raise AssertionError("README command %r is not ansible or ansible-playbook: mark the "
                                 "block <!-- not-run: why -->" % line)
        result.append((env, words))
    return result


def playbook_text(example):
    data = yaml.safe_load(example.text)
    assert isinstance(data, list) and data and all(isinstance(item, dict) for item in data), \
        "README example %s is not a list of plays or tasks" % example.example_id
    if all("hosts" in item or "import_playbook" in item or "ansible.builtin.import_playbook" in item
           for item in data):
        return example.text
    play = {"name": "README example %s" % example.example_id, "hosts": "all", "gather_facts": False,
            "tasks": data}
    return yaml.safe_dump([play], sort_keys=False)


@dataclass
class Run:
    argv: list
    rc: int
    out: str
    err: str

    def why(self):
        return "%s -> rc %s\n%s\n%s" % (" ".join(self.argv), self.rc, self.out[-4000:], self.err[-3000:])


class Context:
    """One lab host, a scratch directory, and how to run an example there."""

    def __init__(self, lab, workdir):
        self.lab = lab
        self.host = lab.hosts[0]
        self.workdir = workdir

    def environment(self, extra=None):
        env = dict(os.environ)
        env.update(self.lab.env())
        env["ANSIBLE_LOCALHOST_WARNING"] = "False"
        env.update(extra or {})
        return env

    def _run(self, argv, env):
        proc = subprocess.run([ansible_bin(argv[0])] + list(argv[1:]), check=False, capture_output=True, text=True,
                              env=env, cwd=str(self.workdir), timeout=300, stdin=subprocess.DEVNULL)
        return Run(list(argv), proc.returncode, proc.stdout, proc.stderr)

    def run(self, example, env=None):
        """Run an example as written; a list of Run (one per command; one for a playbook)."""
        if example.lang in ("yaml", "yml"):
            path = self.workdir / ("readme-%s.yml" % example.example_id)
            path.write_text(playbook_text(example))
            return [self._run(["ansible-playbook", str(path)], self.environment(env))]
        return [self._run(argv, self.environment(dict(env or {}, **assignments)))
                for assignments, argv in commands(example.text)]

    # --- reading the host (inside its namespace, never through the modules)
    def links(self):
        return {link["ifname"]: link for link in self.lab.ip_json(self.host, "-d", "addr", "show")}

    def cidrs(self, name):
        result = set()
        for info in self.links()[name].get("addr_info", []):
            address = ipaddress.ip_address(info["local"])
            if not address.is_link_local:
                result.add("%s/%d" % (address, info["prefixlen"]))
        return result

    def conf(self, family, name, key):
        return int(self.lab.read_proc(self.host, "/proc/sys/net/%s/conf/%s/%s" % (family, name, key)))

    def set_conf(self, family, name, key, value):
        self.lab.write_proc(self.host, "/proc/sys/net/%s/conf/%s/%s" % (family, name, key), str(value))


def cidr(text):
    """``address/prefixlen`` spelled as Context.cidrs spells it (ipaddress's text)."""
    address, dummy, prefix = text.partition("/")
    return "%s/%s" % (ipaddress.ip_address(address), prefix)


def adhoc_result(ctx, run):
    """The JSON result an ad hoc command printed for the lab host, with its status."""
    lines = run.out.splitlines()
    prefix = ctx.host.name + " | "
    for number, line in enumerate(lines):
        if line.startswith(prefix) and " => " in line:
            result = json.loads("\n".join([line.split(" => ", 1)[1]] + lines[number + 1:]))
            result["_status"] = line[len(prefix):].split(" ", 1)[0]
            return result
    raise AssertionError("no result for %s in the output: %s" % (ctx.host.name, run.why()))


def recap(run, host):
    match = re.search(r"^%s\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
                      % re.escape(host), run.out, re.M)
    assert match, "no PLAY RECAP line for %s: %s" % (host, run.why())
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups())))


def only_ok(runs):
    for run in runs:
        assert run.rc == 0, run.why()
    return runs


# ---------------------------------------------------------------- what each example must do


def check_facts_adhoc(ctx, example):
    # a veth pair, so that the globs and the exclusion have something to leave out
    ctx.lab.add_veth_pair(ctx.host, "veth-x0", "veth-x1")
    try:
        default, eth, everything = only_ok(ctx.run(example))
        truth = ctx.links()
    finally:
        ctx.lab.exec(ctx.host, ["ip", "link", "del", "veth-x0"], check=False)
    facts = adhoc_result(ctx, default)["ansible_facts"]["netif"]
    assert set(facts["interfaces"]) == set(truth)
    assert facts["gather_subset"] == ["addresses", "connectivity", "links", "routes"]
    assert "%s/24" % ctx.host.ip in ["%s/%d" % (a["address"], a["prefixlen"])
                                     for a in facts["interfaces"]["eth0"]["addresses"]]
    assert "statistics" not in facts["interfaces"]["eth0"]

    facts = adhoc_result(ctx, eth)["ansible_facts"]["netif"]
    assert set(facts["interfaces"]) == set(fnmatch.filter(truth, "eth*")) == {"eth0"}

    facts = adhoc_result(ctx, everything)["ansible_facts"]["netif"]
    assert set(facts["interfaces"]) == {n for n in truth if not fnmatch.fnmatch(n, "veth*")}
    assert "veth-x0" in truth and "veth-x1" in truth
    assert {"stats", "sysctl"} <= set(facts["gather_subset"])
    assert facts["interfaces"]["eth0"]["statistics"]["rx_packets"] > 0  # the SSH session's
    assert facts["interfaces"]["eth0"]["sysctl"]["ipv4"]["rp_filter"] == ctx.conf("ipv4", "eth0", "rp_filter")


def check_facts_tasks(ctx, example):
    old = ctx.conf("ipv4", "all", "rp_filter"), ctx.conf("ipv4", "eth0", "rp_filter")
    # the kernel uses max(all, eth0): the example must show 2, not eth0's own 0
    ctx.set_conf("ipv4", "all", "rp_filter", 2)
    ctx.set_conf("ipv4", "eth0", "rp_filter", 0)
    try:
        (run,) = only_ok(ctx.run(example))
    finally:
        ctx.set_conf("ipv4", "all", "rp_filter", old[0])
        ctx.set_conf("ipv4", "eth0", "rp_filter", old[1])
    # ansible-core 2.19 prints the number, older releases the string
    assert re.findall(r'"msg": (\S+)', run.out) in (["2"], ['"2"']), run.why()


def check_setters(ctx, example):
    ctx.set_conf("ipv6", "default", "disable_ipv6", 0)  # the lab's namespaces have IPv6 off
    # "--check computes the same plan": on a fresh host the addresses/sysctls tasks plan for the
    # bridge the first task would create, say so, and nothing is created
    assert "br-lab" not in ctx.links()
    path = ctx.workdir / "readme-setters-check.yml"
    path.write_text(playbook_text(example))
    check = ctx._run(["ansible-playbook", "--check", "--diff", str(path)], ctx.environment())
    assert check.rc == 0, check.why()
    assert recap(check, ctx.host.name)["changed"] == 3, check.why()
    # (ansible prints an identical warning of two tasks once)
    assert "check mode: interface br-lab does not exist yet" in check.out + check.err, check.why()
    assert "+  addresses:" in check.out and "198.19.100.1/24" in check.out, check.why()
    assert not {"br-lab", "veth-a", "veth-b"} & set(ctx.links())
    (run,) = only_ok(ctx.run(example))
    assert recap(run, ctx.host.name)["changed"] == 3, run.why()
    links = ctx.links()
    bridge, port, peer = links["br-lab"], links["veth-a"], links["veth-b"]
    assert bridge["linkinfo"]["info_kind"] == "bridge" and "UP" in bridge["flags"]
    assert port["linkinfo"]["info_kind"] == "veth" and port["master"] == "br-lab" and "UP" in port["flags"]
    assert peer["mtu"] == 1400 and "UP" in peer["flags"]
    assert port["link"] == "veth-b" and peer["link"] == "veth-a"
    assert ctx.cidrs("br-lab") == {cidr("198.19.100.1/24"), cidr("::ffff:198.19.100.1/120")}
    assert [ctx.conf("ipv4", "br-lab", key) for key in ("rp_filter", "accept_redirects", "send_redirects")] \
        == [1, 0, 0]
    (again,) = only_ok(ctx.run(example))
    assert recap(again, ctx.host.name)["changed"] == 0, again.why()


def check_check_diff(ctx, example):
    assert ctx.links()["veth-b"]["mtu"] == 1400, "the setters example made veth-b"
    (run,) = only_ok(ctx.run(example))
    result = adhoc_result(ctx, run)
    assert result["_status"] == "CHANGED" and result["changed"] is True
    assert result["commands"] == ["link set dev veth-b mtu 9000"]
    assert "-  mtu: 1400" in run.out and "+  mtu: 9000" in run.out, run.why()
    assert ctx.links()["veth-b"]["mtu"] == 1400  # check mode changed nothing


def check_configure_role(ctx, example):
    (run,) = only_ok(ctx.run(example))
    assert recap(run, ctx.host.name)["changed"] == 3, run.why()
    bridge = ctx.links()["br-app"]
    assert bridge["linkinfo"]["info_kind"] == "bridge" and bridge["mtu"] == 9000 and "UP" in bridge["flags"]
    assert ctx.cidrs("br-app") == {cidr("198.19.101.1/24")}
    assert (ctx.conf("ipv4", "br-app", "arp_ignore"), ctx.conf("ipv4", "br-app", "arp_announce")) == (1, 2)
    (again,) = only_ok(ctx.run(example))
    assert recap(again, ctx.host.name)["changed"] == 0, again.why()


def read_report(directory):
    with open(os.path.join(str(directory), "netif-audit.json"), encoding="utf-8") as handle:
        return json.load(handle)


def check_audit_playbook(ctx, example):
    reports = ctx.workdir / "netif-reports"
    plain, fail_on_high = only_ok(ctx.run(example))
    assert sorted(os.listdir(reports)) == ["netif-audit.html", "netif-audit.json", "netif-audit.junit.xml",
                                           "netif-audit.md"]
    report = read_report(reports)
    assert [h["name"] for h in report["hosts"]] == [ctx.host.name]
    # rc 0 with fail_on=high: nothing failing at high or above
    assert report["summary"]["failed_by_severity"]["high"] == 0
    assert report["summary"]["failed_by_severity"]["critical"] == 0
    # the rp_filter findings are the kernel's effective values: max(conf/all, conf/<interface>)
    failing = {f["interface"] for f in report["findings"]
               if f["rule"] == "cis_network.ipv4_rp_filter" and f["status"] == "fail"}
    for name in ctx.links():
        if name == "lo":  # the rule leaves loopback out
            continue
        effective = max(ctx.conf("ipv4", "all", "rp_filter"), ctx.conf("ipv4", name, "rp_filter"))
        assert (name in failing) == (effective < 1), (name, effective, failing)
    assert "br-lab" not in failing  # the setters example set it to 1
    assert "audit " in plain.out and "HTML report: %s" % (reports / "netif-audit.html") in plain.out


def check_audit_role(ctx, example):
    routers = ctx.workdir / "routers.ini"
    routers.write_text("[routers]\n%s\n" % ctx.host.name)
    ctx.lab.write_proc(ctx.host, "/proc/sys/net/ipv4/conf/all/forwarding", "1")  # every interface forwards
    try:
        (run,) = only_ok(ctx.run(example, env={"ANSIBLE_INVENTORY": "%s,%s" % (ctx.lab.inventory, routers)}))
    finally:
        ctx.lab.write_proc(ctx.host, "/proc/sys/net/ipv4/conf/all/forwarding", "0")
    reports = ctx.workdir / "reports"  # {{ playbook_dir }}/reports
    assert sorted(os.listdir(reports)) == ["netif-audit.html", "netif-audit.json"]
    report = read_report(reports)
    forwarding = [f for f in report["findings"] if f["rule"] == "cis_network.ipv4_forwarding"]
    assert {f["interface"] for f in forwarding} >= {"eth0", "br-lab", "veth-a"}
    assert {f["status"] for f in forwarding} == {"waived"}
    assert all(f["waiver"]["reason"] == "routers forward by design" for f in forwarding)


def check_audit_offline(ctx, example):
    cache = ctx.workdir / "fact-cache"
    reports = ctx.workdir / "netif-reports"
    if reports.exists():
        for name in os.listdir(reports):
            os.unlink(reports / name)
    gather, audit = only_ok(ctx.run(example))
    assert [name for name in os.listdir(cache) if ctx.host.name in name], os.listdir(cache)
    # the audit ran on the controller alone: no task on the lab host
    assert recap(audit, "localhost")["failed"] == 0
    assert not re.search(r"^%s\s*:" % re.escape(ctx.host.name), audit.out, re.M), audit.why()
    report = read_report(reports)
    assert [h["name"] for h in report["hosts"]] == [ctx.host.name]
    # what the README gathers is everything the default policy needs: no error finding
    assert report["summary"]["findings"]["error"] == 0, report["summary"]
    assert report["summary"]["findings"]["fail"] > 0  # the lab host is not hardened


CHECKS = {
    "facts-adhoc": check_facts_adhoc,
    "facts-tasks": check_facts_tasks,
    "setters": check_setters,
    "check-diff": check_check_diff,
    "configure-role": check_configure_role,
    "audit-playbook": check_audit_playbook,
    "audit-role": check_audit_role,
    "audit-offline": check_audit_offline,
}


# ---------------------------------------------------------------- tests


def test_readme_examples_are_marked_and_each_has_a_check():
    blocks, problems = extract(README.read_text(encoding="utf-8"))
    assert not problems, "README.md: " + "; ".join(problems)
    ids = [b.example_id for b in blocks if b.example_id]
    assert sorted(ids) == sorted(CHECKS), "README example ids and CHECKS differ: add a check (or an example)"
    # the make block stays first, and is skipped on purpose
    assert blocks[0].not_run and "make audit" in blocks[0].text and "make test" in blocks[0].text
    for block in blocks:
        if block.lang in ("sh", "bash", "shell", "console") and block.example_id:
            assert commands(block.text), "empty sh example %s" % block.example_id


def test_extract_finds_unmarked_and_misplaced_markers():
    text = ("# t\n\n<!-- not-run: no -->\n```sh\nmake x\n```\n\n```yaml\n- a: 1\n```\n\n"
            "<!-- example: x -->\n```text\nlayout\n```\n<!-- example: y -->\n\n```yaml\n- b: 2\n```\n"
            "<!-- example: y -->\n```sh\nansible all -m ping\n```\n")
    blocks, problems = extract(text)
    assert [(b.lang, b.example_id, b.not_run) for b in blocks] == [
        ("sh", None, True), ("yaml", None, False), ("text", "x", False), ("yaml", "y", False), ("sh", "y", False)]
    assert problems == ["line 8: yaml block has neither <!-- example: ID --> nor <!-- not-run: why --> before it",
                        "line 13: marker before a 'text' block, which is not an example language",
                        "example id 'y' is used twice"]


def test_commands_parse_env_continuations_and_refuse_the_shell():
    assert commands("A=1 B=x \\\n  ansible all -m m -a 'k=v w'   # comment\n\nansible-playbook p.yml\n") == [
        ({"A": "1", "B": "x"}, ["ansible", "all", "-m", "m", "-a", "k=v w"]),
        ({}, ["ansible-playbook", "p.yml"])]
    with pytest.raises(AssertionError, match="not-run"):
        commands("make audit\n")
    with pytest.raises(AssertionError, match="uses the shell"):
        commands("ansible all -m ping | tee x\n")


@pytest.fixture(scope="module")
def context(lab_factory, tmp_path_factory):
    return Context(lab_factory(hosts=1), tmp_path_factory.mktemp("readme"))


@pytest.mark.parametrize("example", readme_examples(), ids=lambda e: e.example_id)
def test_readme_example(context, example):
    assert example.example_id in CHECKS, "no check for README example %s" % example.example_id
    CHECKS[example.example_id](context, example)
