"""One module per role (DESIGN.md §6); `register_views` adds them all to AppBuilder."""


def register_views(appbuilder):
    from . import employer, home, province, school, student

    home.register(appbuilder)
    employer.register(appbuilder)
    student.register(appbuilder)
    school.register(appbuilder)
    province.register(appbuilder)
