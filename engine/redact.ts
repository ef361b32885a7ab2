/**
 * Credentials out of everything CityFlow prints or records. `maskSecrets` is the one masking function:
 * configuration printing, the mode line, error messages and stacks (stderr, run log, state index), the
 * locations IO managers report, and the S3 / DynamoDB / MongoDB error messages all go through it.
 *
 * It takes a URL or any text containing URLs and options, and replaces with `****`:
 * - the password of a URL's userinfo (`mongodb://user:pass@h1,h2/` → `mongodb://user:****@h1,h2/`),
 *   also when the password holds `/`, `?` or `@` unescaped, and `user:pass@host` without a scheme;
 * - the value of every option whose name says it is a credential, in URL queries and free text
 *   (`password=`, `tlsCertificateKeyFilePassword=`, `secret=`, `token=`, `X-Amz-Security-Token=`,
 *   `X-Amz-Signature=`, `X-Amz-Credential=`, `sig=`, `key=`, `AWS_SECRET_ACCESS_KEY=`…);
 * - `NAME:value` pairs inside option values (`authMechanismProperties=AWS_SESSION_TOKEN:…`);
 * - JSON members with such names (`"password":"…"`).
 * It errs on the side of masking: a masked non-secret costs a little detail, a leak cannot be undone.
 * Idempotent: masking a masked text changes nothing.
 */

export const MASK = '****';

/** Option names that carry a credential (matched on the end of the name, case-insensitively). */
const SECRET_NAME =
  /(?:pass|password|passwd|passphrase|pwd|secret|token|sig|signature|credentials?|key|key[_-]?id|authorization|sas)$/i;

/** `scheme://userinfo@` — up to the last `@` of the token, so a password holding `/ ? @` is covered. */
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^\s"'<>]*)@/gi;
/** `user:pass@host` without a scheme (`http//u:p@h`, a URL typed wrong), at the start of a token. */
const BARE_USERINFO = /(^|[\s"'(<,;=[])([^\s"'<>@:]+):(?!\/\/)([^\s"'<>]*)@/g;
/** `name=value` in a query string or free text. */
const OPTION = /(^|[?&;,\s("'[{])([A-Za-z][\w.-]*)=([^&#\s"'<>]*)/g;
/** `NAME:value` (or `NAME%3Avalue`) inside an option value or a list. */
const PAIR = /(^|[=,\s])([A-Za-z][\w.-]*)(:|%3A)([^,&#\s"'<>]+)/gi;
/** `"name": "value"` (JSON). */
const JSON_MEMBER = /("([A-Za-z][\w.-]*)"\s*:\s*)"((?:[^"\\]|\\.)*)"/g;

export function maskSecrets(text: string): string {
  if (!text) return text;
  return text
    .replace(URL_USERINFO, (m, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(':');
      return colon === -1 ? m : `${scheme}${userinfo.slice(0, colon)}:${MASK}@`;
    })
    .replace(BARE_USERINFO, (m, lead: string, user: string, pass: string) =>
      pass === MASK ? m : `${lead}${user}:${MASK}@`,
    )
    .replace(OPTION, (m, lead: string, name: string, value: string) =>
      SECRET_NAME.test(name) && value !== '' ? `${lead}${name}=${MASK}` : m,
    )
    .replace(PAIR, (m, lead: string, name: string, sep: string) =>
      SECRET_NAME.test(name) ? `${lead}${name}${sep}${MASK}` : m,
    )
    .replace(JSON_MEMBER, (m, head: string, name: string) =>
      SECRET_NAME.test(name) ? `${head}"${MASK}"` : m,
    );
}
