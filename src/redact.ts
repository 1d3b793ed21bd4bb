// Strips passwords and secret keys from anything that may reach a log line or an error.

/** mongodb://user:secret@host → mongodb://user:***@host (any scheme). */
export function redactUri(uri: string): string {
  return uri.replace(/(\/\/[^:@/]+):([^@/]*)@/g, '$1:***@');
}

const SECRET_PARAMS = /([?&](?:password|secret|secretkey|aws_secret_access_key|authMechanismProperties|tlsCertificateKeyFilePassword)=)[^&]*/gi;

/** Redacts credentials in URIs inside free text, and known secret query parameters. */
export function redactText(text: string): string {
  return redactUri(text).replace(SECRET_PARAMS, '$1***');
}
