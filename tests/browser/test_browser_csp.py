"""The Content-Security-Policy in the browser (app/headers.py): the console collector of conftest.py
sees a blocked script, and the read-only support console (Flask-Admin) runs under the policy."""


def test_the_collector_sees_a_blocked_inline_script(server, actors, no_csp_violation):
    actor = actors("csp-probe")
    actor.goto("/login/")
    assert actor.page.evaluate("() => typeof jQuery") == "function"  # the nonced scripts ran
    with actor.page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        actor.page.evaluate("""() => { const s = document.createElement('script');
                                       s.textContent = 'window.injected = 1'; document.head.appendChild(s); }""")
    assert actor.page.evaluate("() => window.injected") is None
    assert any("inline script" in v for v in no_csp_violation), no_csp_violation
    no_csp_violation.clear()


def test_console_pages_and_filters_run_under_the_policy(server, actors):
    actor = actors("csp-province")
    actor.login("province")
    actor.goto("/console/")
    actor.goto("/console/students/")
    url = actor.page.url
    actor.page.get_by_role("button", name="添加筛选器").click()
    actor.page.get_by_role("button", name="学历").click()
    assert actor.page.locator("#filter_form select.filter-op").count() == 1
    assert actor.page.url == url  # the links did not navigate
    actor.page.locator("#filter_form a.select2-choice").click()  # a javascript:void(0) link
    actor.page.wait_for_timeout(200)
    (student_id,), = server.query("SELECT id FROM student ORDER BY id LIMIT 1")
    actor.goto(f"/console/students/details/?id={student_id}")
    actor.page.locator("a.nav-link.active.disabled").click(force=True)
    actor.page.wait_for_timeout(200)


PORTAL_JS_PROBE = """
<form id="f-confirm" method="get" action="/login/" data-confirm="确定将勾选的协议书全部签约审核通过吗？">
  <input type="hidden" name="sent" value="confirm"><button id="b-confirm">提交</button></form>
<form id="f-reason" method="get" action="/login/" data-require-field="reason" data-require-message="请填写不通过原因">
  <input type="hidden" name="sent" value="reason"><input name="reason" id="reason"><button id="b-reason">不通过</button></form>
<form method="get" action="/login/"><input type="hidden" name="sent" value="button">
  <button id="b-button" data-confirm="确定将勾选的学生移出签约发送列表吗？">移出</button></form>
<input type="checkbox" id="check-all" data-check-all=".row-check">
<input type="checkbox" class="row-check"><input type="checkbox" class="row-check">
<a href="#" id="back" data-history-back>返回</a>
"""


def test_portal_js_does_what_the_inline_handlers_did(server, actors):
    """app/static/portal.js (loaded by every portal page) in place of onsubmit/onclick: a refused
    confirm() sends nothing, an accepted one sends; a blank 不通过原因 is not sent; 全选; 返回."""
    actor = actors("csp-portal-js")
    page = actor.page
    page.remove_listener("dialog", actor._dialog)
    seen, answer = [], {"accept": False}

    def dialog(d):
        seen.append((d.type, d.message))
        d.accept() if answer["accept"] else d.dismiss()

    page.on("dialog", dialog)
    actor.goto("/login/")
    page.evaluate("html => document.body.insertAdjacentHTML('beforeend', html)", PORTAL_JS_PROBE)

    for button in ("#b-confirm", "#b-button", "#b-reason"):
        page.click(button)
    page.wait_for_timeout(300)
    assert page.url.endswith("/login/")  # nothing was sent
    assert seen == [("confirm", "确定将勾选的协议书全部签约审核通过吗？"), ("confirm", "确定将勾选的学生移出签约发送列表吗？"),
                    ("alert", "请填写不通过原因")]

    page.check("#check-all")
    assert page.eval_on_selector_all(".row-check", "boxes => boxes.map(b => b.checked)") == [True, True]
    page.uncheck("#check-all")
    assert page.eval_on_selector_all(".row-check", "boxes => boxes.map(b => b.checked)") == [False, False]

    page.fill("#reason", "材料不全")
    with page.expect_navigation():
        page.click("#b-reason")
    assert "sent=reason" in page.url
    page.go_back()
    answer["accept"] = True
    page.evaluate("html => document.body.insertAdjacentHTML('beforeend', html)", PORTAL_JS_PROBE)
    with page.expect_navigation():
        page.click("#b-button")
    assert "sent=button" in page.url
    page.evaluate("html => document.body.insertAdjacentHTML('beforeend', html)", PORTAL_JS_PROBE)
    with page.expect_navigation():
        page.click("#back")
    assert page.url.endswith("/login/")
