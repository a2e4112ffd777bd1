import { CfnOutput, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { HttpRoute as RouteDefinition } from '../functions/routes.ts';
import { NOT_FOUND_CAPACITY, routeCapacity } from './capacity-model.ts';

/**
 * Routes that are public by design, with the reason. Every other route is a tenant route whose
 * function verifies the Compass session token itself (functions/commons/session.ts).
 */
const PUBLIC_ROUTES: Readonly<Record<string, string>> = {
  ConnectCallback:
    "Stripe's OAuth redirect lands here from the tenant's browser, which carries no bearer token; the " +
    'request is authorised by the single-use, expiring OAuth state bound to that browser by an HttpOnly ' +
    'cookie (README "How the OAuth flow is protected"), checked by the function.',
  WebhookTenant:
    "Stripe delivers the tenant's events here and cannot send a Compass token; the function verifies the " +
    "Stripe-Signature (HMAC-SHA256 with the tenant's signing secret, 300 s tolerance) on the raw body " +
    'before reading anything.',
  WebhookConnect:
    'Stripe delivers Connect events here and cannot send a Compass token; the function verifies the ' +
    "Stripe-Signature with the platform's Connect endpoint secret on the raw body before reading anything.",
};

const SESSION_VERIFIED_REASON =
  'Tenant route: the function verifies the Compass session JWT (compass_session cookie or Bearer ' +
  'header, JWKS-verified issuer and audience) before doing anything and answers 401 otherwise. The ' +
  'token comes from Compass, not from an identity provider an API Gateway authorizer could use, and ' +
  'the tenant is taken from the verified token, so a gateway authorizer would verify it twice.';

const NOT_FOUND_REASON =
  'The $default route only answers the JSON 404 for paths no route claims; it reads nothing and ' +
  'has no permission on any data.';

/**
 * The stage's default throttle, which only `$default` (the JSON 404) uses: every route has its
 * own (see {@link routeThrottles}).
 */
export const DEFAULT_ROUTE_THROTTLE = {
  rateLimit: NOT_FOUND_CAPACITY.rateLimit,
  burstLimit: NOT_FOUND_CAPACITY.burstLimit,
} as const;

export interface HttpApiProps {
  readonly routes: readonly RouteDefinition[];
  /** The function behind each route, by route name. */
  readonly handlers: ReadonlyMap<string, IFunction>;
  /** Answers `$default`, i.e. every path no route claims, with the app's JSON 404. */
  readonly notFoundHandler: IFunction;
  /** Encrypts the access logs. */
  readonly logKey: IKey;
}

/** The connector's HTTP API (API Gateway v2): one route per entry of functions/routes.ts. */
export class ConnectorHttpApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: HttpApiProps) {
    super(scope, id);

    for (const name of Object.keys(PUBLIC_ROUTES)) {
      if (!props.routes.some((route) => route.name === name)) {
        throw new Error(`PUBLIC_ROUTES names ${name}, which functions/routes.ts does not define`);
      }
    }

    this.api = new HttpApi(this, 'Api', {
      description: 'Compass Stripe Connect connector',
      createDefaultStage: false,
      defaultIntegration: new HttpLambdaIntegration('NotFoundIntegration', props.notFoundHandler),
    });
    Validations.of(this.api.node.findChild('DefaultRoute')).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: NOT_FOUND_REASON,
    });

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: RetentionDays.ONE_MONTH,
      encryptionKey: props.logKey,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: DEFAULT_ROUTE_THROTTLE,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: accessLogFormat(),
      },
    });

    for (const route of props.routes) {
      const handler = props.handlers.get(route.name);
      if (!handler) throw new Error(`No function for route ${route.name}`);
      const httpRoute = new HttpRoute(this, route.name, {
        httpApi: this.api,
        routeKey: HttpRouteKey.with(route.path, HttpMethod[route.method]),
        integration: new HttpLambdaIntegration(`${route.name}Integration`, handler),
      });
      Validations.of(httpRoute).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: PUBLIC_ROUTES[route.name] ?? SESSION_VERIFIED_REASON,
      });
      // API Gateway refuses route settings for a route key that does not exist yet.
      this.stage.node.addDependency(httpRoute);
    }
    // HttpStage has no per-route settings: the L1 stage takes them, keyed by route key.
    (this.stage.node.defaultChild as CfnStage).routeSettings = routeThrottles(props.routes);

    new CfnOutput(this, 'ApiUrl', {
      key: 'ApiUrl',
      description: 'Base URL of the HTTP API (OAuthRedirectBaseUrl, unless a custom domain fronts it)',
      value: this.stage.url,
    });
  }
}

/**
 * Each route's own throttle (infra/capacity-model.ts), as the stage's `RouteSettings`: webhooks
 * take Stripe's bursts, tenant routes what people and dashboards send; above it the gateway
 * answers 429, which Stripe retries, before the function's reserved concurrency is reached.
 */
export function routeThrottles(
  routes: readonly RouteDefinition[],
): Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> {
  return Object.fromEntries(
    routes.map((route) => {
      const { rateLimit, burstLimit } = routeCapacity(route.name);
      return [
        `${route.method} ${route.path}`,
        { ThrottlingRateLimit: rateLimit, ThrottlingBurstLimit: burstLimit },
      ];
    }),
  );
}

/**
 * One JSON line per request. Deliberately without the query string: the OAuth callback carries
 * the authorization code and state there, and neither belongs in a log.
 */
function accessLogFormat(): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: '$context.requestId',
      requestTime: '$context.requestTime',
      sourceIp: '$context.identity.sourceIp',
      userAgent: '$context.identity.userAgent',
      httpMethod: '$context.httpMethod',
      routeKey: '$context.routeKey',
      path: '$context.path',
      protocol: '$context.protocol',
      status: '$context.status',
      responseLength: '$context.responseLength',
      responseLatency: '$context.responseLatency',
      integrationLatency: '$context.integrationLatency',
      integrationStatus: '$context.integrationStatus',
      integrationError: '$context.integrationErrorMessage',
      error: '$context.error.message',
    }),
  );
}
