/** Key material that can't be used as it is; the message says what to do, never what it holds. */
export class KeyMaterialError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'KeyMaterialError'
  }
}

/** The key given is not the one the database was written with. Shows fingerprints, never keys. */
export class KeyMismatchError extends Error {
  constructor(readonly expectedFingerprint: string, readonly givenFingerprint: string | null, advice: string) {
    super(
      `The encryption key does not match this database (database key fingerprint ${expectedFingerprint}, ` +
        `${givenFingerprint === null ? 'no key given' : `given key fingerprint ${givenFingerprint}`}). ${advice}`,
    )
    this.name = 'KeyMismatchError'
  }
}
