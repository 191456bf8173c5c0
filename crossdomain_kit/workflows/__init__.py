"""Whole workflows built from the modules below: the fine-tune plan, the kit's recipes, data efficiency."""
