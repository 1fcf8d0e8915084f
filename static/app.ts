// Placeholder client: shows the server's version, proving the embedded bundle and the API both answer.
const statusLine = document.getElementById('status')

async function showVersion(): Promise<void> {
  const response = await fetch('/api/version')
  const { version } = (await response.json()) as { version: string }
  if (statusLine !== null) statusLine.textContent = `Enclave ${version} is running.`
}

void showVersion()
