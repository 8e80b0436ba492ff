"""Exception names are the contract with the state machine.

Every Lambda step raises one of these; Step Functions sees the class name as the error name
(``errorType``). ``TransientError`` is retried by the state machine (and ``IamAuthNotActiveError`` by the
DB steps); the others end the execution through the shared failure path (Catch ``States.ALL``) with the
class name as the execution's error and the message as its cause. Messages must tell the user what to do,
and never carry a secret. ``tests/unit/test_error_contract.py`` keeps these names and the state machines'
Retry/Catch blocks in step.
"""


class OnboardingError(Exception):
    """Base of the business errors: retrying will not help, the user has to act."""


class InvalidInputError(OnboardingError):
    """The execution input (or a stack default) is malformed or unsafe."""


class SealError(InvalidInputError):
    """A step's ``seal`` (the DB as a former step of the execution described it, sealed: ``clickpipes.seal``) does
    not verify with the stack's key: forged, edited, or sealed with another key. Raised before anything is done."""


class DbNotFoundError(OnboardingError):
    """No DB instance or cluster with that identifier in this account and region."""


class UnsupportedEngineError(OnboardingError):
    """The engine, version or DB kind has no IAM database authentication, or ClickPipes cannot use it."""


class DbStateError(OnboardingError):
    """The DB is in a state from which it will not become available on its own (stopped, deleting…)."""


class ModificationTimeoutError(OnboardingError):
    """The DB did not become available with IAM authentication on within MaxWaitSeconds."""


class AdminCredentialsError(OnboardingError):
    """The admin secret is missing, unreadable, malformed, or its credentials are refused."""


class DbConnectionError(OnboardingError):
    """The database server cannot be reached, or TLS verification failed."""


class DbPrivilegeError(OnboardingError):
    """The admin user lacks a privilege the step needs."""


class IamAuthNotActiveError(OnboardingError):
    """The server does not accept IAM users yet (MySQL error 1524: AWSAuthenticationPlugin not loaded)."""


class RoleConflictError(OnboardingError):
    """A role with the deterministic name exists but was not created for this DB."""


class PrincipalNotAllowedError(OnboardingError):
    """The ClickHouse principal is not allowed by the stack (ClickHouseRoleArn, AllowedClickHousePrincipals)."""


class ProtectedUserError(OnboardingError):
    """db_user is the master user, the admin, a reserved name, or a user with admin-class rights. Never overridable."""


class ExistingUserError(OnboardingError):
    """db_user exists, was not created by this tool, and still logs in with a password (adopt_existing_user)."""


class AccountNotAllowedError(PrincipalNotAllowedError):
    """The DB is in an AWS account this stack may not act in: neither its own nor one of MemberAccounts (with
    MemberRoleName set). Refused before any call to that account; nothing is changed."""


class PendingModificationsError(OnboardingError):
    """The DB has pending modifications that ApplyImmediately would apply now (apply_pending_modifications)."""


class OnboardingInProgressError(OnboardingError):
    """An onboarding of the same DB is already running (the API answers 409; tag events are dropped)."""


class OnboardingNotFoundError(OnboardingError):
    """No onboarding with that id (the API answers 404)."""


class ConfigurationError(Exception):
    """The stack is misconfigured (a function's environment is invalid): the operator has to fix the stack.
    Retried by nobody; ends the execution through Catch ``States.ALL``; the API answers 500 with this name."""


class TransientError(Exception):
    """Throttling, eventual consistency, a dropped connection: the state machine retries the step."""


class ClickHouseApiError(OnboardingError):
    """The ClickHouse Cloud API refused a request: the key is wrong or lacks a permission (401/403), no such
    service (404), or a request it rejects (other 4xx). Unreachable, 429 and 5xx are ``TransientError``."""


class ClickPipeRefusedError(OnboardingError):
    """CreateClickPipe will not create the pipe asked for: ``cdc`` while the onboarding's ``pipe_modes`` lack it
    (the message says why), or a request without the tables to map. Nothing is created."""


class ClickPipeFailedError(OnboardingError):
    """The ClickPipe went ``Failed`` (or ``InternalError``) while CreateClickPipe waited for it to start."""


class FleetFailedError(OnboardingError):
    """A fleet stopped: more of its DBs failed than it tolerates (``tolerated_failure_percentage``). The cause
    counts them and names the failed DBs; each one's own error is its child onboarding's (GET /onboardings/{id})."""


API_ONLY_ERRORS: tuple[type[Exception], ...] = (OnboardingNotFoundError,)
"""Raised by the API only (never by a state machine step): no Retry or Catch names them."""
