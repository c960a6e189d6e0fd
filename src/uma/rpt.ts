/**
 * The requesting party's side of UMA: exchanging a permission ticket for an RPT through oxd's
 * `uma_rp_get_rpt`, with `need_info` turned into a typed error that carries what the client
 * needs next (the new ticket and the claims-gathering endpoint), the same on every dialect.
 */
import { ERROR_CODES, OxdCommandError, OxdError, OxdProtocolError } from '../errors';
import { isPlainObject } from '../option-check';
import type { OxdClient } from '../oxd/client';
import type { UmaRpGetRptParams } from '../oxd/commands';
import { traced } from '../report';
import { withParent, type TelemetrySpan } from '../telemetry';

/** An RPT as oxd returned it. */
export interface UmaRpt {
  /** The RPT: send it as `Authorization: Bearer <rpt>`. */
  rpt: string;
  /** The persisted claims token: pass it to the next exchange to skip known claims. */
  pct: string | undefined;
  /** True when an RPT passed in `rpt` was upgraded with the new permission. */
  updated: boolean;
}

/** One claim of a `need_info` answer (UMA 2.0 Grant §3.3.6), as the AS described it. */
export interface UmaRequiredClaim {
  name?: string;
  friendly_name?: string;
  claim_type?: string;
  claim_token_format?: string[];
  issuer?: string[];
}

/**
 * The authorization server needs claims about the requesting party before it grants the
 * permission (`need_info`). Send the user to claims gathering with {@link ticket} (see
 * `umaClaims().gatherClaims`), or push a claim token with `umaGetRpt`.
 */
export class UmaNeedInfoError extends OxdError {
  /** The new ticket to continue with (the one exchanged is used up). */
  readonly ticket: string;
  readonly requiredClaims: UmaRequiredClaim[];
  /** The AS's claims-gathering endpoint, when it named one. */
  readonly redirectUser: string | undefined;

  constructor(
    details: {
      ticket: string;
      requiredClaims: UmaRequiredClaim[];
      redirectUser?: string | undefined;
    },
    cause?: unknown,
  ) {
    const names = details.requiredClaims
      .map((claim) => claim.friendly_name ?? claim.name)
      .filter((name): name is string => typeof name === 'string');
    super(
      ERROR_CODES.UMA_NEED_INFO,
      'The UMA authorization server needs claims about the user before it grants access' +
        (names.length > 0 ? ` (${names.join(', ')})` : '') +
        '; send the user to claims gathering with the new ticket',
      { status: 403, cause },
    );
    this.ticket = details.ticket;
    this.requiredClaims = details.requiredClaims;
    this.redirectUser = details.redirectUser;
  }
}

/** `uma_rp_get_rpt` params (oxd_id is the client's own). */
export type UmaGetRptParams = Omit<UmaRpGetRptParams, 'oxd_id'>;

function claimList(value: unknown): UmaRequiredClaim[] {
  return Array.isArray(value) ? value.filter(isPlainObject).map((claim) => ({ ...claim })) : [];
}

/**
 * The need_info payload of a failed `uma_rp_get_rpt`, in either dialect: oxd 3.1 nests the
 * AS's body in `details` under `error: "need_info"` (also for other AS errors, which are told
 * apart by `details.error`), oxd 4.x answers with the AS body itself, which the client also
 * exposes as `details`.
 */
function translate(err: OxdCommandError): OxdError {
  const details = isPlainObject(err.details) ? err.details : undefined;
  const asError = typeof details?.error === 'string' ? details.error : err.error;
  if (asError !== 'need_info') {
    if (asError === err.error) return err;
    const description =
      typeof details?.error_description === 'string' ? details.error_description : undefined;
    return new OxdCommandError(
      err.command,
      {
        error: asError,
        ...(description === undefined ? {} : { error_description: description }),
        details: err.details,
        ...(err.httpStatus === undefined ? {} : { httpStatus: err.httpStatus }),
      },
      { cause: err },
    );
  }
  const ticket = details?.ticket;
  if (typeof ticket !== 'string' || ticket === '') {
    return new OxdProtocolError(
      'oxd uma_rp_get_rpt answered need_info without a new ticket',
      undefined,
      { cause: err },
    );
  }
  const redirect = details?.redirect_user;
  return new UmaNeedInfoError(
    {
      ticket,
      requiredClaims: claimList(details?.required_claims),
      redirectUser: typeof redirect === 'string' && redirect !== '' ? redirect : undefined,
    },
    err,
  );
}

/**
 * Exchanges a permission ticket for an RPT (`uma_rp_get_rpt`). Pass `rpt` to upgrade an RPT,
 * `pct` to reuse claims given before, `state` after claims gathering. Rejects with
 * {@link UmaNeedInfoError} when the AS needs claims, with an `OxdCommandError` whose `error`
 * is the AS's (`invalid_ticket`, …) or oxd's otherwise.
 */
export function umaGetRpt(client: OxdClient, params: UmaGetRptParams): Promise<UmaRpt> {
  return traced('uma_get_rpt', undefined, client, (span) => getRpt(client, params, span));
}

async function getRpt(
  client: OxdClient,
  params: UmaGetRptParams,
  span: TelemetrySpan | undefined,
): Promise<UmaRpt> {
  let reply;
  try {
    reply = await withParent(span, () => client.umaRpGetRpt(params as UmaRpGetRptParams));
  } catch (err) {
    throw err instanceof OxdCommandError ? translate(err) : err;
  }
  if (typeof reply.access_token !== 'string' || reply.access_token === '') {
    throw new OxdProtocolError('oxd uma_rp_get_rpt answered without access_token');
  }
  return {
    rpt: reply.access_token,
    pct: typeof reply.pct === 'string' && reply.pct !== '' ? reply.pct : undefined,
    updated: reply.updated === true || reply.upgraded === true,
  };
}
