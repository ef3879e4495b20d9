"""The workbook's sheets, one module each; a workbook (the master template, a unit's 填报版) is a composition.

Each module has a `build(ctx, …)` that adds its sheet to `ctx.wb`; `style` holds the shared look and cell helpers.
"""
