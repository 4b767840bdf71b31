#!/usr/bin/env node
// Generates the console's API types from the control plane's OpenAPI document:
//   generate.mjs <openapi.json> write   copies it to console/openapi.json and writes src/api/schema.d.ts
//   generate.mjs <openapi.json> check   fails when either committed file differs from what it generates
// scripts/build-console runs it with the document `cwic openapi` prints; scripts/test uses `check`.
import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import openapiTS, { astToString } from 'openapi-typescript'

const consoleDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const [source, mode = 'write'] = process.argv.slice(2)
if (!source || !['write', 'check'].includes(mode)) {
  console.error('usage: generate.mjs <openapi.json> [write|check]')
  process.exit(2)
}

const document = readFileSync(source, 'utf8')
const header =
  '// Generated from console/openapi.json (`cwic openapi`) by openapi-typescript: do not edit.\n' +
  '// Refresh with scripts/build-console.\n\n'
const types = header + astToString(await openapiTS(JSON.parse(document), { alphabetize: true }))

const outputs = [
  [join(consoleDir, 'openapi.json'), document],
  [join(consoleDir, 'src', 'api', 'schema.d.ts'), types],
]
if (mode === 'write') {
  for (const [path, text] of outputs) writeFileSync(path, text)
} else {
  const stale = outputs
    .filter(([path, text]) => !existsSync(path) || readFileSync(path, 'utf8') !== text)
    .map(([path]) => relative(join(consoleDir, '..'), path))
  if (stale.length > 0) {
    console.error(
      `${stale.join(' and ')} ${stale.length > 1 ? 'are' : 'is'} stale: the REST API's OpenAPI document changed. ` +
        'Run scripts/build-console to regenerate, then commit the result.',
    )
    process.exit(1)
  }
}
