/**
 * The cost of a bcrypt hash (`$2b$12$...`: 2^12 rounds) and the highest Enclave accepts. Open WebUI
 * writes cost 12. A hash can come from a file someone else made (an Open WebUI import), and each
 * step doubles the work of every sign-in attempt on that account: cost 15 made one failed sign-in
 * take two seconds of CPU, so a higher cost is never imported or verified.
 */

export const MAX_BCRYPT_COST = 12

/** Returns the cost of a bcrypt hash, or null when the text is not one. */
export function bcryptCost(hash: string): number | null {
  const match = /^\$2[aby]\$(\d\d)\$/.exec(hash)
  return match === null ? null : Number(match[1])
}
