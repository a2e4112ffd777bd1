import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';
import {
  CompassStripeConnectStack,
  type CompassStripeConnectStackProps,
} from './compass-stripe-connect-stack.ts';

export const STACK_NAME = 'CompassStripeConnect';

export interface CreateAppOptions {
  /** Context for the app, e.g. `{ 'aws:cdk:bundling-stacks': [] }` to skip bundling in tests. */
  readonly context?: AppProps['context'];
  /** Where the cloud assembly goes; the CLI's CDK_OUTDIR, or a temporary directory, by default. */
  readonly outdir?: string;
  readonly stackProps?: CompassStripeConnectStackProps;
}

/**
 * Builds the CDK app: the connector's stack, checked by cdk-nag's AwsSolutions and HIPAA Security
 * packs (the records are PHI-minimal, but the connector runs beside systems that hold PHI). A
 * finding that is not acknowledged (with its reason, next to the construct it concerns) makes
 * `app.synth()` throw `ValidationFailed`.
 */
export function createApp(options: CreateAppOptions = {}): { app: App; stack: CompassStripeConnectStack } {
  const app = new App({
    ...(options.context ? { context: options.context } : {}),
    ...(options.outdir ? { outdir: options.outdir } : {}),
  });
  // Environment-agnostic on purpose: the template is the same offline and for any account.
  const stack = new CompassStripeConnectStack(app, STACK_NAME, options.stackProps);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new HIPAASecurityChecks(app));
  return { app, stack };
}

const invokedDirectly =
  process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  createApp().app.synth();
}
