"""支持控制台 (/console): province and admin only, read-only, finds records across schools with their history."""
import pytest

from tests.support.checks import count
from tests.support.factories import make_user
from tests.support.web import redirect_of

SLUGS = ["students", "employers", "agreements", "destinations", "terminations", "events"]


@pytest.fixture
def prov(client, login):
    make_user("province", username="prov")
    login(client, "prov")
    return client


def counts():
    from app.models import Agreement, Employer, FlowEvent, Student

    return tuple(count(m) for m in (Student, Employer, Agreement, FlowEvent))


@pytest.mark.parametrize("role", ["province", "admin"])
def test_console_open_to_province_and_admin(stats_world, client, login, role):
    make_user(role, username=f"u-{role}")
    login(client, f"u-{role}")
    r = client.get("/console/")
    assert r.status_code == 200 and "支持控制台" in r.get_data(as_text=True)
    for slug in SLUGS:
        assert client.get(f"/console/{slug}/").status_code == 200, slug


@pytest.mark.parametrize("role", ["student", "employer", "school"])
def test_console_hidden_from_other_roles(stats_world, client, login, role):
    party = {"student": stats_world["s"][0], "employer": stats_world["e1"], "school": stats_world["a"]}[role]
    make_user(role, party, username=f"u-{role}")
    login(client, f"u-{role}")
    for url in ["/console/"] + [f"/console/{s}/" for s in SLUGS] + [
            f"/console/students/details/?id={stats_world['s'][0].id}"]:
        r = client.get(url)
        assert r.status_code == 404, (url, r.status_code)


def test_console_sends_anonymous_visitors_to_login(stats_world, client):
    r = client.get("/console/students/")
    assert redirect_of(r) == (302, "/login/?next=/console/students/?")  # Flask-Admin's own redirect


@pytest.mark.parametrize("slug", SLUGS)
def test_console_has_no_write_routes(stats_world, prov, slug):
    before = counts()
    agreement_id = stats_world["ag1"].id
    for url, data in [
        (f"/console/{slug}/new/", {"name": "x"}),
        (f"/console/{slug}/edit/?id={agreement_id}", {"name": "x", "status": "terminated"}),
        (f"/console/{slug}/delete/", {"id": str(agreement_id)}),
        (f"/console/{slug}/action/", {"action": "delete", "rowid": str(agreement_id)}),
        (f"/console/{slug}/ajax/update/", {"list_form_pk": str(agreement_id), "status": "terminated"}),
    ]:
        r = prov.post(url, data=data)
        assert r.status_code == 404, (url, r.status_code)
    for export in ("csv", "xlsx"):
        assert prov.get(f"/console/{slug}/export/{export}/").status_code == 404
    assert counts() == before


def test_console_pages_offer_no_create_edit_delete(stats_world, prov):
    page = prov.get("/console/agreements/").get_data(as_text=True)
    assert "/console/agreements/new/" not in page and "/console/agreements/edit/" not in page
    assert "/console/agreements/delete/" not in page
    details = prov.get(f"/console/agreements/details/?id={stats_world['ag1'].id}").get_data(as_text=True)
    assert "/edit/" not in details


def test_console_finds_student_by_id_number_across_schools(stats_world, prov):
    t1 = stats_world["t1"]  # school B
    page = prov.get(f"/console/?q={t1.id_number}").get_data(as_text=True)
    assert t1.name in page and "华中科技大学" in page
    page = prov.get(f"/console/students/?search={stats_world['s'][3].id_number}").get_data(as_text=True)
    assert stats_world["s"][3].name in page and stats_world["s"][0].name not in page


def test_console_finds_employer_by_credit_code_and_agreement_by_number(stats_world, prov):
    e1 = stats_world["e1"]
    page = prov.get(f"/console/?q={e1.credit_code.lower()}").get_data(as_text=True)
    assert e1.name in page
    number = stats_world["agt1"].number
    page = prov.get(f"/console/?q={number}").get_data(as_text=True)
    assert number in page and stats_world["t1"].name in page
    page = prov.get(f"/console/agreements/?search={number}").get_data(as_text=True)
    assert number in page and stats_world["ag1"].number not in page


def test_console_student_details_show_whole_history(stats_world, prov):
    s7 = stats_world["s"][6]  # certified, then terminated
    page = prov.get(f"/console/students/details/?id={s7.id}").get_data(as_text=True)
    assert "流程追踪" in page
    for action in ("发起邀约", "同意签约，待学校审核", "签约审核通过", "提出解约申请", "同意解约，待学校审核", "解约审核通过"):
        assert action in page, action
    s4 = stats_world["s"][3]
    page = prov.get(f"/console/students/details/?id={s4.id}").get_data(as_text=True)
    assert "登记其他去向，待学校审核" in page and "其他去向审核通过" in page


def test_console_agreement_details_include_termination_events(stats_world, prov):
    page = prov.get(f"/console/agreements/details/?id={stats_world['ag7'].id}").get_data(as_text=True)
    assert "提出解约申请" in page and "解约审核通过" in page
    assert "已解约" in page


def test_console_is_in_chinese(stats_world, prov):
    page = prov.get("/console/students/").get_data(as_text=True)
    assert "身份证号" in page and "毕业年度" in page
    assert "列表" in page  # Flask-Admin's own strings from its zh_Hans_CN catalogue ("List")
