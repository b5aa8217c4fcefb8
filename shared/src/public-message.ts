/**
 * What a client may read of an error that ended a job: stored outcomes, a failed document's reason
 * and chat error messages outlive the request and reach anyone who can read them, so they never
 * carry an internal address. The full error goes to the logs.
 */
const URL_PATTERN = /\b[a-z][a-z0-9+.-]*:\/\/[^\s,;)'"]+/gi;
const HOST_PORT_PATTERN = /(?:\b\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]|\blocalhost)(?::\d{1,5})?\b/gi;

export function publicMessage(err: Error): string {
  return err.message.replace(URL_PATTERN, '<address>').replace(HOST_PORT_PATTERN, '<address>');
}
