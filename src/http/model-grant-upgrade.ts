/**
 * The upgrade to model grants, finished by the first model listing in which every Ollama
 * connection answered: each model it lists without a grant becomes public (db/model-grants.ts), so
 * an upgrade takes no model away from existing users, and the admin is told in the log (and on
 * the admin page, from GET /api/v1/models/access); on several instances, the first to list does it
 * (the others find it done). Models added later follow
 * BYPASS_MODEL_ACCESS_CONTROL: admins only until granted.
 */
import type { Connections } from '../chat/connections.ts'
import type { ModelGrantRepo } from '../db/model-grants.ts'
import type { Logger } from '../log/logger.ts'

/** The same connections, whose listing finishes a pending upgrade. */
export function withGrantUpgrade(connections: Connections, grants: ModelGrantRepo, log: Logger): Connections {
  return {
    ...connections,
    async listModels() {
      const listing = await connections.listModels()
      if ((await grants.readUpgrade()).pending && listing.statuses.length > 0 && listing.statuses.every((status) => status.ok)) {
        const adopted = await grants.adoptListedModels(listing.models.map((model) => model.name))
        if (adopted !== null) {
          log.warn(`Model access control is on: the ${adopted.length} model(s) that existed before this upgrade stay usable by every user (access_control: null). Models added from now on are for admins only until granted; set who may use which model under Admin > Model access.`, { models: adopted.join(',').slice(0, 500) })
        }
      }
      return listing
    },
  }
}
