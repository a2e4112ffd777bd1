import { Duration } from 'aws-cdk-lib';
import type { HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  type IAlarmAction,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { STALE_QUEUED_MS } from '../shared/use-cases/backfill/request-backfill.ts';
import { ERASURE_MAX_RECEIVES, RECONCILE_MAX_RECEIVES } from './queues.ts';
import { RECONCILE_INTERVAL } from './reconcile-schedule.ts';

const FIVE_MINUTES = Duration.minutes(5);

/** An alarm over more metrics than this is refused by CloudWatch (a hard limit of metric math). */
const MAX_METRICS_PER_ALARM = 10;

/**
 * A queued backfill no worker took within an hour may be replaced by a re-sync
 * (`STALE_QUEUED_MS`): the alarm calls at half of that, while the queue can still be drained
 * (raise BackfillConcurrency) before tenants' runs go stale.
 */
export const BACKFILL_QUEUE_AGE_ALARM = Duration.millis(STALE_QUEUED_MS / 2);

/**
 * A sweep waits at most 9 minutes in the queue on purpose (the tick spreads them over the first
 * 10 minutes of each round); one that has waited a whole round has not been swept before the next
 * tick queues it again.
 */
export const RECONCILE_QUEUE_AGE_ALARM = RECONCILE_INTERVAL;

/**
 * The tick comes every 15 minutes and each one invokes the reconcile worker at least once, so no
 * invocation in two rounds means the sweeps stopped: the rule, its queue policy or the event
 * source is broken (one missed tick alone is caught up by the next, whose sweeps read from each
 * tenant's cursor).
 */
export const NO_SWEEP_ALARM_PERIOD = Duration.seconds(2 * RECONCILE_INTERVAL.toSeconds());

/**
 * 5xx answers worth a person's attention in 5 minutes: at least this many requests, and at least
 * {@link API_5XX_ALARM_PERCENT} of them. Fewer is a blip (one person's retry, one transient
 * DynamoDB fault) that Stripe's retries and the page's next poll absorb; a broken route or a
 * function at its reserved concurrency shows far above both.
 */
export const API_5XX_ALARM_MIN_ERRORS = 5;
export const API_5XX_ALARM_PERCENT = 1;

/**
 * Throttle events (items) of the table and gsi1 in 5 minutes. The SDK retries a throttled request
 * and a backfill batch retries its unprocessed items, so one throttled batch (25 items) goes
 * unnoticed; 100 means throttling lasts long enough to reach webhooks (503) and backfills.
 */
export const TABLE_THROTTLE_ALARM_EVENTS = 100;

export interface AlarmsProps {
  /** What every alarm does on ALARM and on OK: notify the alarm topic. */
  readonly action: IAlarmAction;
  readonly revocationDeadLetterQueue: IQueue;
  readonly backfillDeadLetterQueue: IQueue;
  readonly erasureDeadLetterQueue: IQueue;
  readonly reconcileDeadLetterQueue: IQueue;
  /** The backfill queue: how long its oldest message has waited. */
  readonly backfillQueue: IQueue;
  /** The reconcile queue: how long its oldest message has waited. */
  readonly reconcileQueue: IQueue;
  readonly webhookTenant: IFunction;
  readonly webhookConnect: IFunction;
  readonly revocationWorker: IFunction;
  readonly backfillWorker: IFunction;
  readonly reconcileWorker: IFunction;
  readonly erasureWorker: IFunction;
  /** Every function behind the HTTP API (the routes' and the 404's). */
  readonly httpFunctions: readonly IFunction[];
  /** The HTTP API's stage: its 5xx answers. */
  readonly apiStage: HttpStage;
  /** The table and its index names: their throttling. */
  readonly table: ITableV2;
  readonly tableIndexes: readonly string[];
}

const AFTER_A_FAILED_WEBHOOK = 'Stripe got a 5xx and retries the delivery (for up to 3 days).';

/**
 * The connector's alarms, each with what it means and what to do in its description. Every alarm
 * notifies the alarm topic when it goes to ALARM and when it is back to OK.
 */
export class Alarms extends Construct {
  readonly all: Alarm[] = [];
  private readonly action: IAlarmAction;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    this.action = props.action;

    this.add('RevocationDlqNotEmpty', {
      description:
        'A message is in the revocation dead-letter queue: Stripe refused a revocation for 3 days, so a ' +
        "disconnected tenant's Stripe access may still be live. Find stripe_revocation_abandoned in the " +
        "RevocationWorker's logs (tenant and account ids, reason), fix the cause (usually the platform key or " +
        'client id), then redrive the DLQ.',
      metric: dlqDepth(props.revocationDeadLetterQueue),
      threshold: 1,
    });
    this.add('BackfillDlqNotEmpty', {
      description:
        "A message is in the backfill dead-letter queue: a slice failed 5 times and was given up on, the tenant's " +
        "run is marked failed and its history is incomplete. Read the BackfillWorker's logs for the tenant, fix " +
        'the cause, then redrive the DLQ (the run resumes from its checkpoint) or let the tenant press Re-sync.',
      metric: dlqDepth(props.backfillDeadLetterQueue),
      threshold: 1,
    });
    this.add('ErasureDlqNotEmpty', {
      description:
        `A message is in the erasure dead-letter queue: an erasure step failed ${ERASURE_MAX_RECEIVES} times, so a ` +
        "tenant's Stripe data that should be gone (30 days after a disconnect, an erase=now, or before another " +
        "account's backfill) is still there, and status shows data.state erasing. Read the ErasureWorker's logs for " +
        'the tenant (the message holds its tenant and account ids), fix the cause, then redrive the DLQ: the ' +
        'erasure resumes from its checkpoint. The schedule also re-queues an erasure that stopped for 30 minutes.',
      metric: dlqDepth(props.erasureDeadLetterQueue),
      threshold: 1,
    });
    this.add('ReconcileDlqNotEmpty', {
      description:
        `A message is in the reconcile dead-letter queue: a tenant's sweep (or a schedule tick) failed ` +
        `${RECONCILE_MAX_RECEIVES} times, so events Stripe did not deliver to that tenant are not caught up. The ` +
        'message holds the tenant id (or {"kind":"all"}); read the ReconcileWorker\'s logs for it (a Stripe read ' +
        "error: the account's access, the platform key; a DynamoDB error), fix the cause, then redrive the DLQ, or " +
        'purge it: the next tick queues every tenant again and a sweep reads from its saved cursor.',
      metric: dlqDepth(props.reconcileDeadLetterQueue),
      threshold: 1,
    });

    const failures: Record<string, [IFunction, string]> = {
      WebhookTenant: [props.webhookTenant, AFTER_A_FAILED_WEBHOOK],
      WebhookConnect: [props.webhookConnect, AFTER_A_FAILED_WEBHOOK],
      RevocationWorker: [
        props.revocationWorker,
        "The batch's revocations come back after the queue's visibility timeout (six times the worker's).",
      ],
      BackfillWorker: [
        props.backfillWorker,
        "The slice's message comes back after the queue's visibility timeout (six times the worker's) and resumes from " +
          'its checkpoint; after 5 receives it goes to the DLQ and the run is marked failed.',
      ],
      ReconcileWorker: [
        props.reconcileWorker,
        "The sweep's message comes back after the queue's visibility timeout and reads again from the tenant's " +
          'saved cursor (events already applied count once); the next tick queues the tenant again anyway.',
      ],
      ErasureWorker: [
        props.erasureWorker,
        "The erasure's message comes back after the queue's visibility timeout and resumes from its checkpoint; " +
          `after ${ERASURE_MAX_RECEIVES} receives it goes to the DLQ.`,
      ],
    };
    for (const [name, [fn, afterAFailure]] of Object.entries(failures)) {
      this.add(`${name}Errors`, {
        description:
          `${name} invocations failed in the last 5 minutes: the function crashed or timed out (faults it ` +
          `handles are answered, not thrown, and do not count). ${afterAFailure} Look up the error in the ` +
          "function's log group (the error name and the request id) and fix its cause.",
        metric: fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
        threshold: 1,
      });
    }

    this.add('Api5xx', {
      description:
        `At least ${API_5XX_ALARM_MIN_ERRORS} requests, and at least ${API_5XX_ALARM_PERCENT} % of all, got a 5xx ` +
        'answer in 5 minutes: 503 temporarily_unavailable (a DynamoDB, Secrets Manager or SQS fault), 500 ' +
        'internal_error (a bug), or a function that crashed, timed out or was throttled at its reserved ' +
        'concurrency (API Gateway answers those with 500). Stripe retries failed webhooks; people see an ' +
        'error. Find the route in the access logs (routeKey, status, integrationError), then read that ' +
        "function's logs; a throttle alarm at the same time means the route needs more reserved concurrency.",
      metric: new MathExpression({
        expression: `IF(errors >= ${API_5XX_ALARM_MIN_ERRORS}, 100 * errors / requests, 0)`,
        usingMetrics: {
          errors: props.apiStage.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum' }),
          requests: props.apiStage.metricCount({ period: FIVE_MINUTES, statistic: 'Sum' }),
        },
        period: FIVE_MINUTES,
        label: '5xx % of requests (when at least 5)',
      }),
      threshold: API_5XX_ALARM_PERCENT,
    });

    this.add('TableThrottled', {
      description:
        `The table or its index throttled ${TABLE_THROTTLE_ALARM_EVENTS} or more reads or writes in 5 minutes. ` +
        'The SDK retries them, but sustained throttling makes webhooks answer 503 (Stripe retries) and ' +
        'backfills slower or, after 8 attempts per batch, retried by SQS. On-demand capacity follows a new ' +
        "peak within minutes; if it persists, look for a hot partition (one tenant's records, ledger or " +
        "journal: CloudWatch Contributor Insights), lower BackfillConcurrency, or set the table's warm " +
        'throughput before a large onboarding.',
      metric: tableThrottles(props.table, props.tableIndexes),
      threshold: TABLE_THROTTLE_ALARM_EVENTS,
    });

    this.add('BackfillQueueBacklog', {
      description:
        `The oldest backfill message has waited ${BACKFILL_QUEUE_AGE_ALARM.toMinutes()} minutes or more: ` +
        'onboarding lags (tenants see "Waiting to start"), and after an hour a queued run may be replaced by ' +
        "a re-sync. Either more tenants connected than the workers can take (raise the stack's " +
        'BackfillConcurrency parameter, up to its maximum, and update the stack), or a slice crashed and its ' +
        "message waits out the visibility timeout (see the BackfillWorkerErrors alarm and the worker's logs).",
      metric: props.backfillQueue.metricApproximateAgeOfOldestMessage({
        period: FIVE_MINUTES,
        statistic: 'Maximum',
      }),
      threshold: BACKFILL_QUEUE_AGE_ALARM.toSeconds(),
    });

    this.add('ReconcileQueueBacklog', {
      description:
        `The oldest reconcile message has waited ${RECONCILE_QUEUE_AGE_ALARM.toMinutes()} minutes or more: sweeps ` +
        'are spread over the first 10 minutes of each 15-minute round, so this one was not swept within its ' +
        'round, and missed webhook events reach the dashboards late. Either the workers are saturated (more ' +
        'tenants or more events per sweep than RECONCILE_WORKER_CONCURRENCY in infra/capacity-model.ts is sized ' +
        "for: see the worker's Duration and ConcurrentExecutions) or sweeps crash and come back after the " +
        'visibility timeout (see ReconcileWorkerErrors and the DLQ).',
      metric: props.reconcileQueue.metricApproximateAgeOfOldestMessage({
        period: FIVE_MINUTES,
        statistic: 'Maximum',
      }),
      threshold: RECONCILE_QUEUE_AGE_ALARM.toSeconds(),
    });

    this.add('NoSweepRan', {
      description:
        `The reconcile worker was not invoked for ${NO_SWEEP_ALARM_PERIOD.toMinutes()} minutes, two rounds of the ` +
        '15-minute schedule: no catch-up sweep runs, so events Stripe fails to deliver are never applied. Check ' +
        "that the stack's ReconcileSchedule rule is enabled and its FailedInvocations metric (a queue policy that " +
        'no longer lets EventBridge send), that the reconcile queue receives messages, and that its event source ' +
        'mapping on ReconcileWorker is enabled. Once fixed, the next tick sweeps every tenant from its cursor.',
      metric: props.reconcileWorker.metricInvocations({ period: NO_SWEEP_ALARM_PERIOD, statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      // No data is the failure itself here: Lambda publishes Invocations only when there are some.
      treatMissingData: TreatMissingData.BREACHING,
    });

    this.addThrottleAlarms('Api', props.httpFunctions, {
      threshold: 10,
      meaning:
        'API Gateway answered those requests with 500 (Stripe retries webhooks). A few while a burst starts new ' +
        'instances are expected; more means a route needs more reserved concurrency, or a lower throttle.',
    });
    this.addThrottleAlarms(
      'Workers',
      [props.revocationWorker, props.backfillWorker, props.reconcileWorker, props.erasureWorker],
      {
        threshold: 1,
        meaning:
          "The SQS event sources never ask for more than the workers' reservation, so someone invoked a worker " +
          'by hand while it was full, or the reservation fell below the event source maximum.',
      },
    );
  }

  /** Throttles of `functions`, summed, in alarms of at most ten functions each. */
  private addThrottleAlarms(
    name: string,
    functions: readonly IFunction[],
    options: { readonly threshold: number; readonly meaning: string },
  ): void {
    for (let start = 0; start < functions.length; start += MAX_METRICS_PER_ALARM) {
      const chunk = functions.slice(start, start + MAX_METRICS_PER_ALARM);
      const suffix = start === 0 ? '' : String(start / MAX_METRICS_PER_ALARM + 1);
      this.add(`${name}Throttled${suffix}`, {
        description:
          `Lambda throttled ${options.threshold} or more invocations of the ${name} functions in 5 minutes: a ` +
          `function reached its reserved concurrency. ${options.meaning} The Throttles metric per function ` +
          'shows which one; its reserved concurrency comes from infra/capacity-model.ts.',
        metric: sumOf(chunk.map((fn) => fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }))),
        threshold: options.threshold,
      });
    }
  }

  private add(
    id: string,
    options: {
      readonly description: string;
      readonly metric: IMetric;
      readonly threshold: number;
      readonly comparisonOperator?: ComparisonOperator;
      readonly treatMissingData?: TreatMissingData;
    },
  ): void {
    const alarm = new Alarm(this, id, {
      alarmDescription: options.description,
      metric: options.metric,
      threshold: options.threshold,
      comparisonOperator: options.comparisonOperator ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // Most metrics are published only when something happens: no data is good news.
      treatMissingData: options.treatMissingData ?? TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.all.push(alarm);
  }
}

/** Messages waiting in a dead-letter queue. */
function dlqDepth(queue: IQueue): IMetric {
  return queue.metricApproximateNumberOfMessagesVisible({
    period: Duration.minutes(1),
    statistic: 'Maximum',
  });
}

/** Read and write throttle events of the table and of each index, summed. */
function tableThrottles(table: ITableV2, indexes: readonly string[]): MathExpression {
  const metric = (metricName: string, indexName?: string) =>
    new Metric({
      namespace: 'AWS/DynamoDB',
      metricName,
      dimensionsMap: {
        TableName: table.tableName,
        ...(indexName ? { GlobalSecondaryIndexName: indexName } : {}),
      },
      period: FIVE_MINUTES,
      statistic: 'Sum',
    });
  return sumOf([
    metric('ReadThrottleEvents'),
    metric('WriteThrottleEvents'),
    ...indexes.flatMap((index) => [
      metric('ReadThrottleEvents', index),
      metric('WriteThrottleEvents', index),
    ]),
  ]);
}

/** The sum of up to ten metrics, each counted as 0 where it has no data point. */
function sumOf(metrics: readonly IMetric[]): MathExpression {
  if (metrics.length > MAX_METRICS_PER_ALARM) {
    throw new Error(`An alarm can sum at most ${MAX_METRICS_PER_ALARM} metrics, not ${metrics.length}`);
  }
  const usingMetrics = Object.fromEntries(metrics.map((metric, i) => [`m${i}`, metric]));
  return new MathExpression({
    expression: Object.keys(usingMetrics)
      .map((id) => `FILL(${id}, 0)`)
      .join(' + '),
    usingMetrics,
    period: FIVE_MINUTES,
  });
}
