"""The written words a spoken Chinese question means (挣了多少钱: 收入, 营业收入), so that keyword
search finds the documents' register: reports and policies say 从业人员 where people say 上班的人.

The table is general Chinese usage, not one knowledge base's vocabulary; a written word is only
added when the knowledge base holds it."""

from __future__ import annotations

import dataclasses
import re

from parkqa.keywords import KeywordIndex
from parkqa.questions import Question
from parkqa.translation import Texts, name_in_passages

# Spoken word or phrase -> the written words it means. Keys are matched in the Simplified question.
SPOKEN_TO_WRITTEN: dict[str, tuple[str, ...]] = {
    # earning, spending, selling
    "挣了": ("收入", "营业收入", "营收"),
    "挣钱": ("收入", "营业收入", "营收"),
    "挣多少": ("收入", "营业收入", "营收"),
    "赚了": ("收入", "营业收入", "利润"),
    "赚钱": ("收入", "营业收入", "利润"),
    "赚多少": ("收入", "营业收入", "利润"),
    "进账": ("收入", "营业收入"),
    "砸了": ("投资",),
    "砸钱": ("投资",),
    "掏了": ("投资", "出资"),
    "掏钱": ("投资", "出资"),
    "花了多少钱": ("投资", "总投资"),
    "花多少钱": ("投资", "费用"),
    "烧钱": ("投入", "投资"),
    "卖了多少": ("交易额", "销售额"),
    "卖多少": ("交易额", "销售额"),
    "网上卖": ("在线交易", "电商", "线上销售"),
    "生意": ("业务", "营业额", "订单"),
    "单子": ("订单",),
    "接单": ("订单", "受理"),
    "贵不贵": ("价格", "标准"),
    "补多少": ("补贴",),
    "给多少钱": ("补贴", "奖励"),
    "安家费": ("安家补贴",),
    "工资": ("薪酬", "年薪", "薪资"),
    "房租": ("租金",),
    "租房": ("租金", "租用"),
    "交钱": ("缴纳", "缴费"),
    "花钱": ("收费", "费用", "免费"),  # 要花钱吗: what it costs, or that it is free
    "收钱": ("收费", "费用", "免费"),
    # people and work
    "上班": ("从业人员", "员工", "就业"),
    "打工": ("从业人员", "就业", "员工"),
    "干活": ("从业人员", "员工"),
    "工作的人": ("从业人员", "员工"),
    "员工总数": ("从业人员", "就业人数"),  # a head count, which reports state as 从业人员
    "员工人数": ("从业人员", "就业人数"),
    "多少人干": ("从业人员", "就业"),
    "找工作": ("就业", "招聘"),
    "招人": ("招聘", "引进人才"),
    "招多少人": ("就业", "招聘"),
    "解决多少人就业": ("就业",),
    "老板": ("董事长", "总经理", "负责人"),
    "领导": ("书记", "主任", "负责人"),
    "当官": ("担任", "职务"),
    "学生娃": ("学生",),
    "读书": ("学生", "在校"),
    "职校": ("职业院校",),
    "大学生": ("毕业生", "大学"),
    # housing and living
    "宿舍": ("公寓", "人才公寓", "住房"),
    "房子": ("公寓", "住房", "楼宇"),
    "住哪": ("公寓", "住房"),
    "住几年": ("租期", "租住"),
    "写字楼": ("楼宇", "办公用房", "产业楼宇"),
    "办公室": ("办公用房", "办公单元", "楼宇"),
    "吃饭": ("餐", "食堂"),
    "一顿饭": ("每餐", "工作餐"),
    "停车": ("停车场", "车位"),
    # places, getting there, time
    "搬进": ("入驻",),
    "搬来": ("入驻", "落户"),
    "进驻": ("入驻",),
    "落脚": ("落户", "选址"),
    "坐车": ("乘坐", "乘车"),
    "打车": ("出租车",),
    "打的": ("出租车",),
    "开车": ("驾车", "车程"),
    "管几年": ("有效期", "期限"),
    "管多久": ("有效期", "期限"),
    "管多长时间": ("有效期", "期限"),
    "头一年": ("第一年", "首年"),
    "头两年": ("第一年", "第二年"),
    "头三年": ("第一年", "第二年", "第三年"),
    "开张": ("开业", "投用", "开工"),
    "动工": ("开工",),
    "盖了": ("建设", "建成"),
    "盖楼": ("建设", "楼宇"),
    "盖好": ("建成",),
    "建好": ("建成",),
    "弄好": ("建成", "完成"),
    "几个地方": ("区县", "地区", "城市"),
    "多少个地方": ("区县", "地区", "城市"),
    "跑了几个": ("考察",),
    "跑了多少": ("考察",),
    "看了几个": ("考察",),
    "看了多少": ("考察",),
    "定下来": ("选择", "确定"),
    "为啥": ("原因",),
    "咋样": ("水平", "情况"),
    "占多大": ("占地", "面积"),
    "排老几": ("最大", "首位", "第一"),
    "老大": ("最大", "首位", "龙头"),
    "有名": ("知名", "著名"),
    "厉害": ("领先", "一流"),
    "签了": ("签约", "签订"),
    "谈成": ("签约",),
    "拉来": ("引进", "招引"),
    "拉了": ("引进", "招引"),
    "弄来": ("引进",),
}


def with_written_words(question: Question, keywords: KeywordIndex, texts: Texts) -> Question:
    """A Chinese question with the written words its spoken words mean, those some passage
    holds and the question does not say; any other question as it is."""
    if question.language != "zh":
        return question
    found: dict[str, None] = {}
    said = [spoken for spoken in SPOKEN_TO_WRITTEN if spoken in question.simplified]
    if not said:
        return question
    starts, ends = _word_bounds(question)
    for spoken in said:
        if _says(question.simplified, spoken, starts, ends):
            for word in SPOKEN_TO_WRITTEN[spoken]:
                if word not in question.simplified and name_in_passages(word, keywords, texts):
                    found[word] = None
    return dataclasses.replace(question, written=tuple(found)) if found else question


def written_forms(word: str, keywords: KeywordIndex, texts: Texts) -> tuple[str, ...]:
    """The written words a spoken word means that some passage holds (宿舍: 公寓)."""
    return tuple(w for w in SPOKEN_TO_WRITTEN.get(word, ()) if name_in_passages(w, keywords, texts))


def _word_bounds(question: Question) -> tuple[set[int], set[int]]:
    """Where the question's words start and end in its Simplified text."""
    text = question.simplified
    starts, ends, at = set(), set(), 0
    for word, _ in question.words:
        found = text.find(word, at)
        if found < 0:
            continue
        starts.add(found)
        ends.add(found + len(word))
        at = found + len(word)
    return starts, ends


def _says(text: str, spoken: str, starts: set[int], ends: set[int]) -> bool:
    """Whether the text says the spoken words as whole words of its own (盖了 is not said in
    覆盖了)."""
    return any(
        m.start() in starts and m.end() in ends for m in re.finditer(re.escape(spoken), text)
    )
