"""Step ResolveAudit: which DBs to audit, each with its account and region. Changes nothing.

The input's ``db_identifiers`` (an identifier: the stack's own account and region; an ARN: its own), else every DB
tagged clickpipes:status=ready and every DB a role of this tool (path /clickpipes/, tag clickpipes:db-arn) names
that no longer exists (its role is an orphan), in every (account, region) the audit covers: ``accounts`` x
``regions``, by default this account and MemberAccounts x AuditRegions (the stack's own region when empty). Each
pair is listed through its own client (``clients.client_in``); an account outside the stack's own and
MemberAccounts is AccountNotAllowedError before any call."""

from __future__ import annotations

from collections.abc import Callable

from clickpipes import rules
from clickpipes.audit_models import AuditInput, AuditItem, AuditPlan
from clickpipes.errors import ConfigurationError
from clickpipes.settings import AuditResolveSettings
from clickpipes.steps.audit_ports import AuditIam, AuditRds

Key = tuple[str, str, rules.DbKind | None, str]  # account, region, kind, identifier


def check_audit_request(request: AuditInput, *, settings: AuditResolveSettings) -> list[AuditItem]:
    """Everything checkable without AWS (the API answers 400 and 403 on it): the named DBs and the accounts."""
    for account in request.accounts or []:
        settings.check_account(account)
    items: dict[Key, AuditItem] = {}
    for reference in request.db_identifiers or []:
        kind, identifier, _ = rules.parse_db_reference(reference)
        account, region = rules.place_of_arn(reference) or (_home(settings), settings.region)
        settings.check_account(account)
        items.setdefault(
            (account, region, kind, identifier),
            AuditItem(db_identifier=identifier, kind=kind, account=account, region=region),
        )
    return list(items.values())


def audit_pairs(request: AuditInput, *, settings: AuditResolveSettings) -> list[tuple[str, str]]:
    """The (account, region) pairs the audit lists: the input's accounts x regions, else every one it serves."""
    accounts = request.accounts or settings.served_accounts()
    regions = request.regions or settings.served_regions()
    return [(account, region) for account in dict.fromkeys(accounts) for region in dict.fromkeys(regions)]


def resolve_audit(
    request: AuditInput,
    *,
    rds: Callable[[str, str], AuditRds],
    iam: Callable[[str], AuditIam],
    settings: AuditResolveSettings,
) -> AuditPlan:
    """``rds(account, region)``, ``iam(account)``: the RDS of a pair, the IAM of an account (IAM is global: its
    roles are listed once per account, whatever the regions)."""
    named = check_audit_request(request, settings=settings)
    if request.db_identifiers is not None:
        items = [
            item.model_copy(update={"role_name": rules.role_name(item.kind, item.db_identifier, item.region)})
            if item.kind
            else item
            for item in named
        ]
        return AuditPlan(items=items, repair=request.repair, delete_orphans=request.delete_orphans)
    pairs = audit_pairs(request, settings=settings)
    items = []
    existing: set[Key] = set()
    for account, region in pairs:
        for kind, identifier, tags in rds(account, region).list_dbs():
            existing.add((account, region, kind, identifier))
            if tags.get(rules.STATUS_TAG) == "ready":
                items.append(
                    AuditItem(
                        db_identifier=identifier,
                        kind=kind,
                        account=account,
                        region=region,
                        role_name=rules.role_name(kind, identifier, region),
                    )
                )
    for account in dict.fromkeys(account for account, _ in pairs):
        roles = iam(account)
        for name in roles.list_role_names(rules.ROLE_PATH):
            role = roles.get_role(name)
            db_arn = (role.tags if role else {}).get(rules.DB_ARN_TAG, "")
            db, place = rules.db_of_arn(db_arn), rules.place_of_arn(db_arn)
            if db is None or place is None or place[0] != account or place not in pairs:
                continue  # not a role this tool made for a DB of this account, or of a region not audited
            if (*place, *db) not in existing:
                items.append(
                    AuditItem(db_identifier=db[1], kind=db[0], account=account, region=place[1], role_name=name)
                )
    return AuditPlan(items=items, repair=request.repair, delete_orphans=request.delete_orphans)


def _home(settings: AuditResolveSettings) -> str:
    if not settings.home_account:
        raise ConfigurationError("The function's configuration is invalid (HOME_ACCOUNT unset): check the stack.")
    return settings.home_account
