"""One run page for every kind of JobRun (app/views/jobs.py render_run, jobs/run.html), whichever
URL shows it, with its labels from app.labels."""
import json
import re

import pytest

from app import labels
from app.extensions import db
from app.models import JobRun
from tests.support import factories as f

IMPORT_RESULT = {"kind": "roster", "created": 2, "updated": 0, "unchanged": 0, "refused": 1, "written": True,
                 "total": 3, "preview": [[3, "手机应为11位手机号码"]], "errors_key": "imports/x.xlsx"}
EXPORT_RESULT = {"rows": 7, "filename": "学生就业去向名单.xlsx", "file": "x.xlsx"}


def add_run(user, kind, status="done", result=None, params=None, done=3, total=3):
    run = JobRun(kind=kind, user_id=user.id, status=status, done=done, total=total,
                 result=json.dumps(result, ensure_ascii=False) if result else None,
                 params=json.dumps(params or {}, ensure_ascii=False))
    db.session.add(run)
    db.session.commit()
    return run


def main(page):
    """The page's own part (crumbs to the end), without the sidebar and the flashed messages, nor
    the script nonce (new on every response, app/headers.py)."""
    return re.sub(r' nonce="[^"]*"', "", page[page.index('class="crumbs"'):])


@pytest.fixture
def reviewer(client):
    user = f.make_reviewer(f.make_school())
    f.login(client, user.username)
    return user


def test_an_import_run_is_the_same_page_at_both_urls(client, reviewer):
    run = add_run(reviewer, "roster_import", result=IMPORT_RESULT, params={"filename": "名单.xlsx"})
    own, generic = (client.get(url).get_data(as_text=True)
                    for url in (f"/school/import/run/{run.id}", f"/jobs/run/{run.id}"))
    assert main(own) == main(generic)
    assert "导入学生生源：导入结果" in own and "2 条导入，0 条更新，1 条未通过" in own and "名单.xlsx" in own
    assert f'href="/school/import/run/{run.id}/errors"' in own and "继续导入" in own
    assert client.get(f"/school/import/run/{run.id}/status").get_json() == \
        client.get(f"/jobs/run/{run.id}.json").get_json()


def test_an_export_run_offers_its_download_on_the_run_page(client, reviewer):
    run = add_run(reviewer, "school_students", result=EXPORT_RESULT)
    own, generic = (client.get(url).get_data(as_text=True)
                    for url in (f"/stats/school/job/{run.id}", f"/jobs/run/{run.id}"))
    assert main(own) == main(generic)
    assert "导出完成：共导出 7 行" in own and f'href="/stats/school/job/{run.id}/download"' in own


@pytest.mark.parametrize("status", ["queued", "running", "done", "failed"])
def test_status_labels_come_from_the_one_map(client, reviewer, status):
    run = add_run(reviewer, "roster_import", status=status, result=IMPORT_RESULT if status == "done" else None,
                  done=1, total=4)
    page = client.get(f"/school/import/run/{run.id}").get_data(as_text=True)
    badge = re.search(r'id="run-status">([^<]*)<', page).group(1)
    assert badge == labels.JOB_STATUS[status]
    assert client.get(f"/jobs/run/{run.id}.json").get_json()["status_label"] == labels.JOB_STATUS[status]
    assert ('http-equiv="refresh"' in page) is (status in ("queued", "running"))
    assert (f'data-status-url="/jobs/run/{run.id}.json"' in page) is (status in ("queued", "running"))


def test_every_kind_a_view_starts_has_its_label(app):
    kinds = {kind for view in app.appbuilder.baseviews for kind in getattr(view, "run_kinds", ())}
    assert kinds == {"roster_import", "candidate_import", "certified_list", "school_students", "national_outcomes"}
    assert kinds <= set(labels.JOB_KIND)
    titles = {view.title for view in app.appbuilder.baseviews if hasattr(view, "spec")}
    assert titles == {labels.JOB_KIND["roster_import"], labels.JOB_KIND["candidate_import"]}
