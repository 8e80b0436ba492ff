"""TLS settings for both drivers, verified against the CA bundle by default."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from typing import Literal

from clickpipes.errors import DbConnectionError

RDS_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"


@dataclass(frozen=True)
class Tls:
    mode: Literal["verify-full", "require"]
    ca_bundle: str

    def check_bundle(self) -> None:
        if self.mode == "verify-full" and not os.path.isfile(self.ca_bundle):
            raise DbConnectionError(
                f"CA bundle {self.ca_bundle} not found, so the database's certificate cannot be verified: "
                f"run `make ca-bundle` (downloads {RDS_BUNDLE_URL} into functions/db/) before `sam build`, "
                "or set the stack parameter DbCaBundle to a CA file the function has."
            )

    def libpq(self) -> dict[str, str]:
        if self.mode == "verify-full":
            return {"sslmode": "verify-full", "sslrootcert": self.ca_bundle}
        return {"sslmode": "require"}

    def ssl_context(self) -> ssl.SSLContext:
        if self.mode == "verify-full":
            ctx = ssl.create_default_context(cafile=self.ca_bundle)
            ctx.check_hostname = True
            ctx.verify_mode = ssl.CERT_REQUIRED
            return ctx
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # "require": encrypted, not verified (explicit stack choice)
        return ctx
