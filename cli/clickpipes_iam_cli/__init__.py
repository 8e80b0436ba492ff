"""`clickpipes-iam`: the command line for a deployed clickpipes-iam stack."""
