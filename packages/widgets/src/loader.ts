import { createEarlyStart } from './early-start';
import { defineJifenHosts } from './host-element';

/**
 * The script-tag entry, served as `/widgets/jifen.js` (SPEC §6):
 * `<script type="module" src="https://points.example.com/widgets/jifen.js"></script>`.
 * It registers the three element names at once and imports the widget code (React included) only
 * when the first element connects. The API defaults to where this script came from, one folder up
 * (`https://points.example.com`, or `…/jifen` behind a path prefix), so a page served next to jifen
 * needs no `api-base`. An element with a `token-endpoint` starts its token request and its first
 * calls on connect, while the widget code downloads (early-start.ts).
 */
const script = new URL(import.meta.url);

defineJifenHosts({
  load: () => import('./elements').then((module) => module.widgetModule),
  apiBaseDefault: `${script.origin}${script.pathname.replace(/\/[^/]*\/[^/]*$/, '')}`,
  early: createEarlyStart(),
});
