/** Key material that can't be used as it is; the message says what to do, never what it holds. */
export class KeyMaterialError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'KeyMaterialError'
  }
}

/** The key given is not the one the database was written with. Shows fingerprints, never keys. */
export class KeyMismatchError extends Error {
  /** `given` is the given key's fingerprint, or what was given instead (e.g. "no key"). */
  constructor(readonly expectedFingerprint: string, readonly given: { fingerprint: string } | { instead: string }, advice: string) {
    super(
      `The encryption key does not match this database (database key fingerprint ${expectedFingerprint}, ` +
        `${'fingerprint' in given ? `given key fingerprint ${given.fingerprint}` : given.instead}). ${advice}`,
    )
    this.name = 'KeyMismatchError'
  }
}
