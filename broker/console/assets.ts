/**
 * The console's two static files: a small hand-written stylesheet (readable type, phone
 * width, visible focus) and `refresh.js`, the one script, loaded from `'self'` so the CSP
 * needs no `unsafe-inline`. It makes new approval requests appear without a manual
 * reload: every few seconds it asks `/console/approvals/stamp` whether the pending list
 * changed and reloads the page when it did, unless the person has begun changing a form.
 * @module
 */

export const STYLE_CSS = `
:root { color-scheme: light dark; --fg: #1b1b1f; --bg: #fbfbfd; --muted: #5b5b66; --line: #d0d0d8;
  --accent: #1a56c4; --danger: #a4161a; --ok: #1b6e2e; }
@media (prefers-color-scheme: dark) { :root { --fg: #ececf1; --bg: #16161a; --muted: #a4a4b0;
  --line: #3a3a44; --accent: #7aa7ff; --danger: #ff8a8a; --ok: #7fd394; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
header { border-bottom: 1px solid var(--line); padding: .5rem 1rem; }
nav { display: flex; flex-wrap: wrap; gap: .75rem 1.25rem; align-items: center; }
nav .brand { font-weight: 700; }
nav form.inline { margin-left: auto; display: flex; gap: .5rem; align-items: center; }
.who { color: var(--muted); }
main { max-width: 52rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 0 0 .5rem; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, summary:focus-visible {
  outline: 3px solid var(--accent); outline-offset: 2px; }
form.stack { display: grid; gap: .75rem; max-width: 24rem; }
label { font-weight: 600; }
input[type=text], input[type=password], input[type=search] { font: inherit; padding: .5rem;
  border: 1px solid var(--line); border-radius: .3rem; width: 100%; background: transparent; color: inherit; }
button { font: inherit; padding: .45rem 1rem; border-radius: .3rem; border: 1px solid var(--line);
  background: var(--bg); color: var(--fg); cursor: pointer; min-height: 2.5rem; }
button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
button.danger { color: var(--danger); border-color: var(--danger); }
.card { border: 1px solid var(--line); border-radius: .5rem; padding: 1rem; margin: 0 0 1rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0 0 .75rem; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
fieldset { border: 1px solid var(--line); border-radius: .3rem; margin: 0 0 .75rem; }
.check { display: flex; gap: .5rem; align-items: center; padding: .2rem 0; }
.check label { font-weight: 400; overflow-wrap: anywhere; }
.actions { display: flex; gap: .75rem; flex-wrap: wrap; }
.notice { padding: .6rem .8rem; border-radius: .3rem; border: 1px solid var(--line); }
.notice.ok { border-color: var(--ok); }
.notice.problem { border-color: var(--danger); }
.muted { color: var(--muted); }
ul.tree, ul.tree ul { list-style: none; margin: 0; padding-left: 1.25rem; border-left: 2px solid var(--line); }
ul.tree { padding-left: 0; border-left: 0; }
ul.tree section { border: 1px solid var(--line); border-radius: .4rem; padding: .6rem .8rem; margin: .5rem 0; }
ul.tree section.inactive { opacity: .75; }
.refusal { color: var(--danger); }
table { border-collapse: collapse; width: 100%; display: block; overflow-x: auto; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
code { overflow-wrap: anywhere; }
details { margin: 1rem 0; }
summary { cursor: pointer; font-weight: 600; }
`;

export const REFRESH_JS = `'use strict';
// Baton console: reload the approvals page when its pending requests change (no inline script).
(function () {
  var stamp = document.body.getAttribute('data-stamp');
  if (stamp === null) return;
  var touched = false;
  document.addEventListener('input', function () { touched = true; });
  setInterval(function () {
    if (touched || document.hidden) return;
    fetch('/console/approvals/stamp', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.ok ? r.text() : stamp; })
      .then(function (now) { if (now !== stamp) location.reload(); })
      .catch(function () {});
  }, 3000);
})();
`;
