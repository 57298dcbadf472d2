# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Normalisation of user-spelled values with netaddr (controller side).

Every function returns the canonical spelling the target compares against
(the reader's spelling) or raises :class:`NormalizeError` naming the field.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import netaddr
    HAS_NETADDR = True
    NETADDR_IMPORT_ERROR = None
except ImportError as exc:
    HAS_NETADDR = False
    NETADDR_IMPORT_ERROR = exc


class NormalizeError(ValueError):
    """``path`` (config[0].mac) and why the value cannot be used."""

    def __init__(self, path, message):
        self.path = path
        self.message = message
        super(NormalizeError, self).__init__("%s: %s" % (path, message))


def _need_netaddr():
    if not HAS_NETADDR:
        raise RuntimeError("the netaddr Python library is needed on the controller: %s"
                           % NETADDR_IMPORT_ERROR)


def mac(value, path):
    """Any EUI-48 spelling -> lowercase colon form; unicast and non-zero only.

    Accepts ``00:11:22:33:44:55``, ``00-11-22-33-44-55``, ``0011.2233.4455``,
    ``001122334455`` (any case).
    """
    _need_netaddr()
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise NormalizeError(path, "expected a MAC address, found %r" % (value,))
    try:
        eui = netaddr.EUI(value)
    except (netaddr.AddrFormatError, TypeError, ValueError):
        raise NormalizeError(path, "expected a MAC address like 02:00:5e:10:00:01, found %r" % (value,))
    if eui.version != 48:
        raise NormalizeError(path, "expected a 48-bit MAC address, found %r" % (value,))
    eui.dialect = netaddr.mac_unix_expanded
    text = str(eui).lower()
    if int(eui) == 0:
        raise NormalizeError(path, "the all-zero MAC %s cannot be assigned" % text)
    if eui.words[0] & 1:
        raise NormalizeError(path, "%s is a multicast/broadcast MAC; an interface needs a "
                                   "unicast one (first octet even)" % text)
    return text


def ip_address(value, path):
    """An IPv4/IPv6 address (no prefix) -> canonical text (RFC 5952 for IPv6)."""
    _need_netaddr()
    if not isinstance(value, str) or "/" in value or value != value.strip() or not value:
        raise NormalizeError(path, "expected an IP address without prefix, found %r" % (value,))
    try:
        address = netaddr.IPAddress(value, flags=netaddr.INET_PTON)
    except (netaddr.AddrFormatError, TypeError, ValueError):
        raise NormalizeError(path, "expected an IP address, found %r" % (value,))
    return _ip_text(address)


def _ip_text(address):
    if address.version == 6:
        return str(address.format(netaddr.ipv6_compact))
    return str(address)


def interface_cidr(value, path):
    """``address/prefix`` or ``address/dotted-netmask`` -> ``address/prefixlen``.

    The host part is kept (``198.18.1.1/255.255.255.0`` -> ``198.18.1.1/24``);
    any IPv6 spelling becomes RFC 5952 text; an address without a prefix is an
    error (say /32 or /128 explicitly).
    """
    _need_netaddr()
    if not isinstance(value, str) or value != value.strip() or value.count("/") != 1:
        raise NormalizeError(path, "expected address/prefixlen (for example 198.18.1.1/24), "
                                   "found %r" % (value,))
    address_text, dummy, mask = value.partition("/")
    try:
        address = netaddr.IPAddress(address_text, flags=netaddr.INET_PTON)
    except (netaddr.AddrFormatError, TypeError, ValueError):
        raise NormalizeError(path, "expected address/prefixlen, found %r" % (value,))
    limit = 32 if address.version == 4 else 128
    if mask.isdigit() and len(mask) <= 3:
        prefixlen = int(mask)
        if prefixlen > limit:
            raise NormalizeError(path, "prefix length must be 0..%d, found %d" % (limit, prefixlen))
    elif address.version == 4 and mask.count(".") == 3:
        try:
            mask_ip = netaddr.IPAddress(mask, flags=netaddr.INET_PTON)
        except (netaddr.AddrFormatError, TypeError, ValueError):
            raise NormalizeError(path, "invalid netmask %r in %r" % (mask, value))
        if mask_ip.version != 4 or not mask_ip.is_netmask():
            raise NormalizeError(path, "netmask %s is not contiguous" % mask)
        prefixlen = mask_ip.netmask_bits()
    else:
        raise NormalizeError(path, "invalid prefix length or netmask %r in %r" % (mask, value))
    # IPNetwork computes the same prefix: the one netaddr parse of the whole value
    parsed = netaddr.IPNetwork("%s/%d" % (address, prefixlen))
    return "%s/%d" % (_ip_text(parsed.ip), parsed.prefixlen)


def network(value, path):
    """A network -> canonical ``network/prefixlen`` (host bits cleared)."""
    text = interface_cidr(value, path)
    cidr = netaddr.IPNetwork(text).cidr
    return "%s/%d" % (_ip_text(cidr.ip), cidr.prefixlen)
