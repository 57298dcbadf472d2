"""A malformed running_config through real `ansible` runs (offline states: the
local connection is enough, no host is touched): the task fails with the field
path of the problem, never with a bare Python exception.

Before the shape check, addresses state=parsed with ``addr_info: 5`` failed with
"'int' object is not iterable", and interfaces state=parsed with ``ifname: 7``
with a TypeError from the name check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.integration.helpers import ansible_bin  # noqa: E402

LINK = {"ifname": "lo", "ifindex": 1, "flags": ["LOOPBACK", "UP"], "mtu": 65536,
        "link_type": "loopback", "addr_info": []}


def _capture(*changes):
    links = [dict(LINK), dict(LINK, ifname="v0", ifindex=2, link_type="ether")]
    for index, field, value in changes:
        links[index][field] = value
    return json.dumps(links)


CASES = [
    ("addresses", {"state": "parsed", "running_config": _capture((1, "addr_info", 5))},
     "running_config[1].addr_info: expected a list, found 5"),
    ("interfaces", {"state": "parsed", "running_config": _capture((1, "ifname", 7))},
     "running_config[1].ifname: expected a string, found 7"),
    ("interfaces", {"state": "rendered", "config": [{"name": "v0", "mtu": 1400}],
                    "running_config": _capture((0, "mtu", "big"))},
     'running_config[0].mtu: expected an integer or null, found "big"'),
    ("interface_facts", {"running_config": "[1, 2]"},
     "running_config[0]: expected a JSON object (one link of `ip -json -d addr show`), found 1"),
    ("sysctls", {"state": "parsed", "running_config": "net.ipv4.conf.v0.rp_filter = strict\n"},
     "running_config line 1: net.ipv4.conf.v0.rp_filter: expected an integer value, found 'strict'"),
]


@pytest.mark.parametrize("module, args, message", CASES,
                         ids=["%s-%s" % (case[0], case[1].get("state", "facts")) for case in CASES])
def test_malformed_running_config_names_the_field(module, args, message):
    argv = [ansible_bin("ansible"), "localhost", "-i", "localhost,", "-c", "local",
            "-e", "ansible_python_interpreter=%s" % sys.executable,
            "-m", "hostnet.netif.%s" % module, "-a", json.dumps(args)]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="False")
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    dummy, marker, body = proc.stdout.partition("localhost | FAILED! => ")
    assert marker, proc.stdout
    result = json.loads(body)
    assert result["msg"] == message
    assert "exception" not in result and "Traceback" not in proc.stdout + proc.stderr
