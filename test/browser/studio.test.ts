/**
 * Story42 Studio in a real browser: Debian's Chromium driven by playwright-core against the
 * whole local platform (`startLocalPlatform`, as `npm start` runs it) serving a fresh build of
 * the app. Screenshots of every page land in test-results/studio/ (CI keeps them), and every
 * page shot is checked with axe-core for WCAG 2.1 A/AA (serious or critical findings fail).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startLocalPlatform, type LocalPlatform } from '../../src/local/platform';
import { ADMIN_USER, DEMO_USER, freePort, idTokenFor } from '../../src/local/services';

const ROOT = path.resolve(__dirname, '..', '..');
const BUILD = path.join(ROOT, '.tmp', 'studio-browser-test');
export const SCREENSHOTS = path.join(ROOT, 'test-results', 'studio');
const CHROMIUM = process.env.STORY42_CHROMIUM ?? '/usr/bin/chromium';
// As the machine's probe starts it: no sandbox as root, and no background connections (the network is closed).
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'];

let local: LocalPlatform;
let browser: Browser;
let page: Page;
const problems: string[] = [];

/** axe-core, the accessibility engine, run in the page (as a string: the page's CSP allows no injected script tags). */
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_RUN = `;axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }).then((r) => r.violations
  .filter((v) => v.impact === 'serious' || v.impact === 'critical')
  .map((v) => v.id + ' (' + v.nodes.length + '): ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')))`;

/** A screenshot of the page as it is, and its WCAG 2.1 A/AA check: serious or critical findings fail the test. */
async function shot(name: string): Promise<void> {
  // The page at rest: the pointer off every control (no hover or press state) and CSS transitions
  // run to their end, so the picture and the contrast check see the colours a reader sees.
  await page.mouse.move(0, 0);
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true, animations: 'disabled' });
  const violations = (await page.evaluate(AXE + AXE_RUN)) as string[];
  for (const v of violations) problems.push(`${name}: accessibility: ${v}`);
}

/** POSTs each body to `path` as `user`, through the local gateway (as the app would), each answered 200. */
async function createThrough(route: string, user: { email: string; password: string }, bodies: unknown[]): Promise<void> {
  const token = await idTokenFor(local.services.ports.cognito, local.services.clientId, user);
  for (const body of bodies) {
    const res = await fetch(`${local.url}${route}`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
  }
}

async function signIn(user: { email: string; password: string }): Promise<void> {
  await page.goto(`${local.url}/signin`);
  await page.getByLabel('Username or email').fill(user.email);
  await page.getByRole('textbox', { name: 'Password' }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'New story', level: 1 }).waitFor();
}

// Page functions run in the browser (serialized: they use nothing from this file but types). The
// project's Node type-check has no DOM types, so the little of the DOM they touch is typed here.
interface Media {
  complete: boolean;
  naturalWidth: number;
  readyState: number;
  duration: number;
  getAttribute(name: string): string | null;
}
interface InBrowser {
  document: { querySelector(selector: string): Media | null; querySelectorAll(selector: string): ArrayLike<Media> };
}

/** How many panel pictures on the page have loaded (decoded, with real pixels): at least `n`. */
const panelsLoaded = (n: number): boolean =>
  Array.from((globalThis as unknown as InBrowser).document.querySelectorAll('img[alt^="Panel "]')).filter((i) => i.complete && i.naturalWidth > 0).length >= n;
const loadedPanels = (): Promise<number> =>
  page.evaluate(() => Array.from((globalThis as unknown as InBrowser).document.querySelectorAll('img[alt^="Panel "]')).filter((i) => i.complete && i.naturalWidth > 0).length);

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install Debian's chromium (sudo apt-get install -y chromium) or set STORY42_CHROMIUM to a Chromium binary`);
  rmSync(SCREENSHOTS, { recursive: true, force: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
  const built = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'web/vite.config.mts', '--outDir', BUILD, '--emptyOutDir', '--logLevel', 'warn'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`vite build failed:\n${built.stdout}\n${built.stderr}`);
  const dataDir = path.join(ROOT, '.tmp', `browser-data-${process.pid}`);
  rmSync(dataDir, { recursive: true, force: true });
  local = await startLocalPlatform({ dataDir, port: 0, ports: { s3: await freePort(), dynamodb: await freePort(), cognito: await freePort() }, studioDir: BUILD });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await local?.stop();
});

afterEach(() => {
  // No script errors, no CSP violations and no serious accessibility findings on any page (each test its own).
  expect(problems.splice(0)).toEqual([]);
});

describe('Story42 Studio in Chromium', () => {
  let visualJob = '';

  it('signs the demo user in', async () => {
    await page.goto(`${local.url}/`);
    await page.getByRole('heading', { name: 'Sign in to Story42 Studio' }).waitFor();
    await shot('01-sign-in');
    await signIn(DEMO_USER);
    await shot('02-new-story');
  });

  it('makes a 4-panel visual story: the story is written, then four pictures load', async () => {
    await page.getByLabel('Story idea').fill('A shy hedgehog named Pip learns to sing at the forest festival');
    await page.getByRole('textbox', { name: 'Panels' }).fill('4');
    await page.getByRole('button', { name: 'Write the outline' }).click();
    await page.getByRole('heading', { name: 'Outline' }).waitFor();
    await shot('03-outline');
    await page.getByRole('button', { name: 'Write the story' }).click();
    await page.getByText('Your story is illustrated.').waitFor({ timeout: 60_000 });
    await page.waitForFunction(panelsLoaded, 4);
    expect(await loadedPanels()).toBe(4);
    visualJob = (await page.getByText(/^Job studio-/).textContent())?.match(/Job (\S+)/)?.[1] ?? '';
    expect(visualJob).toMatch(/^studio-/);
    await shot('04-visual-story');
  });

  it('redraws one panel, and its new picture replaces the old one in place', async () => {
    const panel = page.locator('img[alt^="Panel 2"]');
    const before = await panel.getAttribute('data-s3-uri');
    await page.getByRole('button', { name: 'Redraw panel 2' }).click();
    await page.getByLabel('What should change in the picture of panel 2?').fill('make it night, with many stars');
    await page.getByRole('button', { name: 'Redraw panel 2' }).click();
    await page.waitForFunction((b) => (globalThis as unknown as InBrowser).document.querySelector('img[alt^="Panel 2"]')?.getAttribute('data-s3-uri') !== b, before);
    expect(await panel.getAttribute('data-s3-uri')).not.toBe(before);
    await page.waitForFunction(() => {
      const img = (globalThis as unknown as InBrowser).document.querySelector('img[alt^="Panel 2"]');
      return img !== null && img.complete && img.naturalWidth > 0;
    });
    expect(await loadedPanels()).toBe(4);
    await shot('05-panel-redrawn');
  });

  it('makes a 1-minute audio story, and the player reports its duration', async () => {
    await page.getByRole('button', { name: 'Start a new story' }).click();
    await page.getByText('Narrated audio').click();
    await page.getByRole('textbox', { name: 'Length (minutes)' }).fill('1');
    await page.getByLabel('Story idea').fill('Mia and Leo follow the bees to find where honey comes from');
    await page.getByRole('button', { name: 'Write the outline' }).click();
    await page.getByRole('button', { name: 'Write the story' }).click();
    await page.getByText('Your story is narrated.').waitFor({ timeout: 120_000 });
    // What the player reports: the audio element's duration once its metadata has loaded.
    await page.waitForFunction(() => ((globalThis as unknown as InBrowser).document.querySelector('audio[aria-label="The whole story"]')?.readyState ?? 0) >= 1);
    const duration = await page.evaluate(() => (globalThis as unknown as InBrowser).document.querySelector('audio[aria-label="The whole story"]')?.duration ?? 0);
    expect(duration).toBeGreaterThan(20);
    expect(duration).toBeLessThan(180);
    await shot('06-audio-story');
  });

  it('opens the library, opens the visual story, and deletes it', async () => {
    await page.getByRole('link', { name: 'Library', exact: true }).click();
    await page.getByRole('heading', { name: 'Library', level: 1 }).waitFor();
    const card = page.locator('article', { hasText: 'A shy hedgehog named Pip' }).first();
    await card.waitFor();
    await shot('07-library');
    await card.getByRole('link', { name: /^Open/ }).click();
    await page.waitForURL(`**/library/${visualJob}`);
    await page.waitForFunction(panelsLoaded, 4);
    await shot('08-job');
    // Downloads: the story as Markdown, and a panel's PNG fetched from its presigned URL.
    const [markdown] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download story as Markdown' }).click()]);
    expect(markdown.suggestedFilename()).toBe(`${visualJob}.md`);
    expect(readFileSync((await markdown.path()) ?? '', 'utf8')).toContain('Pip');
    const [png] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download panel 1 (PNG)' }).click()]);
    expect(readFileSync((await png.path()) ?? '').subarray(1, 4).toString('latin1')).toBe('PNG');
    await page.getByRole('button', { name: 'Delete story' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Yes, delete' }).click();
    await page.waitForURL('**/library');
    await page.getByRole('heading', { name: 'Library', level: 1 }).waitFor();
    await expect(page.locator('article', { hasText: 'A shy hedgehog named Pip' }).count()).resolves.toBe(0);
    await shot('09-library-after-delete');
  });

  it('shows the story agent\'s conversations a page at a time and, on a phone, the studio', async () => {
    // 21 conversations: one more than a page of the list (20).
    await createThrough('/agent/sessions', DEMO_USER, Array.from({ length: 21 }, () => ({})));
    await page.getByRole('link', { name: 'Story agent', exact: true }).click();
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    const rows = page.getByRole('list', { name: 'Conversations' }).getByRole('listitem');
    await page.getByRole('button', { name: 'Load more' }).waitFor();
    await expect(rows.count()).resolves.toBe(20);
    await shot('10-agent');
    await page.getByRole('button', { name: 'Load more' }).click();
    await rows.nth(20).waitFor();
    await expect(page.getByRole('button', { name: 'Load more' }).count()).resolves.toBe(0);
    await expect(rows.count()).resolves.toBe(21);
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${local.url}/`);
    await page.getByRole('heading', { name: 'New story', level: 1 }).waitFor();
    await shot('11-phone-new-story');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('shows the admin pages to the admin group only, projects a page at a time', async () => {
    await expect(page.getByRole('link', { name: 'Admin', exact: true }).count()).resolves.toBe(0);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(ADMIN_USER);
    await page.getByRole('link', { name: 'Admin', exact: true }).click();
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    await shot('12-admin');
    // Projects, a page (12) at a time: 13 make two pages.
    await createThrough('/projects', ADMIN_USER, Array.from({ length: 13 }, (_, i) => ({ name: `Project ${i + 1}` })));
    await page.getByRole('tab', { name: 'Projects' }).click();
    const more = page.getByRole('button', { name: 'Load more projects' });
    await more.waitFor();
    const cards = page.locator('article', { hasText: /^Project \d+/ });
    await expect(cards.count()).resolves.toBe(12);
    await more.click();
    await cards.nth(12).waitFor();
    await expect(more.count()).resolves.toBe(0);
    await expect(cards.count()).resolves.toBe(13);
  });
});
