"""Read queries per role, shared by the pages, their exports and (later) the API: a page and its
export never carry two copies of one query. Each function is scoped to the acting party it takes
and returns a `select()` (plus, where the page counts, a count query on the base table), so the
caller decides how to page, stream or render it."""
