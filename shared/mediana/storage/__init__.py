"""Storage: every key, the DynamoDB/S3/SQS access (PynamoDB and boto3), documents in parts,
and the generations that keep a rebuild from showing partial numbers."""
