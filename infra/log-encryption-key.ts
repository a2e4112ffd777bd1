import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

/**
 * The customer-managed KMS key every log group of the stack is encrypted with (the functions'
 * logs and the API's access logs), rotated yearly.
 *
 * CloudWatch Logs encrypts and decrypts with it itself, as the regional service principal
 * `logs.<region>.amazonaws.com`; without this statement in the key policy, creating an encrypted
 * log group fails. The condition limits that use to this account's log groups in this region
 * (CloudWatch Logs names the log group in the encryption context). The functions write logs as
 * before: they need no KMS permission of their own.
 */
export function createLogEncryptionKey(scope: Construct, id: string): Key {
  const stack = Stack.of(scope);
  const key = new Key(scope, id, {
    description: 'Encrypts the Compass Stripe Connect log groups (function logs, API access logs)',
    enableKeyRotation: true,
  });
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: 'AllowCloudWatchLogsOfThisAccount',
      principals: [new ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': Arn.format(
            {
              service: 'logs',
              resource: 'log-group',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            },
            stack,
          ),
        },
      },
    }),
  );
  return key;
}
