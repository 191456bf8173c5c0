"""ipywidgets panels. Panels only wire controls to the kit's public functions.

Every builder returns a widget; live plots are inline matplotlib PNGs placed
in an ``ipywidgets.Output`` (Colab has no ipympl). Works on ipywidgets 7.7 and 8.
"""
