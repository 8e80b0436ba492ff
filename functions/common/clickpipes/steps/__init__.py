"""One module per workflow step (= one state = one Lambda function). Logic only: AWS and databases are
reached through the gateways passed in, so each step runs the same against moto, fakes or AWS."""
