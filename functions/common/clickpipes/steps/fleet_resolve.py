"""Step ResolveFleet: which DBs a fleet onboards, each with its child onboarding's name. Changes nothing.

The selector is ``db_identifiers`` (each must exist) or ``tag`` (every DB carrying it), narrowed by ``engines``,
``regions`` and ``accounts``; the onboarding fields are checked once, as each DB's onboarding would check them.
The DBs are listed in every (account, region) pair the selector names (defaults: the stack's own account and
region; a named DB ARN adds its own pair), each through its own client (``accounts`` beyond the stack's own and
MemberAccounts: AccountNotAllowedError, nothing listed)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from clickpipes import rules
from clickpipes.errors import DbNotFoundError, InvalidInputError
from clickpipes.fleet_models import MAX_FLEET, DbListing, FleetInput, FleetItem, FleetPlan
from clickpipes.fleet_settings import FleetSettings
from clickpipes.models import OnboardingInput
from clickpipes.steps.fleet_ports import FleetRds
from clickpipes.steps.shared import check_request, db_reference

Named = tuple[rules.DbKind | None, str, tuple[str, str] | None]  # kind, identifier, the ARN's (account, region)


def child_name(fleet_execution: str, identifier: str, place: str = "") -> str:
    """``<db identifier>--<12 hex>`` (an onboarding id): the same fleet execution names the same child again
    (``place``: ``<account>/<region>`` of a DB outside the stack's own account and region)."""
    seed = f"{fleet_execution}/{place}/{identifier}" if place else f"{fleet_execution}/{identifier}"
    return f"{identifier}--{hashlib.sha256(seed.encode()).hexdigest()[:12]}"


def check_fleet_request(request: FleetInput, *, settings: FleetSettings) -> list[Named]:
    """Everything checkable without AWS (the API answers 400/403 on it): the named DBs, the accounts, and the
    onboarding fields as every DB's onboarding checks them (allowlist, protected users, reserved names)."""
    named: list[Named] = []
    for reference in request.db_identifiers or []:
        kind, identifier = db_reference(reference, settings=settings)
        named.append((kind, identifier, rules.place_of_arn(reference)))
    for account in request.accounts or []:
        settings.check_account(account)
    probe = named[0][1] if named else "fleet-check"
    check_request(OnboardingInput(db_identifier=probe, **request.defaults()), settings=settings)
    return list(dict.fromkeys(named))


def fleet_pairs(request: FleetInput, named: list[Named], *, settings: FleetSettings) -> list[tuple[str, str]]:
    """The (account, region) pairs to list: the selector's accounts x regions (defaults: the stack's own), and
    the pair of each named DB ARN; without a plain identifier among the named DBs, only the ARNs' pairs."""
    accounts = request.accounts or [settings.home_account]
    regions = request.regions or [settings.region]
    pairs = [(a, r) for a in accounts for r in regions]
    if request.db_identifiers is not None and all(where for _, _, where in named):
        pairs = []
    pairs += [where for _, _, where in named if where]
    return list(dict.fromkeys(pairs))


def resolve_fleet(
    request: FleetInput, *, rds: Callable[[str, str], FleetRds], settings: FleetSettings, execution_name: str
) -> FleetPlan:
    """``rds(account, region)``: the RDS of one pair (``clients.client_in``); O(pages) calls per pair."""
    named = check_fleet_request(request, settings=settings)
    pairs = fleet_pairs(request, named, settings=settings)
    listed = [db for account, region in pairs for db in rds(account, region).list_dbs()]
    if request.db_identifiers is not None:
        chosen = _named(named, listed)
    else:
        assert request.tag is not None  # the model requires one selector
        chosen = [db for db in listed if db.tags.get(request.tag.key) == request.tag.value]
    chosen, warnings = _narrowed(chosen, request)
    if not chosen:
        raise InvalidInputError(
            "The selector matches no DB this stack can onboard (in the accounts and regions it names, by default "
            f"the stack's own, {settings.region}; supported engines): nothing was started."
        )
    if len(chosen) > MAX_FLEET:
        raise InvalidInputError(f"The selector matches {len(chosen)} DBs; a fleet takes at most {MAX_FLEET}: split it.")
    items = [
        FleetItem(
            db_identifier=db.identifier,
            arn=db.arn,
            kind=db.kind,
            engine=db.engine,
            execution_name=child_name(execution_name, db.identifier, _place(db, settings)),
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


def _place(db: DbListing, settings: FleetSettings) -> str:
    """``<account>/<region>`` of a DB outside the stack's own account and region, else ""."""
    account, region = _where(db.arn)
    return "" if settings.is_home(account) and region == settings.region else f"{account}/{region}"


def _named(named: list[Named], listed: list[DbListing]) -> list[DbListing]:
    chosen: list[DbListing] = []
    missing: list[str] = []
    for kind, identifier, where in named:
        found = [
            db
            for db in listed
            if db.identifier == identifier and kind in (None, db.kind) and where in (None, _where(db.arn))
        ]
        if not found:
            missing.append(identifier)
        elif len(found) > 1:
            raise InvalidInputError(
                f"'{identifier}' names {len(found)} DBs (an instance and a cluster, or DBs in several accounts or "
                "regions): name it by its ARN. Nothing was started."
            )
        else:
            chosen.append(found[0])
    if missing:
        raise DbNotFoundError(
            f"No DB instance or cluster (cluster members are onboarded with their cluster) named {', '.join(missing)} "
            "in this account and region: nothing was started."
        )
    return list({db.arn: db for db in chosen}.values())


def _where(arn: str) -> tuple[str, str]:
    """(account, region) of a listed DB's ARN (RDS's own: always a DB ARN)."""
    return rules.place_of_arn(arn) or ("", "")


def _narrowed(chosen: list[DbListing], request: FleetInput) -> tuple[list[DbListing], list[str]]:
    """Only the engines, regions and accounts asked for; unsupported engines are left out with a warning."""
    kept: list[DbListing] = []
    warnings: list[str] = []
    for db in chosen:
        account, region = _where(db.arn)
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
