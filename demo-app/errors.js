'use strict';
/**
 * Turns an error into the words the demo's error page shows: what happened, in plain
 * language, and what the visitor (or the person running the demo) can do about it.
 */

/** Raised by the demo itself when a form's CSRF token does not match the session's. */
class CsrfError extends Error {
  constructor() {
    super('The form token is missing or does not match this session.');
    this.name = 'CsrfError';
    this.status = 403;
  }
}

function commandExplanation(err) {
  switch (err.error) {
    case 'invalid_oxd_id':
      return {
        title: 'oxd does not know this site',
        explanation:
          'The oxd server answered that the site registration (oxd id) stored in the demo configuration does not exist on it.',
        advice:
          'Restart the demo: it notices the unknown id and registers again. (The id is kept in the working copy of the configuration, .local-oxd/demosite.cfg by default.)',
      };
    case 'invalid_state':
    case 'bad_request':
      return {
        title: 'oxd rejected the request',
        explanation:
          'The oxd server refused a request from this site, for instance because the login took too long and its state expired.',
        advice: 'Start the login again from the home page.',
      };
    default:
      return {
        title: 'oxd could not complete the request',
        explanation: `The oxd server answered "${err.error}" to the ${err.command} command${
          err.error_description ? `: ${err.error_description}` : '.'
        }`,
        advice:
          'If it mentions the OpenID Provider, check that it is running and that op_host in demosite.cfg is right.',
      };
  }
}

function opExplanation(err) {
  if (err.opError === 'access_denied') {
    return {
      title: 'Login cancelled',
      explanation: 'The OpenID Provider reports that the login was cancelled or not allowed.',
      advice: 'You can start the login again whenever you like.',
    };
  }
  return {
    title: 'The OpenID Provider did not log you in',
    explanation: `The OpenID Provider answered with "${err.opError ?? 'an error'}"${
      err.opErrorDescription ? `: ${err.opErrorDescription}` : '.'
    }`,
    advice: 'Try again; if it keeps failing, the OP log tells why.',
  };
}

const BY_CODE = {
  OXD_TRANSPORT_FAILED: () => ({
    title: 'The oxd server cannot be reached',
    explanation:
      'To log you in, this site asks the oxd server for help, and the oxd server did not accept the connection.',
    advice:
      'Start the oxd server ("npm run demo" starts a local one) or fix [oxd] host and port in demosite.cfg, then try again.',
  }),
  OXD_CONNECT_TIMEOUT: () => ({
    title: 'The oxd server does not answer',
    explanation: 'Connecting to the oxd server took too long.',
    advice: 'Check that the oxd server is running and reachable, then try again.',
  }),
  OXD_RESPONSE_TIMEOUT: () => ({
    title: 'The oxd server is too slow',
    explanation:
      'The oxd server accepted the request but did not answer in time; often it is waiting for the OpenID Provider.',
    advice: 'Check that the OpenID Provider is up, then try again.',
  }),
  OXD_PROTOCOL_ERROR: () => ({
    title: 'The oxd server sent something unexpected',
    explanation: 'The answer from the oxd server could not be understood.',
    advice:
      'Check that [oxd] host, port, https_extension and server_version in demosite.cfg match the oxd server you run.',
  }),
  OXD_FRAME_TOO_LARGE: () => ({
    title: 'The oxd answer is too large',
    explanation: 'An answer did not fit in one oxd socket message (9999 characters).',
    advice: 'Use the HTTPS transport (https_extension = true) for large claim sets.',
  }),
  OXD_COMMAND_FAILED: commandExplanation,
  OXD_STATE_MISMATCH: () => ({
    title: 'This login answer does not belong to your visit',
    explanation:
      'The OpenID Provider sent you back with a login this browser did not start, or one that was already used. That happens after using the Back button, opening an old login link, or losing the session cookie.',
    advice: 'Start the login again from the home page.',
  }),
  OXD_OP_ERROR: opExplanation,
  OXD_LOGIN_CANCELLED: () => ({
    title: 'Login cancelled',
    explanation: 'The login was cancelled at the OpenID Provider, so you are not logged in.',
    advice: 'You can start the login again whenever you like.',
  }),
  OXD_SESSION_MISSING: () => ({
    title: 'The site has no session support',
    explanation: 'Logins need a session, and none was available for this request.',
    advice: 'This is a setup problem of the site: express-session must run before oxdAuth().',
  }),
  OXD_UNAUTHENTICATED: () => ({
    title: 'Please log in',
    explanation: 'This page is only for logged-in visitors.',
    advice: 'Log in and try again.',
  }),
  OXD_FORBIDDEN: () => ({
    title: 'Not allowed',
    explanation: 'You are logged in, but this page is not for your account.',
    advice:
      'Changing the site registration is for administrators (a "groups" claim holding "admin"; with the local OP, log in as ada).',
  }),
  OXD_CONFIG_INVALID: (err) => ({
    title: 'The demo is not configured correctly',
    explanation: err.expose
      ? err.message
      : 'A setting the demo needs is missing or invalid; the server log names it.',
    advice: 'Fix the setting in demosite.cfg and restart the demo.',
  }),
  OXD_CONFIG_WRITE_FAILED: () => ({
    title: 'The registration could not be saved',
    explanation:
      "The site registered with oxd, but the result could not be written to the demo's working copy of its configuration (.local-oxd/demosite.cfg by default).",
    advice: 'Make the data directory (--data-dir) and that file writable by the demo.',
  }),
  OXD_CLIENT_CLOSED: () => ({
    title: 'The demo is shutting down',
    explanation: 'The connection to oxd has already been closed.',
    advice: 'Start the demo again.',
  }),
};

/**
 * `{ status, title, explanation, advice, code, detail }` for the error page. The error's own
 * message is shown only when `err.expose` says it may be (a request at fault): a server-side
 * failure's message can name files, hosts or oxd URLs, and stays in the server log.
 */
function explainError(err) {
  if (err instanceof CsrfError) {
    return {
      status: 403,
      title: 'The form has expired',
      explanation:
        'The form you sent does not carry this session’s security token, so it was not processed. This happens when the form was open for a long time or in another session.',
      advice: 'Open the page again and resubmit the form.',
      code: 'DEMO_CSRF',
    };
  }
  const status = Number.isInteger(err.status) && err.status >= 400 ? err.status : 500;
  if (status === 404 && !err.code) {
    return { status, title: 'Page not found', explanation: 'There is no page at this address.' };
  }
  const describe = BY_CODE[err.code];
  if (describe) {
    return {
      status,
      code: err.code,
      ...(err.expose === true ? { detail: err.message } : {}),
      ...describe(err),
    };
  }
  if (status < 500 && err.expose === true) {
    return { status, title: 'Bad request', explanation: err.message };
  }
  return {
    status: 500,
    title: 'Something went wrong',
    explanation: 'The site hit an unexpected problem while handling this page.',
    advice: 'Try again; the server log has the details.',
  };
}

module.exports = { explainError, CsrfError };
