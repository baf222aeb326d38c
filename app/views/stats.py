"""(stats views: being built.)"""


def register(appbuilder):
    pass
