"""Issue 18 item 6: 新增学生 (and 编辑学生) show each error beside its field, like every other form,
instead of all of them on one line at the top."""
import re

from app.models import Student
from tests.support.checks import count
from tests.support.factories import id_number, make_reviewer, make_school, make_student


def student_form(**overrides):
    values = {"student_no": "2023999001", "name": "新同学", "id_number": id_number(4242), "phone": "13700001111",
              "email": "", "department": "法学院", "major": "法学", "education": "本科生毕业",
              "graduation_year": "2027", "training_mode": "non_targeted",
              "gender": "男" if int(id_number(4242)[16]) % 2 else "女"}
    values.update(overrides)
    return values


def field_errors(page):
    """{field: its message} as the form shows them (a has-error group with its help-block)."""
    found = {}
    for group in re.findall(r'<div class="form-group has-error">(.*?)</div>\s*</div>', page, re.S):
        name = re.search(r'for="([^"]+)"', group).group(1)
        found[name] = re.search(r'field-error">([^<]*)<', group).group(1)
    return found


def test_new_student_shows_each_error_beside_its_field(client, login):
    school = make_school()
    login(client, make_reviewer(school).username)
    response = client.post("/school/students/new", data=student_form(phone="1234", id_number="42011120030101999",
                                                                     graduation_year="1990", name="张3"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and count(Student) == 0
    errors = field_errors(page)
    assert set(errors) == {"phone", "id_number", "graduation_year", "name"}, errors
    assert "手机应为11位手机号码" in errors["phone"] and "身份证号应为18位" in errors["id_number"]
    assert "学生信息填写有误，请按提示修改" in page  # one summary at the top, the reasons below
    assert 'value="1234"' in page  # what was typed stays


def test_new_student_duplicate_lands_on_its_field(client, login):
    school = make_school()
    existing = make_student(school)
    login(client, make_reviewer(school).username)
    page = client.post("/school/students/new", data=student_form(student_no=existing.student_no)).get_data(as_text=True)
    assert "重复" in field_errors(page)["student_no"]


def test_edit_of_a_frozen_name_is_refused_beside_the_name(client, login, signed):
    """R19 on 编辑学生: the refusal stands beside 姓名."""
    student = signed.student
    form = {k: getattr(student, k) or "" for k in ("student_no", "id_number", "gender", "phone", "email",
                                                     "department", "major", "education")}
    form.update(graduation_year=str(student.graduation_year), training_mode=student.training_mode, name="李正名")
    login(client, signed.reviewer.username)
    page = client.post(f"/school/students/{student.id}/edit", data=form).get_data(as_text=True)
    assert "不能修改" in field_errors(page)["name"]
