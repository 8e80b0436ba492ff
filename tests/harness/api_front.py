"""A local HTTP front for the API function (what API Gateway is for a deployed stack), and the stack's
CloudFormation outputs in moto: what the `clickpipes-iam` command line finds and calls."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.harness.local_aws import Deployed, LocalWorld

EVENT = Path(__file__).resolve().parents[2] / "events" / "api_post_onboarding.json"
CALLER = "arn:aws:iam::123456789012:user/cli"


def _handler(world: LocalWorld) -> type[BaseHTTPRequestHandler]:
    class Front(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            if not self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 "):
                return self._answer(403, {"message": "Missing Authentication Token"})  # AWS_IAM: unsigned
            path = self.path.removeprefix("/v1")
            length = int(self.headers.get("Content-Length") or 0)
            event: dict[str, Any] = json.loads(EVENT.read_text())
            parts = path.strip("/").split("/")
            event |= {"path": path, "httpMethod": self.command, "body": self.rfile.read(length).decode() or None}
            event["resource"] = f"/{parts[0]}" + ("/{id}" if len(parts) > 1 else "")
            event["pathParameters"] = {"id": parts[1]} if len(parts) > 1 else None
            event["requestContext"] |= {"httpMethod": self.command, "path": f"/v1{path}"}
            event["requestContext"]["identity"]["userArn"] = CALLER
            response = world.invoke("ApiFunction", event).payload
            self._answer(response["statusCode"], json.loads(response["body"]))
            return None

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Front


@contextmanager
def api_front(world: LocalWorld) -> Iterator[str]:
    """Serve the API function on http://127.0.0.1:<free port>/v1 while the block runs."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(world))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()


def stack_outputs(world: LocalWorld, deployed: Deployed, name: str, api_url: str) -> None:
    """A CloudFormation stack in moto with the deployed stack's outputs (the harness deploys without CFN)."""
    outputs = {"ApiUrl": api_url} | {f"{k}Arn": v for k, v in deployed.state_machine_arns.items()}
    template = {
        "Resources": {"Anchor": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-outputs"}}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    world.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
