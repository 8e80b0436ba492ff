"""The only code that calls AWS (boto3). Steps use these gateways; tests swap in moto underneath."""
