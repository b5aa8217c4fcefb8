/**
 * The API reference page served at /docs, rendered once on the server from the OpenAPI document:
 * plain HTML with one inline stylesheet and no script, so it needs no CDN (the service may have no
 * network) and fits the CSP (style-src allows inline styles; script-src 'self' is not needed).
 * Every value from the description is HTML-escaped.
 */
import type { OpenApiDocument } from './openapi.js';

type Json = Record<string, unknown>;

export function renderDocsPage(document: OpenApiDocument): string {
  const info = (document['info'] ?? {}) as Json;
  const tags = ((document['tags'] ?? []) as Json[]).map((tag) => String(tag['name']));
  const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
  );
  const byTag = tags.map((tag) => ({ tag, operations: operations.filter(({ operation }) => (operation['tags'] as string[] | undefined)?.[0] === tag) }));
  const nav = byTag
    .map(
      ({ tag, operations: list }) =>
        `<li><a href="#tag-${attr(tag)}">${esc(tag)}</a><ul>${list.map(({ method, path, operation }) => `<li><a href="#${attr(String(operation['operationId']))}"><span class="m ${attr(method)}">${esc(method.toUpperCase())}</span> ${esc(path)}</a></li>`).join('')}</ul></li>`,
    )
    .join('');
  const sections = byTag
    .map(
      ({ tag, operations: list }) =>
        `<section id="tag-${attr(tag)}"><h2>${esc(tag)}</h2>${list.map(({ method, path, operation }) => renderOperation(method, path, operation)).join('')}</section>`,
    )
    .join('');
  const schemas = Object.entries(document.components.schemas)
    .map(([name, schema]) => `<section class="schema" id="schema-${attr(name)}"><h3>${esc(name)}</h3>${pre(schema)}</section>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>colmeia API reference</title><link rel="icon" href="data:,"><style>${STYLE}</style></head>
<body><header><h1>colmeia API <small>v${esc(asText(info['version']))} · OpenAPI ${esc(asText(document['openapi']))}</small></h1>
<p>${esc(asText(info['description']))}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> · Chat page: <a href="/">/</a> · Authentication: <code>Authorization: Bearer &lt;API key&gt;</code> on every route not marked public (event streams also take <code>?access_token=</code>).</p></header>
<div class="layout"><nav aria-label="Routes"><ul>${nav}<li><a href="#schemas">schemas</a></li></ul></nav>
<main>${sections}<section id="schemas"><h2>schemas</h2>${schemas}</section></main></div></body></html>
`;
}

function renderOperation(method: string, path: string, operation: Json): string {
  const security = operation['security'] as unknown[] | undefined;
  const access = typeof operation['x-access'] === 'string' ? operation['x-access'] : 'read';
  const allCollections = operation['x-needs-all-collections'] === true ? ', every collection' : '';
  const auth =
    security !== undefined && security.length === 0
      ? '<span class="badge public">public</span>'
      : `<span class="badge">${esc(access)} key${allCollections}</span>`;
  const parameters = (operation['parameters'] ?? []) as Json[];
  const parameterRows = parameters
    .map(
      (p) =>
        `<tr><td><code>${esc(String(p['name']))}</code></td><td>${esc(String(p['in']))}</td><td>${p['required'] ? 'yes' : 'no'}</td><td>${esc(asText(p['description']))} <code class="schema-inline">${esc(JSON.stringify(p['schema'] ?? {}))}</code></td></tr>`,
    )
    .join('');
  const body = operation['requestBody'] as Json | undefined;
  const bodies = Object.entries((body?.['content'] ?? {}) as Record<string, Json>)
    .map(
      ([type, media]) =>
        `<h4>Request body <code>${esc(type)}</code></h4>${media['example'] !== undefined ? pre(media['example']) : ''}<details><summary>schema</summary>${pre(media['schema'])}</details>`,
    )
    .join('');
  const responses = Object.entries((operation['responses'] ?? {}) as Record<string, Json>)
    .map(([status, response]) => {
      const [type, media] = Object.entries((response['content'] ?? {}) as Record<string, Json>)[0] ?? ['', {}];
      const schema = media['schema'] as Json | undefined;
      const ref = typeof schema?.['$ref'] === 'string' ? schema['$ref'].replace('#/components/schemas/', '') : undefined;
      const shape = ref !== undefined ? `<a href="#schema-${attr(ref)}">${esc(ref)}</a>` : `<code>${esc(type)}</code>`;
      const example = media['example'] !== undefined ? `<details><summary>example</summary>${pre(media['example'])}</details>` : '';
      return `<tr><td class="status s${esc(status.charAt(0))}">${esc(status)}</td><td>${esc(asText(response['description']))}</td><td>${shape}${example}</td></tr>`;
    })
    .join('');
  return `<article id="${attr(String(operation['operationId']))}"><h3><span class="m ${attr(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code> ${auth}</h3>
<p class="summary">${esc(asText(operation['summary']))}</p>${operation['description'] ? `<p>${esc(asText(operation['description']))}</p>` : ''}
${parameterRows ? `<h4>Parameters</h4><table><thead><tr><th>name</th><th>in</th><th>required</th><th>schema</th></tr></thead><tbody>${parameterRows}</tbody></table>` : ''}
${bodies}<h4>Responses</h4><table><thead><tr><th>status</th><th>meaning</th><th>body</th></tr></thead><tbody>${responses}</tbody></table></article>`;
}

/** One of OpenAPI's text fields (all strings); absent is empty. */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Pretty JSON with component references as links. */
function pre(value: unknown): string {
  const text = esc(typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return `<pre>${text.replace(/&quot;#\/components\/schemas\/(\w+)&quot;/g, '&quot;<a href="#schema-$1">#/components/schemas/$1</a>&quot;')}</pre>`;
}

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char] ?? char);
}

function attr(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_');
}

const STYLE = `
:root{--fg:#1d2330;--muted:#5b6475;--line:#e3e6ec;--bg:#fafbfc;--accent:#b26a00}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
header{padding:1.5rem 2rem;border-bottom:1px solid var(--line);background:#fff}h1{margin:0 0 .5rem;font-size:1.6rem}h1 small{font-weight:400;color:var(--muted);font-size:.9rem}
.layout{display:grid;grid-template-columns:18rem 1fr}nav{position:sticky;top:0;align-self:start;max-height:100vh;overflow:auto;padding:1rem;border-right:1px solid var(--line);font-size:.85rem}
nav ul{list-style:none;margin:0;padding:0}nav>ul>li{margin-bottom:.8rem;font-weight:600}nav li li{font-weight:400;margin:.15rem 0}nav a{color:var(--fg);text-decoration:none}nav a:hover{text-decoration:underline}
main{padding:1rem 2rem;min-width:0}h2{text-transform:capitalize;border-bottom:2px solid var(--accent);padding-bottom:.2rem}
article{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem 1.25rem;margin:1rem 0}article h3{margin:0;font-size:1.05rem}
.m{display:inline-block;min-width:3.6rem;text-align:center;border-radius:4px;padding:0 .3rem;color:#fff;font-size:.75rem;font-weight:700;vertical-align:middle}
.m.get{background:#2f6fb3}.m.post{background:#2e8b57}.m.delete{background:#b3412f}
.badge{font-size:.7rem;border:1px solid var(--line);border-radius:999px;padding:0 .5rem;color:var(--muted);vertical-align:middle}.badge.public{color:#2e8b57;border-color:#2e8b57}
.summary{font-weight:600}h4{margin:1rem 0 .3rem;font-size:.9rem}
table{border-collapse:collapse;width:100%;font-size:.85rem}th,td{border-top:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}
td.status{font-weight:700;width:4rem}td.s2{color:#2e8b57}td.s4,td.s5{color:#b3412f}
pre{background:#f3f5f8;border-radius:6px;padding:.6rem .8rem;overflow:auto;font-size:.8rem;max-height:24rem}code{font-size:.85em}.schema-inline{color:var(--muted);word-break:break-all}
details summary{cursor:pointer;color:var(--muted);font-size:.8rem}
@media (max-width:800px){.layout{display:block}nav{position:static;max-height:none;border-right:0}}
`;
