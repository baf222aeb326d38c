"""One module per role (DESIGN.md §6); `register_views` adds them all to AppBuilder."""


def register_views(appbuilder):
    from . import (account, api, apikeys, console, documents, employer, health, home, imports, jobs, market, province,
                   recovery, school, stats, student)

    home.register(appbuilder)
    account.register(appbuilder)
    employer.register(appbuilder)
    student.register(appbuilder)
    market.register(appbuilder)
    school.register(appbuilder)
    province.register(appbuilder)
    imports.register(appbuilder)
    documents.register(appbuilder)
    jobs.register(appbuilder)
    stats.register(appbuilder)
    console.register(appbuilder)
    recovery.register(appbuilder)
    health.register(appbuilder)
    apikeys.register(appbuilder)
    api.register(appbuilder)
