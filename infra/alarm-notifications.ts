import { CfnCondition, CfnOutput, CfnParameter, Fn, Stack } from 'aws-cdk-lib';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { CfnSubscription, SubscriptionProtocol, Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/**
 * Where the alarms go: an SNS topic encrypted with a customer-managed key, and, when the
 * `AlarmEmail` parameter is set, an e-mail subscription to it (the address confirms it once, with
 * the link AWS sends). Other subscribers (a pager, a chat integration) subscribe to the topic.
 */
export class AlarmNotifications extends Construct {
  readonly topic: Topic;
  readonly key: Key;
  /** The action every alarm takes on ALARM and on OK. */
  readonly action: SnsAction;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.key = new Key(this, 'TopicKey', {
      description: 'Encrypts the Compass Stripe Connect alarm topic',
      enableKeyRotation: true,
    });
    // CloudWatch publishes an alarm's notification to the encrypted topic with this key; without
    // this statement the alarm changes state but the notification is silently dropped.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
      }),
    );

    this.topic = new Topic(this, 'Topic', {
      displayName: 'Compass Stripe Connect alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.action = new SnsAction(this.topic);

    // On the stack, so the operator passes it as `--parameters AlarmEmail=…`.
    const email = new CfnParameter(Stack.of(this), 'AlarmEmail', {
      type: 'String',
      description:
        'E-mail address that receives the alarms (it must confirm the subscription). Empty: no e-mail; ' +
        "subscribe to the stack's AlarmTopicArn output instead.",
      default: '',
      allowedPattern: '^$|^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$',
      constraintDescription: 'must be empty or an e-mail address',
    });
    const hasEmail = new CfnCondition(this, 'HasAlarmEmail', {
      expression: Fn.conditionNot(Fn.conditionEquals(email.valueAsString, '')),
    });
    const subscription = new CfnSubscription(this, 'EmailSubscription', {
      topicArn: this.topic.topicArn,
      protocol: SubscriptionProtocol.EMAIL,
      endpoint: email.valueAsString,
    });
    subscription.cfnOptions.condition = hasEmail;

    new CfnOutput(this, 'AlarmTopicArn', {
      key: 'AlarmTopicArn',
      description: 'SNS topic every alarm notifies (on ALARM and on OK); subscribe a pager or chat to it',
      value: this.topic.topicArn,
    });
  }
}
