import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import type { PageGlobals } from './page-globals';

/**
 * axe-core in the real browser (issue 5: "axe-core reports no serious or critical violation"),
 * colour contrast included since Chromium lays the page out. The source is injected into the page;
 * a selector for a custom element includes its shadow root.
 */

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface Violation {
  id: string;
  impact: string | null;
  targets: string[];
}

/** The serious and critical WCAG 2.1 AA (and best-practice) violations inside `selector`. */
export async function seriousViolations(page: Page, selector: string): Promise<Violation[]> {
  if (!(await page.evaluate(() => (globalThis as unknown as PageGlobals).axe !== undefined))) await page.addScriptTag({ content: axeSource });
  return page.evaluate(async (target) => {
    const results = await (globalThis as unknown as Required<PageGlobals>).axe.run(
      { include: [[target]] },
      { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }, rules: { region: { enabled: false } } },
    );
    return results.violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => ({ id: violation.id, impact: violation.impact ?? null, targets: violation.nodes.map((node) => JSON.stringify(node.target)) }));
  }, selector);
}
