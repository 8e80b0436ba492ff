"""Step ResolveFleet: which DBs a fleet onboards, each with its child onboarding's name. Changes nothing.

The selector is ``db_identifiers`` (each must exist) or ``tag`` (every DB carrying it), narrowed by ``engines``,
``regions`` and ``accounts``; the onboarding fields are checked once, as each DB's onboarding would check them."""

from __future__ import annotations

import hashlib

from clickpipes import rules
from clickpipes.errors import DbNotFoundError, InvalidInputError
from clickpipes.fleet_models import MAX_FLEET, DbListing, FleetInput, FleetItem, FleetPlan
from clickpipes.fleet_settings import FleetSettings
from clickpipes.models import OnboardingInput
from clickpipes.steps.fleet_ports import FleetRds
from clickpipes.steps.shared import check_request, db_reference


def child_name(fleet_execution: str, identifier: str) -> str:
    """``<db identifier>--<12 hex>`` (an onboarding id): the same fleet execution names the same child again."""
    return f"{identifier}--{hashlib.sha256(f'{fleet_execution}/{identifier}'.encode()).hexdigest()[:12]}"


def check_fleet_request(request: FleetInput, *, settings: FleetSettings) -> list[tuple[rules.DbKind | None, str]]:
    """Everything checkable without AWS (the API answers 400/403 on it): the named DBs, and the onboarding fields
    as every DB's onboarding checks them (allowlist, protected users, reserved names)."""
    named = [db_reference(reference, settings=settings) for reference in request.db_identifiers or []]
    probe = named[0][1] if named else "fleet-check"
    check_request(OnboardingInput(db_identifier=probe, **request.defaults()), settings=settings)
    return list(dict.fromkeys(named))


def resolve_fleet(request: FleetInput, *, rds: FleetRds, settings: FleetSettings, execution_name: str) -> FleetPlan:
    named = check_fleet_request(request, settings=settings)
    listed = rds.list_dbs()
    if request.db_identifiers is not None:
        chosen = _named(named, listed)
    else:
        assert request.tag is not None  # the model requires one selector
        chosen = [db for db in listed if db.tags.get(request.tag.key) == request.tag.value]
    chosen, warnings = _narrowed(chosen, request)
    if not chosen:
        raise InvalidInputError(
            f"The selector matches no DB this stack can onboard (account and region {settings.region} of the "
            "stack, supported engines): nothing was started."
        )
    if len(chosen) > MAX_FLEET:
        raise InvalidInputError(f"The selector matches {len(chosen)} DBs; a fleet takes at most {MAX_FLEET}: split it.")
    items = [
        FleetItem(
            db_identifier=db.identifier,
            arn=db.arn,
            kind=db.kind,
            engine=db.engine,
            execution_name=child_name(execution_name, db.identifier),
        )
        for db in chosen
    ]
    defaults = request.defaults() | {"requested_by": request.requested_by}
    return FleetPlan(
        items=items,
        defaults=defaults,
        max_concurrency=request.max_concurrency or settings.max_concurrency,
        tolerated_failure_percentage=(
            settings.tolerated_failure_percentage
            if request.tolerated_failure_percentage is None
            else request.tolerated_failure_percentage
        ),
        plan_only=bool(defaults.get("plan_only", False)),
        warnings=warnings,
    )


def _named(named: list[tuple[rules.DbKind | None, str]], listed: list[DbListing]) -> list[DbListing]:
    chosen: list[DbListing] = []
    missing: list[str] = []
    for kind, identifier in named:
        found = [db for db in listed if db.identifier == identifier and kind in (None, db.kind)]
        if not found:
            missing.append(identifier)
        elif len(found) > 1:
            raise InvalidInputError(
                f"'{identifier}' is both a DB instance and a DB cluster: name it by its ARN. Nothing was started."
            )
        else:
            chosen.append(found[0])
    if missing:
        raise DbNotFoundError(
            f"No DB instance or cluster (cluster members are onboarded with their cluster) named {', '.join(missing)} "
            "in this account and region: nothing was started."
        )
    return list({db.arn: db for db in chosen}.values())


def _narrowed(chosen: list[DbListing], request: FleetInput) -> tuple[list[DbListing], list[str]]:
    """Only the engines, regions and accounts asked for; unsupported engines are left out with a warning."""
    kept: list[DbListing] = []
    warnings: list[str] = []
    for db in chosen:
        match = rules.DB_ARN_PATTERN.fullmatch(db.arn)
        region, account = (match["region"], match["account"]) if match else ("", "")
        if request.engines is not None and db.engine not in request.engines:
            continue
        if (request.regions is not None and region not in request.regions) or (
            request.accounts is not None and account not in request.accounts
        ):
            continue
        if db.engine not in rules.SUPPORTED_ENGINES:
            warnings.append(f"{db.identifier}: engine {db.engine} is not supported by ClickPipes IAM auth; left out.")
            continue
        kept.append(db)
    return kept, warnings
