"""What a page must be on a phone (issue 25), checked in the browser: `check_page(page)` returns
the problems found, one line each; `CHECKS` is the list it runs, each a function `(page) -> [str]`.

- overflow: no element reaches past the viewport's left or right edge and nothing scrolls sideways
  (neither the page nor a box with overflow-x auto/scroll);
- overlap: no two pieces of visible text cover each other (the text's own boxes, from Range
  rects: a nowrap label running over its value counts; text in fixed bars is left out, it floats
  over the page by design);
- touch targets: every visible link, button, field and checkbox label is at least 44×44 CSS px,
  except a link inside a sentence (WCAG 2.5.8's inline exception);
- text: no visible text below 12 px;
- menu: the role menu (the desktop sidebar) is not on the screen unless 我的 opened it;
- accessibility: no axe-core violation of impact serious or critical (tests/support/axe.py, the
  same run as the desktop walk's).
"""
from tests.support import axe

PHONE = {"width": 390, "height": 844}
MIN_TARGET = 44
MIN_FONT_PX = 12

_VISIBLE = """
const visible = el => {
  if (!el.getClientRects().length) return false;
  const s = getComputedStyle(el);
  if (s.visibility === 'hidden' || s.opacity === '0') return false;
  const r = el.getBoundingClientRect();
  return r.width > 1 && r.height > 1;  // .sr-only is 1×1
};
const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
  (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
  ' "' + (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 24) + '"';
const fixedInside = el => { for (let e = el; e && e !== document.body; e = e.parentElement)
  if (getComputedStyle(e).position === 'fixed') return true; return false; };
"""

OVERFLOW_JS = "() => {" + _VISIBLE + """
  const vw = document.documentElement.clientWidth, out = [];
  if (document.documentElement.scrollWidth > vw + 1)
    out.push('overflow: the page scrolls sideways by ' + (document.documentElement.scrollWidth - vw) + ' px');
  for (const el of document.body.querySelectorAll('*')) {
    if (!visible(el)) continue;
    const s = getComputedStyle(el);
    if (['auto', 'scroll'].includes(s.overflowX) && el.scrollWidth > el.clientWidth + 1)
      out.push('overflow: ' + name(el) + ' scrolls sideways by ' + (el.scrollWidth - el.clientWidth) + ' px');
    const r = el.getBoundingClientRect();
    if (r.right > vw + 1 || r.left < -1) {
      let clipped = false;
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const ps = getComputedStyle(p);
        if (ps.overflowX !== 'visible') { const pr = p.getBoundingClientRect();
          if (pr.right <= vw + 1 && pr.left >= -1) { clipped = true; break; } }
      }
      if (!clipped) out.push('overflow: ' + name(el) + ' spans ' + Math.round(r.left) + '..' + Math.round(r.right) + ' px of ' + vw);
    }
  }
  return out.slice(0, 8);
}"""

OVERLAP_JS = "() => {" + _VISIBLE + """
  const rects = [], out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(), i = 0; node; node = walker.nextNode(), i++) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || !visible(el) || fixedInside(el)) continue;
    if (['SCRIPT', 'STYLE', 'OPTION', 'TITLE', 'NOSCRIPT'].includes(el.tagName)) continue;
    const range = document.createRange(); range.selectNodeContents(node);
    for (const r of range.getClientRects())
      if (r.width > 1 && r.height > 1) rects.push({i, r, el, text: node.textContent.trim().slice(0, 16)});
  }
  for (let a = 0; a < rects.length; a++) for (let b = a + 1; b < rects.length; b++) {
    const p = rects[a], q = rects[b];
    if (p.i === q.i) continue;
    const w = Math.min(p.r.right, q.r.right) - Math.max(p.r.left, q.r.left);
    const h = Math.min(p.r.bottom, q.r.bottom) - Math.max(p.r.top, q.r.top);
    if (w > 2 && h > 2) out.push('overlap: "' + p.text + '" and "' + q.text + '"');
    if (out.length >= 8) return out;
  }
  return out;
}"""

TARGETS_JS = "([min]) => {" + _VISIBLE + """
  const out = [];
  const inSentence = a => {
    const block = a.closest('p, li, td, .help-block, div');
    if (!block) return false;
    const rest = block.innerText.replace(a.innerText, '').trim();
    return rest.length > 1 && getComputedStyle(a).display === 'inline';
  };
  const seen = new Set();
  for (let el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, [role=button], [role=combobox]')) {
    if (['checkbox', 'radio'].includes(el.type)) el = el.closest('label') || (el.id && document.querySelector('label[for="' + el.id + '"]')) || el;
    if (el.type === 'file' && !visible(el) && el.id) el = document.querySelector('label[for="' + el.id + '"]') || el;
    if (seen.has(el) || !visible(el) || fixedInside(el) && !el.closest('.mobile-tabs, .portal-side')) continue;
    seen.add(el);
    if (el.tagName === 'A' && inSentence(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width < min - 0.5 || r.height < min - 0.5)
      out.push('touch target: ' + name(el) + ' is ' + Math.round(r.width) + '×' + Math.round(r.height) + ' px');
  }
  return out.slice(0, 12);
}"""

FONT_JS = "([min]) => {" + _VISIBLE + """
  const out = [], walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || !visible(el)) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < min) out.push('text: ' + name(el) + ' is ' + size + ' px');
  }
  return out.slice(0, 8);
}"""

MENU_JS = """() => {
  const side = document.querySelector('.portal-side');
  if (!side || !side.getClientRects().length || side.matches(':target')) return [];
  return side.getBoundingClientRect().top < window.innerHeight ? ['menu: the role menu fills the first screen'] : [];
}"""


def overflow(page):
    return page.evaluate(OVERFLOW_JS)


def overlap(page):
    return page.evaluate(OVERLAP_JS)


def touch_targets(page):
    return page.evaluate(TARGETS_JS, [MIN_TARGET])


def small_text(page):
    return page.evaluate(FONT_JS, [MIN_FONT_PX])


def menu_closed(page):
    return page.evaluate(MENU_JS)


def accessibility(page):
    return [why] if (why := axe.missing()) else axe.violations(page)


CHECKS = [overflow, overlap, touch_targets, small_text, menu_closed, accessibility]


def check_page(page):
    """Every problem every check in CHECKS finds on the page as it is now."""
    return [problem for check in CHECKS for problem in check(page)]
