/**
 * The widgets' one stylesheet. Inside a custom element it lives in the shadow root, so the page's
 * CSS cannot reach in; the page themes through the inherited custom properties below (documented
 * in docs/widgets.md). Every default pair of colours meets WCAG 2.1 AA contrast (4.5:1 for text).
 */
export const widgetStyles = `
.jifen{--a:var(--jifen-accent,#b3261e);--at:var(--jifen-accent-text,#fff);--tx:var(--jifen-text,#1f2328);--mu:var(--jifen-muted,#57606a);--bd:var(--jifen-border,#6e7781);--bg:var(--jifen-background,#fff);--r:var(--jifen-radius,8px);--s:var(--jifen-spacing,16px);--fc:var(--jifen-focus,#0b57d0);--er:var(--jifen-danger,#a40e26);
box-sizing:border-box;font-family:var(--jifen-font,system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif);font-size:var(--jifen-font-size,1rem);line-height:1.5;color:var(--tx);background:var(--bg);border:1px solid var(--bd);border-radius:var(--r);padding:var(--s)}
.jifen *,.jifen *::before,.jifen *::after{box-sizing:inherit}
.jifen h2,.jifen h3{margin:0 0 .5em;font-size:1.1em;line-height:1.3}
.jifen h3{font-size:1em}
.jifen p{margin:.25em 0}
.jifen ul{margin:0;padding:0;list-style:none}
.jifen .muted{color:var(--mu);font-size:.9em}
.jifen button,.jifen a.button{font:inherit;cursor:pointer;border-radius:var(--r);padding:.45em 1em;border:1px solid var(--a);background:var(--a);color:var(--at);text-decoration:none;display:inline-block;min-height:44px}
.jifen button.secondary{background:var(--bg);color:var(--a)}
.jifen button.link{background:none;border:none;color:var(--a);text-decoration:underline;padding:.25em;min-height:auto}
.jifen button:disabled{cursor:not-allowed;opacity:.6}
.jifen a{color:var(--a)}
.jifen :focus-visible{outline:3px solid var(--fc);outline-offset:2px}
.jifen [tabindex="-1"]:focus{outline:none}
.jifen input[type=number]{font:inherit;width:9em;padding:.35em .5em;border:1px solid var(--bd);border-radius:calc(var(--r) / 2);color:var(--tx);background:var(--bg)}
.jifen input[type=range]{width:100%;accent-color:var(--a);min-height:32px}
.jifen input[aria-invalid=true]{border-color:var(--er);border-width:2px}
.jifen fieldset{border:0;margin:.5em 0;padding:0}
.jifen legend{font-weight:600;padding:0}
.jifen .row{display:flex;flex-wrap:wrap;gap:.5em 1em;align-items:center}
.jifen .split{display:grid;grid-template-columns:auto auto;justify-content:start;gap:0 1em;margin:.5em 0}
.jifen .split dd{margin:0;font-weight:600;text-align:end}
.jifen .error{color:var(--er)}
.jifen [role=alert]{border-inline-start:4px solid var(--er);padding:.25em .75em;margin:.5em 0}
.jifen .card{border:1px solid var(--bd);border-radius:var(--r);padding:calc(var(--s) * .75);margin:0 0 .75em}
.jifen .code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:1.2em;letter-spacing:.08em;user-select:all}
.jifen table{border-collapse:collapse;width:100%}
.jifen th,.jifen td{text-align:start;padding:.35em .5em;border-bottom:1px solid var(--bd)}
.jifen .backdrop{position:fixed;inset:0;background:rgba(0,0,0,.45);display:flex;align-items:center;justify-content:center;z-index:2147483000}
.jifen [role=dialog]{background:var(--bg);color:var(--tx);border-radius:var(--r);padding:var(--s);max-width:min(32em,92vw);box-shadow:0 8px 32px rgba(0,0,0,.3)}
.jifen.banner{background:var(--jifen-banner-background,#fff8e6);border-color:var(--jifen-banner-border,#9a6700)}
.jifen .sparkline{display:block;width:8em;height:2em;color:var(--a)}
.jifen .disclosure{font-size:.85em;color:var(--mu)}
.jifen .visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
`;
