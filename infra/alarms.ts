import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface AlarmsProps {
  /** Dead-letter queues by name: anything that lands in one is work that was given up on. */
  readonly deadLetterQueues: Readonly<Record<string, IQueue>>;
  /** Queue workers by name, whose failed invocations must not go unnoticed. */
  readonly workers: Readonly<Record<string, IFunction>>;
}

/**
 * The connector's alarms. They carry no action yet: subscribe the team's notification topic with
 * `alarm.addAlarmAction(new SnsAction(topic))` on `Alarms.all`.
 */
export class Alarms extends Construct {
  readonly all: Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);

    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      this.all.push(
        new Alarm(this, `${name}DlqNotEmpty`, {
          alarmDescription:
            `${name} messages were given up on and wait in the dead-letter queue ` +
            '(revocation: a Stripe access that may still be live; backfill: an incomplete import). ' +
            'Investigate, then redrive.',
          metric: queue.metricApproximateNumberOfMessagesVisible({
            period: Duration.minutes(1),
            statistic: 'Maximum',
          }),
          threshold: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    for (const [name, worker] of Object.entries(props.workers)) {
      this.all.push(
        new Alarm(this, `${name}Errors`, {
          alarmDescription: `${name} invocations failed (threw or timed out) in the last 5 minutes.`,
          metric: worker.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
          threshold: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
  }
}
