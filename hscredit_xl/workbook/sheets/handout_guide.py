"""填报说明 (a unit's 填报版): what to fill, by when, where to send it, how it is reviewed — from the notice."""
from __future__ import annotations

from decimal import Decimal


from ... import __version__
from .. import layout as L
from ..rubricof import record_cells
from . import style as st
from .context import SheetContext


def build(ctx: SheetContext) -> None:
    ws = ctx.wb.create_sheet(L.HANDOUT_GUIDE)
    rubric, lay = ctx.rubric, ctx.lay
    doc, sub, unit = rubric.document, rubric.submission, lay.units[0]
    form = L.form_sheet_name(unit)
    step = 3 if rubric.rates_key else 2  # the step before the 考评表
    cap = st.fmt(Decimal(rubric.totals["cap"]))
    lines: list[tuple[str, str]] = [
        ("title", f"{doc['attachment']} · 填报版（{unit}）"),
        ("text", f"本表是市信用办按《{doc['title']}》（{doc['number']}）发给{unit}的自查自评填报版，只含本单位的内容，"
                 "用 Excel、WPS 或 LibreOffice 打开即可填写，无需安装任何插件。"),
        ("head", "一、填写步骤"),
        ("text", f"1. 「{L.SUBMISSION}」：填写填报人、联系电话、填报日期，以及随本表报送的工作总结、工作打算的文件名。"),
        ("text", f"2. 「{L.DATA}」：逐项填写本单位的考核数据（浅黄色单元格），每项右侧写明单位和允许范围；"
                 "不合要求的值会被拒绝并提示原因。带「自动」的行由公式计算。"),
        *([("text", f"3. 「{L.CONCEALMENT}」：每个被抽查部门一行，填写部门名称和瞒报率。")] if rubric.rates_key else []),
        ("text", f"{step + 1}. 「{form}」：按官方考评细则格式，在「自评得分」列逐条填写自评得分；自评小计和自评总分由公式自动计算"
                 f"（加分后不超过{cap}分，再扣减）。右侧「按填报数据测算」一列供参考；按各单位排名计分的规则由市信用办复核。"),
        ("text", f"{step + 2}. 「{L.EVIDENCE}」：为每项声明得分的工作列出佐证资料的文件名；声明得分（如加分项填“是”）却未列佐证资料的，"
                 "复核时会被指出。"),
    ]
    if sub:
        lines += [
            ("head", "二、报送时间和方式"),
            ("text", f"截止日期：{sub.deadline.year}年{sub.deadline.month}月{sub.deadline.day}日。通知原文：“{sub.quote}”"),
            ("text", f"报送邮箱：{sub.send_to}；联系人：{sub.contact}，电话：{sub.phone}。"),
            ("text", "请把本表（填好后保存，文件名中保留单位名称）与佐证资料、工作总结、工作打算一并发送。"),
            ("head", "三、如何复核"),
        ]
        lines += [("text", f"“{g}”") for g in sub.guidance]
    lines += [
        ("head", "四、单元格颜色"),
        ("input", "浅黄色单元格：需要填写的单元格（带数据验证和填写提示）。"),
        ("computed", "浅灰色单元格：公式或已给定的内容（已锁定）。"),
        ("text", f"工具版本：hscredit-xl {__version__}；细则数据版本：{rubric.version}。请勿增删行列或改动工作表名称，"
                 "以便市信用办合并。"),
    ]
    identity = dict(lay.identity(), unit=unit, group="是" if lay.public_service[0] else "否",
                    choices=L.formula_signature(ctx.choices))
    cells = {coord: identity[key] for key, coord in {**L.GUIDE_ID_CELLS, **L.HANDOUT_ID_CELLS}.items()}
    st.text_page(ws, lines, {**cells, **record_cells(rubric)}, title_size=15)  # the master's rubric
