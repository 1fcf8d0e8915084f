/** Signing out from anywhere in the page: the socket closes, the session ends, sign-in shows. */
import { stopConversations } from './conversation.ts'
import { navigate } from './router.ts'
import { signOut } from './session.ts'

/** Ends this session (or, with `everywhere`, every session of the user) and shows sign-in. */
export async function leave(everywhere: boolean): Promise<void> {
  stopConversations()
  await signOut(everywhere)
  navigate('/auth', true)
}
