/**
 * Hostile Markdown and HTML, as a model might be prompted to write it. Each payload, if it ran,
 * would set `window.__xss`, open a dialog, or fetch from 203.0.113.9 (TEST-NET-3, never routable).
 */
const OUTSIDE = 'http://203.0.113.9'

export const xssPayloads: readonly string[] = [
  '<script>window.__xss = "script"</script>',
  '<img src=x onerror="window.__xss=\'img\'">',
  '<img src="x" onerror=alert(1)>',
  '<svg onload="window.__xss=\'svg\'"><circle r="5"/></svg>',
  '<svg><script>window.__xss="svg-script"</script></svg>',
  '<iframe src="javascript:window.parent.__xss=\'iframe\'"></iframe>',
  `<iframe srcdoc="<script>parent.__xss='srcdoc'</script>"></iframe>`,
  `<iframe src="${OUTSIDE}/frame"></iframe>`,
  '[click me](javascript:window.__xss=\'md-link\')',
  '[tricky](JaVaScRiPt:alert(1))',
  '[spaced]( javascript:alert(1) )',
  '[encoded](javascript&#58;alert(1))',
  '[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '<a href="javascript:alert(1)">raw link</a>',
  '<javascript:alert(1)>',
  `![tracker](${OUTSIDE}/pixel.png)`,
  `<img src="${OUTSIDE}/raw.png">`,
  `<img srcset="${OUTSIDE}/set.png 1x">`,
  `<style>@import url(${OUTSIDE}/import.css); body { display: none }</style>`,
  `<div style="background:url(${OUTSIDE}/bg.png)">styled</div>`,
  `<link rel="stylesheet" href="${OUTSIDE}/sheet.css">`,
  `<meta http-equiv="refresh" content="0;url=${OUTSIDE}/refresh">`,
  `<base href="${OUTSIDE}/">`,
  `<object data="${OUTSIDE}/object"></object>`,
  `<embed src="${OUTSIDE}/embed">`,
  `<video poster="${OUTSIDE}/poster.png"><source src="${OUTSIDE}/v.mp4"></video>`,
  '<details open ontoggle="window.__xss=\'details\'"><summary>x</summary></details>',
  '<form action="javascript:alert(1)"><button>go</button></form>',
  '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">m</maction></math>',
  '<body onload="window.__xss=\'body\'">',
  '<input autofocus onfocus="window.__xss=\'focus\'">',
  '<marquee onstart="window.__xss=\'marquee\'">m</marquee>',
  '<a id="__xss" name="__xss">clobber</a>',
  '```html\n<script>window.__xss = "fence"</script>\n<img src=x onerror=alert(1)>\n```',
  '`<img src=x onerror=alert(1)>`',
  '<scr<script>ipt>window.__xss="nested"</scr</script>ipt>',
  '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
  '<!--<img src="--><img src=x onerror=alert(1)//">',
]

/** The whole corpus as one Markdown answer. */
export const xssDocument = xssPayloads.join('\n\n')

/** Cuts text into pieces of `size` characters, so tags and attributes straddle stream chunks. */
export function splitIntoChunks(text: string, size: number): string[] {
  const chunks: string[] = []
  for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size))
  return chunks
}
