/**
 * Preloaded (`bun --preload`) into a run of src/main.ts: at exit, writes the paths of every module the
 * process evaluated, one a line, to the file LOADED_MODULES_FILE names. Tests read it to check
 * that a command loads only its own code.
 */
import { writeFileSync } from 'node:fs'

const file = process.env.LOADED_MODULES_FILE
if (file !== undefined) process.once('exit', () => writeFileSync(file, Object.keys(require.cache).join('\n')))
