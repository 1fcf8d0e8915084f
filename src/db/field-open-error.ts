/**
 * A stored field that does not open under its owner's key: altered, moved, or written under a key
 * that is not here. Names the place, never the data. The API answers it with a generic 500; the
 * server log gets this message.
 */
export class FieldOpenError extends Error {
  constructor(readonly table: string, readonly column: string, readonly rowId: string) {
    super(`Encrypted field ${table}.${column} of row ${rowId} could not be opened with its key.`)
    this.name = 'FieldOpenError'
  }
}
