import axe from 'axe-core';
import { expect } from 'vitest';

/**
 * axe-core over a rendered widget in jsdom, failing on serious or critical violations (issue 5,
 * WCAG 2.1 AA). jsdom has no layout or canvas, so colour contrast is left to the browser suite.
 */
export async function expectNoSeriousViolations(context: Element | ShadowRoot): Promise<void> {
  const target = context instanceof ShadowRoot ? (context.host as Element) : context;
  const results = await axe.run(target, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    rules: { 'color-contrast': { enabled: false }, region: { enabled: false } },
  });
  const serious = results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
  expect(serious.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`)).toEqual([]);
}
