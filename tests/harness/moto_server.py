"""moto's server with the local world's RDS rules (tests/harness/rds_rules.py): what `sam local invoke` talks to.

The containers reach AWS over HTTP, so the rules RDS documents (engine versions and their families, each family's
parameter catalogue, statuses, reboots, pending modifications) must hold in the server process too, as they do in
LocalWorld and in the unit tests. Usage: ``python -m tests.harness.moto_server -H HOST -p PORT`` (moto_server's
arguments).
"""

from __future__ import annotations

import sys

from moto.server import main

from tests.harness.rds_rules import applied

if __name__ == "__main__":
    with applied():
        main(sys.argv[1:])
