"""FAB's grids with the product's search: a text box per searchable text or number column (学号、
姓名、院系、专业 …) instead of FAB's "添加过滤条件" rows, which stay for the other columns.

A box is FAB's own filter argument (`_flt_<index>_<column>`: "contains" for text, "equal" for
numbers), so the list's sorting, paging and the other filters work on the same request."""
from flask_appbuilder.models.sqla.filters import FilterContains, FilterEqual


def search_boxes(filters, include_cols, label_columns):
    """(boxes, advanced columns, advanced active filters) for appbuilder/general/widgets/search.html.
    boxes: [{name, label, value, column}]."""
    datamodel = filters.datamodel
    search = filters.get_search_filters()
    active = {}
    for flt, value in zip(filters.filters, filters.values):
        active.setdefault((flt.column_name, type(flt)), value)
    boxes, covered, advanced = [], set(), []
    for col in include_cols:
        wanted = None
        if datamodel.is_integer(col):
            wanted = FilterEqual
        elif datamodel.is_string(col) or datamodel.is_text(col):
            wanted = FilterContains
        index = next((i for i, flt in enumerate(search.get(col, [])) if type(flt) is wanted), None)
        if wanted is None or index is None:
            advanced.append(col)
            continue
        value = active.get((col, wanted), "")
        value = value[0] if isinstance(value, list) and value else value
        boxes.append({"name": f"_flt_{index}_{col}", "label": label_columns.get(col, col), "column": col,
                      "value": "" if value is None else value})
        covered.add((col, str(wanted.name)))
    rest = [f for f in filters.get_filters_values_tojson() if (f[0], str(f[1])) not in covered]
    return boxes, advanced, rest
