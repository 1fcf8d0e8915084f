/** Where the one-time setup token is, for the first account on a server reachable from the network. */
export function SetupTokenHelp() {
  return (
    <div class="notice setup-token-help" id="setup-token-help">
      <p>This server is reachable from the network, so the first account needs its <strong>setup token</strong>, a one-time code in the server's data directory. Read it on the server:</p>
      <ul>
        <li>Docker: <code>docker exec &lt;container&gt; cat /data/.setup_token</code></li>
        <li>A systemd service: <code>journalctl -u enclave</code> names the file; <code>sudo cat</code> it</li>
        <li>Otherwise: the file <code>.setup_token</code> in <code>DATA_DIR</code> (the console that started Enclave shows it too)</li>
      </ul>
    </div>
  )
}
