import { Duration } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RECONCILE_TARGET } from './capacity-model.ts';

/** README "Catch-up from the Events API": every connected account is swept this often. */
export const RECONCILE_INTERVAL = Duration.seconds(RECONCILE_TARGET.intervalSeconds);

/** The tick's message: the reconcile worker queues one sweep per connected tenant from it. */
export const RECONCILE_TICK = { kind: 'all' } as const;

export interface ReconcileScheduleProps {
  /** The reconcile queue: the tick goes there, not to the worker, so a failed tick is retried. */
  readonly queue: IQueue;
}

/**
 * The EventBridge rule that starts each catch-up round: every 15 minutes it sends
 * `{"kind":"all"}` to the reconcile queue.
 *
 * Through the queue rather than invoking the worker: the tick then gets the queue's retries, its
 * DLQ and its alarms like every other job, and the worker has one way in. The queue is encrypted
 * with SQS-owned keys (SSE-SQS), which EventBridge can send to without any KMS grant (the AWS
 * managed `alias/aws/sqs` key would refuse it: its key policy cannot name EventBridge). The target
 * adds one statement to the queue's policy: `sqs:SendMessage` for `events.amazonaws.com`, only
 * for this rule (`aws:SourceArn`).
 */
export class ReconcileSchedule extends Construct {
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: ReconcileScheduleProps) {
    super(scope, id);

    this.rule = new Rule(this, 'Rule', {
      description: 'Starts the Stripe Events API catch-up sweep of every connected account',
      schedule: Schedule.rate(RECONCILE_INTERVAL),
    });
    this.rule.addTarget(
      new SqsQueue(props.queue, {
        message: RuleTargetInput.fromObject(RECONCILE_TICK),
        // A tick older than its interval is replaced by the next one anyway.
        maxEventAge: RECONCILE_INTERVAL,
        retryAttempts: 10,
      }),
    );
  }
}
