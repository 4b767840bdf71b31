#!/usr/bin/env node
// Browser smoke test of the built console against a running server (the control plane, or any server
// that serves console/dist and the /api/v1 endpoints).
//
//   node console/tests/smoke.mjs <base-url> <expected-asset-name> [inventory.png [detail.png]]
//
// Signs in with CWIC_EMAIL and CWIC_PASSWORD through the sign-in page, opens <base-url>/, waits for
// the asset inventory, checks that the row of <expected-asset-name>
// (its name, or schema.name) is there with a formatted row count, opens it, and checks that the detail
// page shows the columns table with at least one NULL % value. Fails on any browser console error,
// uncaught page error, failed request or HTTP error response. With a screenshot path it writes the
// inventory there and the detail page next to it (`<name>-detail.png`) unless a second path is given.
// Finally reloads the detail page and checks the session resumes from the refresh cookie.
//
// Uses playwright-core with Debian's Chromium (no browser download); override the binary with
// CHROMIUM=/path/to/chromium. Exit code 0 = pass, 1 = fail (reason on stderr), 2 = bad usage.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { chromium } from 'playwright-core'

const USAGE = 'usage: node tests/smoke.mjs <base-url> <expected-asset-name> [inventory.png [detail.png]]'
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
const STEP_TIMEOUT_MS = 30_000
/** Inventory refreshes every 15 s: wait for more than one refresh before giving up on the asset. */
const ASSET_TIMEOUT_MS = 40_000
const OVERALL_TIMEOUT_MS = 120_000
/** "1,234,567", "42", "0": the row count as the en-US locale groups it. */
const FORMATTED_COUNT = /^\d{1,3}(,\d{3})*$/
const PERCENT = /^(<|>)?\d+(\.\d+)?%$/

const [baseArg, expectedName, inventoryShot, detailShotArg] = process.argv.slice(2)
const EMAIL = process.env.CWIC_EMAIL
const PASSWORD = process.env.CWIC_PASSWORD
/** Optional: a check on the asset that must show as failing, with its failing-row count. */
const FAILING_CHECK = process.env.CWIC_EXPECT_FAILING_CHECK
if (!baseArg || !expectedName || !EMAIL || !PASSWORD) {
  console.error(`${USAGE}\n(with CWIC_EMAIL and CWIC_PASSWORD set to a member's sign-in)`)
  process.exit(2)
}
const baseUrl = baseArg.replace(/\/+$/, '')
const detailShot =
  detailShotArg ||
  (inventoryShot
    ? path.join(
        path.dirname(inventoryShot),
        `${path.basename(inventoryShot, path.extname(inventoryShot))}-detail${path.extname(inventoryShot) || '.png'}`,
      )
    : undefined)

const log = (message) => console.log(`smoke: ${message}`)

class SmokeFailure extends Error {}
const fail = (message) => {
  throw new SmokeFailure(message)
}

const problems = []
const userDataDir = mkdtempSync(path.join(tmpdir(), 'cwic-smoke-'))
let context

const watchdog = setTimeout(() => {
  console.error(`smoke: FAIL: gave up after ${OVERALL_TIMEOUT_MS / 1000} s`)
  process.exit(1)
}, OVERALL_TIMEOUT_MS)
watchdog.unref()

async function findAssetRow(page) {
  // Each asset row carries data-asset-name and data-asset-qualified-name (schema.name).
  const deadline = Date.now() + ASSET_TIMEOUT_MS
  for (;;) {
    const rows = page.locator('table[aria-label="Assets"] tr[data-asset-id]')
    const count = await rows.count()
    for (let index = 0; index < count; index++) {
      const row = rows.nth(index)
      const [name, qualified] = await Promise.all([
        row.getAttribute('data-asset-name'),
        row.getAttribute('data-asset-qualified-name'),
      ])
      if (name === expectedName || qualified === expectedName) return row
    }
    if (Date.now() > deadline) {
      const seen = await page
        .locator('table[aria-label="Assets"] tr[data-asset-id]')
        .evaluateAll((elements) => elements.map((element) => element.getAttribute('data-asset-qualified-name')))
      const state = (await page.locator('.state-view').allInnerTexts()).map((text) => text.replace(/\s+/g, ' ').trim())
      fail(
        `asset "${expectedName}" is not in the inventory after ${ASSET_TIMEOUT_MS / 1000} s; ` +
          (seen.length ? `rows shown: ${seen.join(', ')}` : `no rows shown${state.length ? `: ${state.join(' | ')}` : ''}`),
      )
    }
    await page.waitForTimeout(500)
  }
}

async function run() {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1360, height: 860 },
    deviceScaleFactor: 1,
    locale: 'en-US',
    timezoneId: 'UTC',
    reducedMotion: 'reduce',
  })
  const page = context.pages()[0] ?? (await context.newPage())
  page.setDefaultTimeout(STEP_TIMEOUT_MS)

  page.on('console', (message) => {
    if (message.type() === 'error') {
      const where = message.location()?.url
      problems.push(`console error: ${message.text()}${where ? ` (${where})` : ''}`)
    }
  })
  page.on('pageerror', (error) => problems.push(`uncaught page error: ${error.message}`))
  page.on('requestfailed', (request) => {
    const reason = request.failure()?.errorText ?? 'unknown'
    // The console aborts its own in-flight polls when the user leaves a page: not a failure.
    if (reason === 'net::ERR_ABORTED') return
    problems.push(`request failed: ${request.method()} ${request.url()}: ${reason}`)
  })
  page.on('response', (response) => {
    if (response.status() >= 400) {
      problems.push(`HTTP ${response.status()} for ${response.request().method()} ${response.url()}`)
    }
  })

  // ---- inventory ----
  log(`opening ${baseUrl}/`)
  const response = await page.goto(`${baseUrl}/`, { waitUntil: 'domcontentloaded' })
  if (!response || !response.ok()) fail(`GET ${baseUrl}/ answered ${response ? response.status() : 'nothing'}`)

  // ---- sign-in ----
  await page.getByRole('heading', { level: 1, name: 'Sign in to CWIC' }).waitFor()
  await page.getByLabel('E-mail').fill(EMAIL)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  log(`signed in as ${EMAIL}`)

  await page.getByRole('heading', { level: 1, name: 'Assets' }).waitFor()
  const signedIn = (await page.locator('.sidebar-session').innerText()).replace(/\s+/g, ' ')
  if (!signedIn.includes(EMAIL)) fail(`the sidebar does not show the signed-in user: "${signedIn}"`)
  // The inventory is rendered once the table or an empty/error state replaces the skeleton.
  await page.locator('table[aria-label="Assets"], .state-view').first().waitFor()
  const errorState = page.locator('.state-view.tone-danger')
  if (await errorState.count()) fail(`the inventory shows an error: ${(await errorState.innerText()).replace(/\s+/g, ' ')}`)

  const row = await findAssetRow(page)
  const rowCount = (await row.locator('td[data-col="rows"]').innerText()).trim()
  if (!FORMATTED_COUNT.test(rowCount)) {
    fail(`row count of "${expectedName}" is "${rowCount}", expected a number with thousands separators`)
  }
  log(`inventory shows "${expectedName}" with ${rowCount} rows`)

  if (inventoryShot) {
    await page.screenshot({ path: inventoryShot, fullPage: true })
    log(`wrote ${inventoryShot}`)
  }

  // ---- detail ----
  const link = row.getByRole('link')
  const linkText = (await link.innerText()).trim()
  await link.click()
  await page.waitForURL(/\/assets\/[0-9a-f-]{36}$/i)
  await page.getByRole('heading', { level: 1 }).filter({ hasText: expectedName }).waitFor()

  const columns = page.getByRole('table', { name: /^Columns/ })
  await columns.waitFor()
  const columnRows = await columns.locator('tbody tr').count()
  if (columnRows === 0) fail('the columns table has no rows')

  const percentCells = columns.locator('td[data-col="null-pct"]')
  await page
    .waitForFunction(
      (pattern) =>
        [...document.querySelectorAll('td[data-col="null-pct"] .null-bar-value')].some((cell) =>
          new RegExp(pattern).test(cell.textContent.trim()),
        ),
      PERCENT.source,
      { timeout: STEP_TIMEOUT_MS },
    )
    .catch(async () => {
      const texts = (await percentCells.allInnerTexts()).map((text) => text.trim())
      fail(`no NULL % value in the columns table of "${linkText}" (cells: ${texts.join(', ') || 'none'})`)
    })
  const percents = (await percentCells.allInnerTexts()).map((text) => text.trim()).filter((text) => PERCENT.test(text))
  log(`detail of "${linkText}" shows ${columnRows} columns, NULL %: ${percents.join(', ')}`)

  if (FAILING_CHECK) {
    const checks = page.getByRole('table', { name: /^Checks/ })
    await checks.waitFor({ timeout: STEP_TIMEOUT_MS }).catch(() => fail('the checks table did not render'))
    const checkRow = checks.locator(`tr[data-check-name="${FAILING_CHECK}"]`)
    await checkRow.waitFor({ timeout: STEP_TIMEOUT_MS }).catch(() => fail(`no row for check "${FAILING_CHECK}"`))
    const status = await checkRow.getAttribute('data-check-status')
    const badge = (await checkRow.locator('.badge-check').innerText()).trim()
    const result = (await checkRow.locator('.check-result').innerText()).trim()
    if (status !== 'fail' || badge !== 'Fail') fail(`check "${FAILING_CHECK}" shows ${badge} (${status}), expected Fail`)
    if (!/^\d[\d,]* of [\d,]+ rows fail$/.test(result)) fail(`check "${FAILING_CHECK}" result reads "${result}"`)
    log(`check "${FAILING_CHECK}" shows Fail: ${result}`)
  }

  // The quality score: a number or "Not measured" overall, and a dimension without evidence says
  // "Not measured" (timeliness: no check or metric measures it here), never 100.
  const score = page.getByRole('region', { name: 'Quality score' })
  await score.waitFor({ timeout: STEP_TIMEOUT_MS }).catch(() => fail('the quality score did not render'))
  const overall = (await score.getByTestId('asset-score').innerText()).trim()
  if (!/^(\d{1,3}\.\d|Not measured)$/.test(overall)) fail(`the score reads "${overall}"`)
  const timeliness = (await score.locator('[data-dimension="timeliness"] dd').innerText()).trim()
  if (timeliness !== 'Not measured') fail(`timeliness reads "${timeliness}", expected "Not measured"`)
  log(`quality score ${overall}; timeliness not measured`)

  // Let the row-count history land (its card shows a sparkline, a message or nothing to draw).
  await page
    .locator('.trend-card .sparkline, .trend-card .card-message')
    .first()
    .waitFor()
    .catch(() => fail('the row count history did not render'))

  if (detailShot) {
    await page.mouse.move(0, 0) // no hover highlight in the picture
    await page.screenshot({ path: detailShot, fullPage: true })
    log(`wrote ${detailShot}`)
  }

  // ---- a reload resumes the session from the HttpOnly refresh cookie, no sign-in page ----
  await page.reload({ waitUntil: 'domcontentloaded' })
  await page.getByRole('heading', { level: 1 }).filter({ hasText: expectedName }).waitFor()
  log('reload kept the session')

  // Give late requests (history, a poll) a moment to report failures before judging.
  await page.waitForLoadState('networkidle', { timeout: 5_000 }).catch(() => {})
  if (problems.length) fail(`the browser reported problems:\n  - ${problems.join('\n  - ')}`)
}

let exitCode = 0
try {
  await run()
  log('PASS')
} catch (error) {
  exitCode = 1
  const message = error instanceof SmokeFailure ? error.message : (error?.stack ?? String(error))
  console.error(`smoke: FAIL: ${message}`)
  if (problems.length && !(error instanceof SmokeFailure && message.includes('the browser reported'))) {
    console.error(`smoke: browser problems seen:\n  - ${problems.join('\n  - ')}`)
  }
} finally {
  await context?.close().catch(() => {})
  rmSync(userDataDir, { recursive: true, force: true })
  clearTimeout(watchdog)
}
process.exit(exitCode)
