/** Settings › passkeys: not offered yet. */
export function PasskeySettings(_props: { onChange: () => Promise<void> }) {
  return null
}
