/**
 * Settings every test app and binary starts with unless the test says otherwise. The suites written
 * before model grants existed chat as a plain user with models nobody granted; they test other
 * things, so they run with BYPASS_MODEL_ACCESS_CONTROL=true. The access-control suites
 * (test/http/access-*.test.ts, test/binary/access-*.test.ts) set it to false, Enclave's default.
 */
export const SUITE_DEFAULTS: Record<string, string> = { BYPASS_MODEL_ACCESS_CONTROL: 'true' }
