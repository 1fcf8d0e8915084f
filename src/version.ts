import packageJson from '../package.json' with { type: 'json' }

// note: scripts/compile-binary.ts defines this at build time; running from source it is undeclared.
declare const ENCLAVE_COMMIT: string | undefined

/** The product version, from package.json, embedded at build time. */
export const VERSION: string = packageJson.version

/** The git commit the binary was built from, or 'unknown' (from source, or built outside a checkout). */
export const COMMIT: string = typeof ENCLAVE_COMMIT === 'string' ? ENCLAVE_COMMIT : 'unknown'
