"""axe-core in the browser tests: `violations(page)` runs axe-core (node_modules/axe-core, pinned by
package-lock.json, installed by `make node`) on the page as it is now and returns its serious and
critical violations, one line each. The desktop walk (tests/browser/test_browser_walk.py) and the
phone checks (tests/support/phone.py) both use it.

axe.min.js is evaluated through the DevTools protocol (Playwright's page.evaluate), so the page's
Content-Security-Policy (app/headers.py) stays on."""
from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
IMPACTS = ("serious", "critical")

RUN_JS = """async ([impacts]) => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.filter(v => impacts.includes(v.impact))
    .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' — ' + v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' ' + n.html.slice(0, 80)).join(', ')
              + (v.nodes.length > 5 ? ' (+' + (v.nodes.length - 5) + ')' : ''));
}"""


def missing():
    """Why axe-core cannot run here, or None."""
    if not AXE.exists():
        return f"{AXE} missing: `make node` (npm ci) installs axe-core from package-lock.json"
    return None


def violations(page):
    """axe-core's serious and critical violations on `page`, as 'axe <impact> <rule>: <help> — <nodes>'."""
    page.evaluate("() => { if (!window.axe) { %s } }" % AXE.read_text())
    return [f"axe {item}" for item in page.evaluate(RUN_JS, [list(IMPACTS)])]
