"""Network-namespace + sshd test lab for the hostnet.netif collection (stdlib only).

See tests/lab/README.md.  Typical use::

    from tests.lab import Lab
    with Lab(hosts=2) as lab:
        print(lab.inventory, [h.ip for h in lab.hosts])
"""

from .lab import (  # noqa: F401
    CommandError,
    Host,
    Lab,
    LabError,
    check_address,
    list_labs,
    reap,
    state_dir,
)

__all__ = ["CommandError", "Host", "Lab", "LabError", "check_address", "list_labs", "reap", "state_dir"]
