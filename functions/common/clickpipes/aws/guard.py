"""The one-at-a-time guard: a DynamoDB item per DB names the execution that holds it (conditional writes).

O(1) calls per DB whatever else runs: one PutItem when the DB is free (or already ours); when another execution
holds it, one DescribeExecution of that holder, and one more PutItem to take it over if the holder no longer
runs (finished, failed, stopped, timed out, or never started). Every write is conditional, so two contenders
never both win: the loser sees the winner as the new holder, and the winner is running."""

from __future__ import annotations

from typing import Any, Final

from botocore.exceptions import ClientError

from clickpipes.aws.clients import client, error_code, transient_faults

GONE: Final = frozenset({"ExecutionDoesNotExist", "InvalidArn", "StateMachineDoesNotExist"})
_TRIES: Final = 3  # each takeover that loses a race names a new holder, which was seen running a moment ago


class DbGuard:
    def __init__(self, table: str, dynamodb: Any | None = None, sfn: Any | None = None) -> None:
        self._table = table
        self._ddb = dynamodb or client("dynamodb")
        self._sfn = sfn or client("stepfunctions")

    def acquire(self, key: str, holder: str, *, again: bool = True) -> str | None:
        """Hold ``key`` for the execution ARN ``holder``: None when it does, else the ARN of the running holder.
        ``again=False``: already held by ``holder`` counts as held by another (a start that was made before)."""
        expected = holder if again else ""
        for _ in range(_TRIES):
            current = self._put(key, holder, expected)
            if current is None:
                return None
            if self._running(current):
                return current
            expected = current  # the holder is gone: take over from exactly that one
        return current

    def _put(self, key: str, holder: str, expected: str) -> str | None:
        """Write ``holder`` if the item is absent or names ``expected``; else the holder it names."""
        with transient_faults(f"hold DB {key}"):
            try:
                self._ddb.put_item(
                    TableName=self._table,
                    Item={"db": {"S": key}, "holder": {"S": holder}},
                    ConditionExpression="attribute_not_exists(db) OR holder = :expected",
                    ExpressionAttributeValues={":expected": {"S": expected}},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
                item: dict[str, Any] = dict(exc.response.get("Item") or {})  # type: ignore[call-overload]  # boto3 adds it
                return str(item.get("holder", {}).get("S", ""))
        return None

    def _running(self, execution_arn: str) -> bool:
        if not execution_arn:
            return False
        with transient_faults(f"describe {execution_arn.rsplit(':', 1)[-1]}"):
            try:
                status = self._sfn.describe_execution(executionArn=execution_arn)["status"]
            except ClientError as exc:
                if error_code(exc) in GONE:
                    return False
                raise
        return bool(status == "RUNNING")
