// The AWS SDK must never pick up a developer's real credentials or region in tests.
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
process.env.AWS_REGION = 'us-east-1';
delete process.env.AWS_PROFILE;
process.env.POWERTOOLS_SERVICE_NAME = 'compass-stripe-connect-test';
