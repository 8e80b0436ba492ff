"""Onboarding of RDS / Aurora databases to ClickHouse ClickPipes with IAM database authentication.

Layout (shared by every Lambda step through the CommonLayer):
- ``errors``   exception names: the contract with the state machine (``ErrorEquals``).
- ``models``   models (msgspec Structs) of every step's input and output.
- ``rules``    pure domain rules: supported engines, DB states, names, ARNs, policies, pipe modes.
- ``steps``    one module per workflow step; logic only, talks to AWS through ``aws`` gateways.
- ``aws``      the only code that touches boto3.
- ``settings`` environment of each function, as models.
"""
