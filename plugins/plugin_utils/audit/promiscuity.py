# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Say where an interface's unexplained promiscuity comes from (finding details).

The facts give the kernel's counter (``promiscuity``), what the topology
explains (``promiscuity_explained``, ``promisc_explained_by``), whether the
administrator asked for it (``promisc_requested``) and, with subset
``packet_sockets``, which sockets hold a PACKET_MR_PROMISC membership.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.factpath import MISSING

# fact paths whose failures get this explanation
FACTS = frozenset(("promiscuity_unexplained", "promiscuity", "promisc"))


def _holders(sockets):
    parts = []
    for entry in sockets:
        who = ", ".join("pid %s (%s)" % (p.get("pid"), p.get("comm")) for p in entry.get("processes") or ())
        parts.append("socket inode %s held by %s" % (entry.get("inode"), who or "no process found"))
    return "; ".join(parts)


def unknown(value):
    """The error detail when the facts cannot tell (None: they can)."""
    if value is None or value is MISSING:
        return ("the facts lack the kernel's promiscuity counter (gathered without ip -d, or by "
                "hostnet.netif 0.1.0): gather again with hostnet.netif.interface_facts")
    return None


def explain(name, iface):
    """One sentence for the finding detail of a promiscuous interface."""
    promiscuity = iface.get("promiscuity") or 0
    explained = iface.get("promiscuity_explained") or 0
    reasons = iface.get("promisc_explained_by") or []
    text = "the kernel counts promiscuity %d" % promiscuity
    if explained:
        text += ", %d explained by the topology (%s)" % (explained, ", ".join(reasons))
    rest = max(iface.get("promiscuity_unexplained") or 0, 0)
    requested = 1 if iface.get("promisc_requested") else 0
    causes = []
    if requested:
        causes.append("promiscuous mode was requested (ip link set dev %s promisc on): turn it "
                      "off, or waive the rule for this interface if it is intended" % name)
    others = rest - requested
    sockets = iface.get("packet_sockets")
    if others > 0 or (sockets and any(s.get("promisc") for s in sockets)):
        holding = [s for s in sockets or () if s.get("promisc")]
        if holding:
            causes.append("packet sockets with a promiscuous membership: %s" % _holders(holding))
        else:
            where = ("ss -0 -p, or match the inodes in /proc/net/packet (Iface %s) to the "
                     "socket:[inode] links in /proc/<pid>/fd" % iface.get("index"))
            if sockets is None:
                where += ", or gather subset packet_sockets"
            causes.append("%d not requested: a packet socket joined PACKET_MR_PROMISC (as "
                          "tcpdump and libpcap do) or another kernel user holds it; find the "
                          "process with %s" % (others, where))
    if causes:
        text += "; " + "; ".join(causes)
    return text
