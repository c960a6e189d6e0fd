import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The small part of oidc-provider's API the local OP uses. oidc-provider ships no type
 * declarations and is ESM-only, so it is loaded with `import()` and typed here.
 */

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface ProviderClient {
  clientId: string;
  clientName?: string;
  /** Registered metadata with snake_case keys, including extra properties. */
  metadata(): Record<string, unknown>;
}

export interface ProviderGrant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(indicator: string, scope: string): void;
  save(): Promise<string>;
}

export interface InteractionDetails {
  uid: string;
  prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
  params: Record<string, unknown> & { client_id?: string; login_hint?: string };
  session?: { accountId?: string };
  grantId?: string;
  lastSubmission?: Record<string, unknown>;
}

export type InteractionResult =
  | { login: { accountId: string } }
  | { consent: { grantId?: string } }
  | { error: string; error_description?: string };

export interface ProviderSession {
  accountId?: string;
  destroyed?: boolean;
  authorizations?: Record<string, { sid?: string; grantId?: string }>;
}

/** The Koa context oidc-provider passes to configuration hooks and middleware. */
export interface ProviderContext {
  status: number;
  body: unknown;
  type: string;
  host: string;
  request: { href: string };
  response: { get(field: string): string };
  set(field: string, value: string): void;
  remove(field: string): void;
  oidc?: {
    route?: string;
    client?: ProviderClient;
    params?: Record<string, unknown>;
    session?: ProviderSession;
  };
}

export interface Provider {
  readonly issuer: string;
  callback(): NodeHandler;
  use(middleware: (ctx: ProviderContext, next: () => Promise<void>) => Promise<void>): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
  registerGrantType(
    name: string,
    handler: (ctx: ProviderContext, next: () => Promise<void>) => Promise<void>,
    params?: string[],
  ): void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: InteractionResult,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  Grant: {
    new (init: { accountId: string; clientId: string }): ProviderGrant;
    find(id: string): Promise<ProviderGrant | undefined>;
  };
  Client: { prototype: object; find(id: string): Promise<ProviderClient | undefined> };
}

export type ProviderConstructor = new (issuer: string, configuration: object) => Provider;
