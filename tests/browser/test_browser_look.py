"""One look in the browser: FAB's grid asks in Chinese before an action and refuses one without a
checked row (no "No row selected / OK"); the console has the product's header and a way back."""


def test_student_grid_actions_ask_in_chinese(server, actors):
    actor = actors("look-school")
    actor.login("school-10486")
    actor.nav("学生管理")
    page = actor.page
    button = page.get_by_role("button", name="限制签约", exact=True)
    button.click()  # nothing checked: an alert, no request
    assert actor.dialogs[-1] == "请先勾选要限制签约的记录"
    assert "/school/students/list" in page.url
    row = page.locator("tr", has_text="2023301010005")
    row.locator("input.action_check").check()
    actor.submit(button)
    assert actor.dialogs[-1] == "确定限制所选学生网上签约吗？"
    assert "已限制1名学生" in actor.flashes()
    page.locator("tr", has_text="2023301010005").locator("input.action_check").check()
    actor.submit(page.get_by_role("button", name="解除限制", exact=True))  # as it was, for the other tests
    assert "已解除限制1名学生" in actor.flashes()


def test_grid_search_box_filters_by_name(server, actors):
    actor = actors("look-school")
    actor.nav("学生管理")
    actor.page.fill("#search-name", "邓磊")
    actor.submit(actor.page.get_by_role("button", name="查询", exact=True))
    assert "_flt_" in actor.page.url and "student_no" not in actor.page.url  # blank boxes left out
    rows = actor.page.locator("table.grid-table tbody tr")
    assert rows.count() == 1 and "邓磊" in rows.first.inner_text()
