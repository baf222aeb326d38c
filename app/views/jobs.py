"""(jobs views: being built.)"""


def register(appbuilder):
    pass
