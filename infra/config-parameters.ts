import { CfnParameter, type Stack, Validations } from 'aws-cdk-lib';

/**
 * A deploy-time https URL without credentials, query or fragment. A trailing slash is fine
 * (shared/config trims it), so the stack's ApiUrl output can be pasted as is.
 */
const HTTPS_URL = '^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\\s?#]*)?$';

/** Default name of the Secrets Manager secret holding the platform's Stripe secret key. */
export const DEFAULT_PLATFORM_KEY_SECRET_NAME = 'compass-stripe-connect/platform/stripe-secret-key';
export const DEFAULT_CONNECT_WEBHOOK_SECRET_NAME = 'compass-stripe-connect/platform/connect-webhook-secret';

export interface ConfigParameters {
  /**
   * Settings every function receives (README "Configuration"). None of them is a secret: the
   * platform key is passed by name only (`STRIPE_SECRET_KEY_SECRET_ID`, see function-permissions).
   */
  readonly environment: Readonly<Record<string, string>>;
  /** Name of the secret holding the platform's Stripe secret key (`sk_…` / `rk_…`). */
  readonly platformKeySecretName: string;
  readonly connectWebhookSecretName: string;
}

/**
 * The stack's CloudFormation parameters. They are created on the stack itself so their logical
 * ids (the names an operator passes with `--parameters`) stay exactly as written here.
 */
export function createConfigParameters(stack: Stack): ConfigParameters {
  const clientId = new CfnParameter(stack, 'StripeConnectClientId', {
    type: 'String',
    description: "The platform's Stripe Connect client id (ca_…), from the Connect settings.",
    allowedPattern: '^ca_[A-Za-z0-9]{4,128}$',
    constraintDescription: 'must be ca_ followed by letters and digits',
  });
  const oauthBase = new CfnParameter(stack, 'OAuthRedirectBaseUrl', {
    type: 'String',
    description:
      'Public https base URL of this API; Stripe redirects to {base}/api/connect/stripe/callback ' +
      '(register that URL in the Connect settings).',
    allowedPattern: HTTPS_URL,
    constraintDescription: 'must be an https URL without query or fragment',
  });
  const appBase = new CfnParameter(stack, 'AppBaseUrl', {
    type: 'String',
    description:
      'https base URL of the Compass app (where /settings/integrations lives). Empty: same as OAuthRedirectBaseUrl.',
    default: '',
    allowedPattern: `^$|${HTTPS_URL}`,
    constraintDescription: 'must be empty or an https URL without query or fragment',
  });
  const jwksUrl = new CfnParameter(stack, 'SessionJwksUrl', {
    type: 'String',
    description: 'JWKS URL of the keys that sign Compass session tokens.',
    allowedPattern: '^https://[^\\s]+$',
    constraintDescription: 'must be an https URL',
  });
  const issuer = new CfnParameter(stack, 'SessionJwtIssuer', {
    type: 'String',
    description: 'Expected `iss` claim of Compass session tokens.',
    minLength: 1,
  });
  const audience = new CfnParameter(stack, 'SessionJwtAudience', {
    type: 'String',
    description: 'Expected `aud` claim of Compass session tokens.',
    minLength: 1,
  });
  const platformKeySecretName = new CfnParameter(stack, 'StripeSecretKeySecretName', {
    type: 'String',
    description:
      "Name of the Secrets Manager secret holding the platform's Stripe secret key (a plain string sk_… or rk_…).",
    default: DEFAULT_PLATFORM_KEY_SECRET_NAME,
    allowedPattern: '^[A-Za-z0-9/_+=.@-]{1,512}$',
    constraintDescription: 'must be a Secrets Manager secret name (not an ARN)',
  });
  const connectWebhookSecretName = new CfnParameter(stack, 'ConnectWebhookSecretName', {
    type: 'String',
    description:
      "Name of the Secrets Manager secret holding the signing secret (whsec_…) of the platform's Connect webhook endpoint.",
    default: DEFAULT_CONNECT_WEBHOOK_SECRET_NAME,
    allowedPattern: '^[A-Za-z0-9/_+=.@-]{1,512}$',
    constraintDescription: 'must be a Secrets Manager secret name (not an ARN)',
  });
  // The linter guesses from the word "Secret" in the parameter's name.
  Validations.of(stack).acknowledge({
    id: 'CloudFormation-Validate::W2509',
    reason:
      'StripeSecretKeySecretName holds the *name* of the Secrets Manager secret, not the key itself; ' +
      'the key never passes through CloudFormation, and NoEcho would only hide which secret is used. ' +
      'The same holds for ConnectWebhookSecretName.',
  });

  return {
    environment: {
      STRIPE_CONNECT_CLIENT_ID: clientId.valueAsString,
      OAUTH_REDIRECT_BASE_URL: oauthBase.valueAsString,
      // Empty is read as unset by shared/config, which then falls back to OAUTH_REDIRECT_BASE_URL.
      APP_BASE_URL: appBase.valueAsString,
      SESSION_JWKS_URL: jwksUrl.valueAsString,
      SESSION_JWT_ISSUER: issuer.valueAsString,
      SESSION_JWT_AUDIENCE: audience.valueAsString,
    },
    platformKeySecretName: platformKeySecretName.valueAsString,
    connectWebhookSecretName: connectWebhookSecretName.valueAsString,
  };
}
