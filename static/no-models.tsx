/**
 * What the chat page says when no model is available: an administrator can pull one right there;
 * anyone else is told to ask theirs. A failed listing shows its reason instead.
 */
import { PullForm } from './admin-models.tsx'
import { loadModels, modelsError } from './models.ts'
import { navigate } from './router.ts'
import { user } from './session.ts'

/** In the chat header: a short notice (non-admins are told to ask); on the empty chat page (`full`): the admin's pull form. */
export function NoModelsNotice({ full = false }: { full?: boolean }) {
  if (full) {
    return (
      <div class="no-models stack" role="region" aria-label="No models yet">
        <p><strong>No models yet.</strong> Pull one from the Ollama library to start chatting; small ones such as <code>llama3.2:1b</code> download in a minute or two.</p>
        <PullForm compact />
        <p class="muted small">If a connection is down, check its state under <a href="/admin" onClick={(event) => { event.preventDefault(); navigate("/admin") }}>Ollama connections</a>.</p>
      </div>
    )
  }
  const isAdmin = user.value?.role === 'admin'
  const text = modelsError.value ?? (isAdmin ? 'No models are available yet: pull one below.' : 'No models are available to you yet. Ask your administrator to add one or to grant you access.')
  return (
    <span class="row">
      <span class="alert inline" role="status">{text}</span>
      <button type="button" class="secondary small" onClick={() => void loadModels()}>Try again</button>
    </span>
  )
}
