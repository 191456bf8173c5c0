"""Read what a panel put into its ``ipywidgets.Output`` (shared by the panel tests)."""


def png_and_text(output):
    """The PNG display items and the concatenated stdout text of an Output widget."""
    outputs = output.outputs
    pngs = [o for o in outputs if o["output_type"] == "display_data" and "image/png" in o["data"]]
    text = "".join(o["text"] for o in outputs if o["output_type"] == "stream")
    return pngs, text
