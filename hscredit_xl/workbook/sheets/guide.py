"""说明: how to use the master workbook, the document it scores, and the template's identity cells."""
from __future__ import annotations


from ... import __version__
from .. import layout as L
from ..rubricof import record_cells, recorded_path
from . import style as st
from .context import SheetContext


def build(ctx: SheetContext) -> None:
    ws = ctx.wb.create_sheet(L.GUIDE)
    doc, rubric, lay = ctx.rubric.document, ctx.rubric, ctx.lay
    base_items = "、".join(f"第{item.number}项" for item in rubric.items if item.role == "base")
    group = rubric.group
    in_group = f"及是否{group.label}" if group else ""
    rates = rubric.rates_field
    step = 3 if rates else 2  # the step before the self scores
    switch_ids = list(rubric.switches)
    switch_range = f"（{switch_ids[0]}～{switch_ids[-1]}）" if switch_ids else ""
    defaults = "；".join(f"{sid} {sw.title}：{sw.options[sw.default].short}" for sid, sw in rubric.switches.items())
    lines: list[tuple[str, str]] = [  # (kind, text); kind: title, head, text, input, computed, small
        ("title", f"{doc['attachment']} · 考评工作簿使用说明"),
        ("text", f"本工作簿按{doc['issuer']}《{doc['title']}》（{doc['number']}）附件《{doc['attachment']}》"
                 f"逐条计分，由 hscredit-xl 根据评分细则数据自动生成，请勿手工增删行列。"),
        ("head", "一、使用步骤"),
        ("text", f"1. 在「{L.SETTINGS}」表核对参加考评的单位{in_group}；查看各项口径选择（细则不明确之处，"
                 f"默认即推荐读法，每项列出依据原文和理由）；填写结果运用的权重。"),
        ("text", f"2. 在「{L.DATA}」表逐单位填写各项考核数据：每个单位一行，第2行是对应的评分细则编号，第3行写明计量单位和"
                 f"允许范围；填写不合要求的值会被拒绝并提示原因。带「（自动）」的列由公式计算，无需填写。"),
        *([("text", f"3. 在「{L.CONCEALMENT}」表逐个填写{rates.label}（每个部门一行）；{rates.rule} 取每个单位的最高值计分。")]
          if rates else []),
        ("text", f"{step + 1}. 在「{L.SELF_SCORES}」表逐单位、逐条填写自评得分（每个单位一行；可不填，合并单位的填报版时自动填入；"
                 f"填写后汇总表列出自评与复核的差值）。"),
        ("text", f"{step + 2}. 点击功能区「信用考评」选项卡的「一键重算」，或在命令行运行  hscredit-xl recompute 文件.xlsx  ："
                 f"先校验全部数据，再按细则计分，把复核得分和计分依据写入「{L.REVIEW}」表、汇总表，并把发现的问题写入校验结果表。"),
        ("text", f"{step + 3}. 先看「{L.CHECK}」表：有错误时不计分，请按提示改正后再重算；只有提示时照常计分。"),
        ("head", "二、各工作表"),
        ("text", f"{L.GUIDE}：本页。"),
        ("text", f"{L.SETTINGS}：参加考评的单位{in_group.replace('及', '、')}；口径选择{switch_range}；结果运用权重。"),
        ("text", f"{L.DATA}：各单位的考核数据，每个单位一行，每项数据一列。"),
        *([("text", f"{L.CONCEALMENT}：各单位的{rates.label}，每个部门一行。")] if rates else []),
        ("text", f"{L.SCORES}：逐条计分公式（调用 HS_ 工作表函数），随数据实时显示各单位每条细则的得分和复核总分；"
                 f"需安装「信用考评」加载项，未安装时显示 #NAME?，不影响一键重算。"),
        ("text", f"{L.SELF_SCORES}：各单位的逐条自评得分，每个单位一行；小计、折算后基础分和自评总分由公式计算。"),
        ("text", f"{L.FORM}：按官方考评细则格式排版的考评表，在顶部「填报单位」的下拉列表中选择单位，即显示该单位的"
                 f"自评得分、复核得分和计分依据（A4 横向打印）。每个单位一张的考评表（PDF 和报送版）由 "
                 f"hscredit-xl export --pdf 生成。"),
        ("text", f"{L.REVIEW}：一键重算写入的各单位逐条复核得分和计分依据，每个单位一行（「{L.FORM}」表从这里取数）。"),
        ("text", f"{L.SUMMARY}：各单位的逐条复核得分、{base_items}小计、基础分、折算、加分、扣分、复核总分与名次、"
                 f"自评差值、综合评定调整、最终得分与名次、结果运用贡献分，以及最终得分柱形图。"),
        ("text", f"{L.CHECK}：一键重算时写入的数据问题清单（级别、单位、位置、字段、值、问题说明）。"),
        ("head", "三、单元格颜色与保护"),
        ("input", "浅黄色单元格：需要填写的单元格（未锁定，带数据验证和填写提示）。"),
        ("computed", "浅灰色单元格：公式或一键重算写入的结果（已锁定，请勿修改）。"),
        ("text", "各表已设工作表保护（无密码），防止误改公式；确需修改时可在「审阅 → 撤销工作表保护」解除。"),
        ("head", "四、计分依据"),
        ("text", f"文号：{doc['number']}"),
        ("text", f"标题：{doc['title']}"),
        ("text", f"附件：{doc['attachment']}"),
        ("text", f"发文单位：{doc['issuer']}"),
        ("text", f"发文日期：{st.chinese_date(str(doc['issued']))}"),
        ("text", f"细则中不明确或前后矛盾之处按「{L.SETTINGS}」表的口径选择计分（默认：{defaults}）。"),
        ("head", "五、版本"),
        ("text", f"工具版本：hscredit-xl {__version__}"),
        ("text", f"细则数据版本：{rubric.version}"),
        ("text", f"模板格式版本：{L.LAYOUT_VERSION}"),
    ]
    record = record_cells(rubric)
    if rubric.sha256:
        lines.append(("text", f"细则文件：{recorded_path(rubric)}（SHA-256：{rubric.sha256}）；各命令按此文件计分，"
                              "文件不在原处时用 --rubric 路径 指定。"))
    st.text_page(ws, lines, {**{coord: lay.identity()[key] for key, coord in L.GUIDE_ID_CELLS.items()}, **record})
