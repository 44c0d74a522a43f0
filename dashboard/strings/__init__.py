"""Dashboard strings by area, one module each, merged into ``dashboard.i18n.STRINGS``.

Each module here holds two dicts, ``VI`` and ``EN``, with the same keys. Splitting by
area lets a page's translations be reviewed (and edited) beside the page, without every
change touching one long file; ``dashboard.i18n`` refuses a key defined twice so that
two areas cannot silently overwrite each other's wording.
"""
