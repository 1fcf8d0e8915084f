import { describeEngineContract } from '../../test/helpers/engine-contract.ts'
import { createSqliteEngine } from './engine.ts'
import { openDatabase } from './open-database.ts'

describeEngineContract('SQLite', async () => createSqliteEngine(openDatabase(':memory:')))
