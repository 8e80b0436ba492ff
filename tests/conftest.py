"""Test suites: unit (no network, moto), integration (real local DB servers), e2e (the real state machine on
the local world), sam_local (containers). Fixtures for the local DB servers come from tests/dbs."""

pytest_plugins = ["tests.dbs.pytest_plugin"]
