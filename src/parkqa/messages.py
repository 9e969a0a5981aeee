"""What the chat page and the JSON API say, in the interface language (Chinese or English).

The page's own words are looked up by key; the library's messages (errors, answer notes,
index warnings) are written in English for the terminal, and are said here in the
interface language without the terminal's commands. Pure functions over text.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass

from parkqa.chinese import has_cjk
from parkqa.documents import SUPPORTED_SUFFIXES
from parkqa.errors import (
    DocumentError,
    EncoderError,
    IndexBusyError,
    IndexCorruptError,
    IndexMissingError,
    IndexWriteError,
    ParkQAError,
    QuestionError,
    TagError,
    UploadError,
)

LANGUAGES = ("zh", "en")
BROWSER_LOCALES = {"zh": "zh-CN", "en": "en"}
# Words Gradio's page uses but its own translations lack, by browser locale.
GRADIO_WORDS = {"zh-CN": {"common": {"complete": "完成"}}, "en": {"common": {"complete": "Done"}}}
_TYPES = " ".join(SUPPORTED_SUFFIXES)

WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "api_post_only": '请用 POST 发送 JSON 请求体：{{"question": "..."}}',
        "api_not_json": "请以 JSON 发送问题，并带上请求头 Content-Type: application/json",
        "api_bad_json": "请求体不是有效的 JSON",
        "api_bad_json_at": "请求体不是有效的 JSON（第 {line} 行第 {column} 列）",
        "api_not_object": '请求体应是一个 JSON 对象，例如 {{"question": "..."}}',
        "api_unreadable": "无法读取这个请求",
        "api_missing_field": "缺少字段“{name}”",
        "api_bad_field": "字段“{name}”的值不合要求",
        "api_login": "需要用户名和密码",
        "chat_tab": "问答",
        "knowledge_tab": "知识库",
        "chat_placeholder": "就知识库中的文档提问；每个回答都标出处，点开可看原文。",
        "question": "问题",
        "error_title": "出错了",
        "question_placeholder": "输入问题，按回车发送",
        "send": "发送",
        "clear": "清空对话",
        "filters": "按标签和日期筛选",
        "tags": "标签（任一）",
        "date_from": "起始日期",
        "date_to": "截止日期",
        "date_format": "YYYY、YYYY-MM 或 YYYY-MM-DD",
        "bad_date": "{label}“{value}”格式不对；请写成 YYYY、YYYY-MM 或 YYYY-MM-DD",
        "dates_reversed": "{label}“{value}”晚于{label_to}“{value_to}”；请交换这两个日期",
        "documents": "已索引的文档",
        "no_documents": "还没有已索引的文档：上传文档并更新索引。",
        "upload": "上传文档（{types}，每个不超过 {mb} MB）",
        "update": "更新索引",
        "updating": "正在更新索引",
        "embedding": "正在编码段落",
        "passages_unit": "段",
        "no_index": "知识库尚未建立索引：在“知识库”页上传文档并更新索引。",
        "header": "{documents} 篇文档 · {passages} 个段落 · 更新于 {built}",
        "pending": "{count} 篇文档在建立索引后有变动（{parts}），回答还没有用到：请更新索引。",
        "pending_new": "新增 {count}",
        "pending_changed": "修改 {count}",
        "pending_deleted": "删除 {count}",
        "sources": "来源",
        "others": "其他检索到的段落（{count}）",
        "related": "相关阅读（不是答案的出处，仅供参考）",
        "related_label": "相关",
        "understood": "理解为：{question}",
        "line": "第 {first} 行",
        "lines": "第 {first}–{last} 行",
        "saved": "已保存：{names}",
        "refused": "未接收：{message}",
        "updated": "索引已更新：新增 {added}、修改 {changed}、删除 {removed} 篇文档；"
        "共 {passages} 个段落（新编码 {embedded} 个），用时 {seconds} 秒。",
        "up_to_date": "索引已是最新。",
        "warning": "注意：{message}",
        "not_updated": "索引未更新：{message}",
        "remove_choice": "选择要删除的文档",
        "remove": "删除所选文档",
        "choose_to_remove": "请先选择要删除的文档。",
        "confirm_replace": "知识库中已有同名的文档：{names}。要用刚上传的版本替换吗？"
        "原来的文件会被覆盖。",
        "confirm_remove": "要删除这些文档吗：{names}？文件会从知识库文件夹中删除，"
        "索引中也不再有它们。",
        "replace_yes": "替换",
        "remove_yes": "删除",
        "cancel": "取消",
        "replaced": "已替换：{names}",
        "metadata_removed": "新文件没有元数据文件，已删除原来的：{names}",
        "removed": "已删除：{names}",
        "not_replaced": "已取消，原来的文档没有改动：{names}",
        "not_removed": "已取消，没有删除任何文档。",
        "list_separator": "、",
    },
    "en": {
        "api_post_only": 'use POST with a JSON body: {{"question": "..."}}',
        "api_not_json": "send the question as JSON, with the header Content-Type: application/json",
        "api_bad_json": "the body is not valid JSON",
        "api_bad_json_at": "the body is not valid JSON at line {line}, column {column}",
        "api_not_object": 'the body must be a JSON object such as {{"question": "..."}}',
        "api_unreadable": "the request could not be read",
        "api_missing_field": "'{name}': Field required",
        "api_bad_field": "'{name}': {problem}",
        "api_login": "username and password required",
        "chat_tab": "Ask",
        "knowledge_tab": "Knowledge",
        "chat_placeholder": "Ask about the documents in the knowledge base; every answer cites "
        "its sources, and a source opens to show the text.",
        "question": "Question",
        "error_title": "Error",
        "question_placeholder": "Type a question and press Enter",
        "send": "Send",
        "clear": "Clear",
        "filters": "Filter by tag and date",
        "tags": "Tags (any)",
        "date_from": "From",
        "date_to": "Until",
        "date_format": "YYYY, YYYY-MM or YYYY-MM-DD",
        "bad_date": "{label} '{value}' is not a date; write YYYY, YYYY-MM or YYYY-MM-DD",
        "dates_reversed": "{label} '{value}' is after {label_to} '{value_to}'; swap the two dates",
        "documents": "Indexed documents",
        "no_documents": "No documents are indexed yet: upload documents and update the index.",
        "upload": "Upload documents ({types}, up to {mb} MB each)",
        "update": "Update index",
        "updating": "Updating the index",
        "embedding": "Embedding passages",
        "passages_unit": "passages",
        "no_index": "The knowledge base has no index yet: upload documents on the Knowledge "
        "tab and update the index.",
        "header": "{documents} document{s} · {passages} passages · updated {built}",
        "pending": "{count} document{s} changed since the index was built ({parts}); answers "
        "do not use the changes yet: update the index.",
        "pending_new": "{count} new",
        "pending_changed": "{count} changed",
        "pending_deleted": "{count} deleted",
        "sources": "Sources",
        "others": "Other passages found ({count})",
        "related": "Related reading (not where an answer came from)",
        "related_label": "Related",
        "understood": "Understood as: {question}",
        "line": "line {first}",
        "lines": "lines {first}–{last}",
        "saved": "Saved: {names}",
        "refused": "Not accepted: {message}",
        "updated": "Index updated: {added} added, {changed} changed, {removed} removed; "
        "{passages} passages ({embedded} newly embedded) in {seconds} s.",
        "up_to_date": "The index is up to date.",
        "warning": "Note: {message}",
        "not_updated": "Index not updated: {message}",
        "remove_choice": "Documents to delete",
        "remove": "Delete selected",
        "choose_to_remove": "Choose the documents to delete first.",
        "confirm_replace": "The knowledge base already has documents of these names: {names}. "
        "Replace them with the uploaded versions? The old files will be overwritten.",
        "confirm_remove": "Delete these documents: {names}? The files are deleted from the "
        "knowledge folder and removed from the index.",
        "replace_yes": "Replace",
        "remove_yes": "Delete",
        "cancel": "Cancel",
        "replaced": "Replaced: {names}",
        "metadata_removed": "The new files have no metadata file; removed the old one: {names}",
        "removed": "Deleted: {names}",
        "not_replaced": "Cancelled; these documents are unchanged: {names}",
        "not_removed": "Cancelled; nothing was deleted.",
        "list_separator": ", ",
    },
}

DOCUMENT_COLUMNS = {
    "zh": ["标题", "文件", "日期", "标签", "段落"],
    "en": ["Title", "File", "Date", "Tags", "Passages"],
}


def say(key: str, language: str, **values: object) -> str:
    """One of the page's sentences in the interface language, with its values filled in."""
    return WORDS[language][key].format(**values)


@dataclass(frozen=True)
class _Message:
    """A library message recognised by its English wording, and how each language says it;
    en None keeps the library's own words."""

    pattern: re.Pattern[str]
    zh: str
    en: str | None = None


def _message(pattern: str, zh: str, en: str | None = None) -> _Message:
    return _Message(re.compile(pattern, re.DOTALL), zh, en)


_NAME = r"^(?P<name>.+?): "
_MESSAGES = (
    # documents and uploads
    _message(
        _NAME + r"unsupported file type '(?P<suffix>[^']*)'",
        "{name}：不支持的文件类型“{suffix}”；支持 " + _TYPES,
        "{name}: unsupported file type '{suffix}'; supported: " + _TYPES,
    ),
    _message(
        _NAME + r"(?P<size>[\d.]+) MB is over the (?P<limit>[\d.]+) MB upload limit",
        "{name}：{size} MB，超过了每个文件 {limit} MB 的上传上限",
    ),
    _message(
        _NAME + r"file is (?P<size>\S+ \S+), larger than the (?P<limit>\S+ \S+) limit",
        "{name}：文件有 {size}，超过 {limit} 的上限；请拆分成较小的文件",
    ),
    _message(_NAME + r"file is empty", "{name}：文件是空的，没有文字"),
    _message(
        _NAME + r"not a text document \(binary data\)",
        "{name}：不是文本文档（二进制数据）；请转换为 .txt 后再上传",
        "{name}: not a text document (binary data); convert it to .txt and upload it again",
    ),
    _message(
        _NAME + r"unknown text encoding",
        "{name}：无法识别文本编码（不是 UTF-8、GB18030 或 Big5）；请另存为 UTF-8",
    ),
    _message(_NAME + r"cannot read PDF", "{name}：PDF 文件已损坏或不完整，无法读取"),
    _message(
        _NAME + r"PDF is password-protected", "{name}：PDF 有密码保护；请另存一份未加密的副本"
    ),
    _message(
        _NAME + r"PDF has no extractable text",
        "{name}：PDF 里没有可提取的文字（可能是扫描件）；请先做文字识别，或转换为 .txt",
    ),
    _message(_NAME + r"cannot read DOCX", "{name}：无法读取 DOCX（文件已损坏或不是 Word 文档）"),
    _message(
        _NAME + r"reading (?P<kind>PDF|DOCX) needs (?P<package>\S+);",
        "{name}：读取 {kind} 需要服务器上安装 {package}",
        "{name}: reading {kind} needs {package} installed on the server",
    ),
    _message(
        _NAME + r"(?:bad date|date) '(?P<date>[^']*)'",
        "{name}：元数据中的日期“{date}”不对；请写成 YYYY、YYYY-MM 或 YYYY-MM-DD",
    ),
    _message(
        _NAME + r"malformed metadata YAML at line (?P<line>\d+), column (?P<column>\d+)",
        "{name}：元数据（文档开头的 front matter 或 .meta.yaml 文件）第 {line} 行第 {column} 列"
        "写得不对；请检查 title、date、source、tags",
    ),
    _message(
        _NAME + r"malformed metadata YAML at line (?P<line>\d+)",
        "{name}：元数据（文档开头的 front matter 或 .meta.yaml 文件）第 {line} 行写得不对；"
        "请检查 title、date、source、tags",
    ),
    _message(
        _NAME + r"(?:malformed metadata|metadata |cannot read metadata)",
        "{name}：元数据（文档开头的 front matter 或 .meta.yaml 文件）写得不对；"
        "请检查 title、date、source、tags",
    ),
    _message(
        _NAME + r"cannot (?:read file|be read) \((?P<reason>[^()]+)\)",
        "{name}：无法读取文件（{reason}）",
    ),
    _message(_NAME + r"cannot (?:read file|be read)", "{name}：无法读取文件"),
    _message(_NAME + r"no text found", "{name}：没有找到文字"),
    _message(
        _NAME + r"skipped, it links to (?P<target>.+) outside the knowledge folder",
        "{name}：链接指向知识库文件夹以外的 {target}；已跳过",
    ),
    _message(_NAME + r"skipped, it is a broken link", "{name}：链接已失效；已跳过"),
    _message(_NAME + r"not a plain file name", "{name}：不是一个普通的文件名"),
    _message(_NAME + r"no such file", "{name}：文件不存在"),
    _message(
        _NAME + r"two files would have this name",
        "{name}：上传的两个文件会得到同一个名字；请把其中一个改名后再上传",
        "{name}: two uploaded files would get this name; rename one and upload it again",
    ),
    _message(
        _NAME + r"cannot store it in .*?: (?P<reason>.+)$",
        "{name}：无法保存到知识库文件夹（{reason}）",
        "{name}: cannot be saved in the knowledge folder ({reason})",
    ),
    _message(
        r"^(?P<names>.+?): no such document in the knowledge folder",
        "知识库中没有这些文档：{names}",
        "no such document in the knowledge base: {names}",
    ),
    _message(
        r"^cannot remove every document",
        "不能删除全部文档：索引至少需要一篇；请先上传别的文档。",
        "cannot delete every document: the index needs at least one; upload another first",
    ),
    _message(
        _NAME + r"cannot look into .*?: (?P<reason>.+)$",
        "{name}：无法查看知识库文件夹（{reason}）",
        "{name}: cannot look into the knowledge folder ({reason})",
    ),
    _message(_NAME + r"cannot remove it \((?P<reason>.+)\)", "{name}：无法删除（{reason}）"),
    _message(
        r"^(?P<given>.+?) would be stored as (?P<name>.+?), which another document already has",
        "{given} 会被保存为 {name}，而另一篇文档已经用了这个名字；请把 {given} 改名后再上传",
        "{given} would be stored as {name}, which another document already has; "
        "rename {given} and upload it again",
    ),
    _message(_NAME + r"is a folder", "{name}：这是一个文件夹；请选择其中的文档"),
    _message(
        r"^(?P<name>.+?) already exists with other content",
        "{name} 已存在，内容不同；替换它才能保存这个文件",
        "{name} already exists with other content; replace it to store this file",
    ),
    _message(_NAME + r"cannot (?:remove|store) it", "{name}：无法在服务器上写入或删除这个文件"),
    _message(r"^(?P<name>.+?): knowledge folder not found", "找不到知识库文件夹 {name}"),
    _message(
        r"^knowledge folder not found: (?P<name>.+?); ",
        "找不到知识库文件夹 {name}；请在服务器上建立这个文件夹并放入文档，"
        "或在配置中设置 knowledge_dir",
        "the knowledge folder {name} is not found; create it on the server and put documents "
        "in it, or set knowledge_dir in the config",
    ),
    _message(
        r"^no documents in .+ that parkqa can read",
        f"知识库中没有可读取的文档；请上传文档（{_TYPES}）后再更新索引。原来的索引未改动。",
        f"no documents in the knowledge base can be read; upload documents ({_TYPES}) and "
        "update the index again; the existing index is unchanged",
    ),
    # questions and filters
    _message(
        r"^the question is empty",
        "问题是空的，请写一个问题。",
        "the question is empty; write a question",
    ),
    _message(r"^the question must be text", "问题必须是文字。"),
    _message(
        r"'(?P<value>[^']*)' is not a date",
        "日期“{value}”不对；请写成 YYYY、YYYY-MM 或 YYYY-MM-DD",
        "'{value}' is not a date; write YYYY, YYYY-MM or YYYY-MM-DD",
    ),
    _message(
        r"^unknown tags? (?P<tags>.+?); the documents' tags are: (?P<known>.*)$",
        "没有这个标签：{tags}；文档中的标签有：{known}",
    ),
    _message(
        r"^unknown tags? (?P<tags>.+?); no document has tags",
        "没有这个标签：{tags}；文档都没有标签",
    ),
    # the index
    _message(
        r"^no index in .+ yet",
        "知识库还没有建立索引：请先上传文档并更新索引。",
        "the knowledge base has no index yet; add documents and update the index first",
    ),
    _message(
        r"^another parkqa is updating the index",
        "另一个进程正在更新索引；请等它完成后再试。",
        "another process is updating the index; wait for it to finish and try again",
    ),
    _message(
        r"^disk full while writing the index",
        "写入索引时磁盘已满；请释放空间后再试。原来的索引未改动。",
        "the disk is full; free some space and try again (the previous index is unchanged)",
    ),
    _message(
        r"^cannot write the index",
        "无法写入索引；请检查服务器上索引文件夹的权限。原来的索引未改动。",
        "the index cannot be written; check the index folder's permissions on the server "
        "(the previous index is unchanged)",
    ),
    # notes on answers
    _message(
        r"^control characters and escape sequences were removed",
        "已去掉问题中的控制字符和转义序列",
    ),
    _message(
        r"^the question was cut to its first (?P<count>\d+) characters",
        "问题太长，只用了前 {count} 个字",
    ),
    _message(
        r"^the generation endpoint failed",
        "生成回答的服务出错，这是从原文摘出的回答",
        "the generation endpoint failed; this is the extractive answer",
    ),
    _message(
        r"^the generated answer cited no supporting passage",
        "生成的回答没有能支持它的出处，这是从原文摘出的回答",
    ),
    _message(
        r"^(?P<count>\d+) generated sentence\(s\) without support were dropped",
        "去掉了 {count} 句没有出处支持的生成内容",
    ),
)
_KEPT = re.compile(r"^kept the indexed version: (?P<message>.+)$", re.DOTALL)


@dataclass(frozen=True)
class _Outcome:
    """A message about what became of a file, around the library message saying why."""

    pattern: re.Pattern[str]
    zh: str
    en: str
    kind: type[ParkQAError] = DocumentError


_OUTCOMES = (
    _Outcome(
        re.compile(r"^(?P<message>.+?); skipped(?: \(.*\))?$", re.DOTALL),
        "{message}；已跳过",
        "{message}; skipped",
    ),
    _Outcome(
        re.compile(
            r"^removed (?P<files>.+?); the index was not updated \((?P<message>.+)\)(?::[^()]*)?$",
            re.DOTALL,
        ),
        "已删除 {files}，但索引没有更新：{message}。请再更新一次索引。",
        "removed {files}, but the index was not updated: {message}; update the index again",
        ParkQAError,
    ),
)

# How a message the table does not know is introduced, by the error's kind (Chinese, English).
_LEADS: tuple[tuple[type[ParkQAError], str, str], ...] = (
    (
        IndexCorruptError,
        "索引已损坏或与当前配置不符；请管理员在服务器上重建索引。",
        "{message}; an administrator needs to rebuild the index on the server",
    ),
    (
        EncoderError,
        "无法加载嵌入模型（配置项 embedding.model）；请管理员查看服务器日志。",
        "{message}",
    ),
    (IndexMissingError, "知识库还没有建立索引：{message}", "{message}"),
    (IndexBusyError, "另一个进程正在更新索引：{message}", "{message}"),
    (IndexWriteError, "无法写入索引，原来的索引未改动：{message}", "{message}"),
    (UploadError, "文件未被接收：{message}", "{message}"),
    (DocumentError, "文档无法读取：{message}", "{message}"),
    (QuestionError, "无法回答这个问题：{message}", "{message}"),
    (ParkQAError, "出错了：{message}", "{message}"),
)
# The operating system's reasons for a failed file operation, as its messages word them.
_REASONS = {
    os.strerror(code): reason
    for code, reason in {
        errno.EACCES: "没有权限",
        errno.EPERM: "不允许这个操作",
        errno.ENOSPC: "磁盘已满",
        errno.EDQUOT: "超出磁盘配额",
        errno.EROFS: "文件系统只读",
        errno.ENAMETOOLONG: "文件名太长",
        errno.ENOENT: "文件或文件夹不存在",
        errno.ENOTDIR: "路径中有一项不是文件夹",
        errno.EISDIR: "这是一个文件夹",
        errno.EEXIST: "文件已存在",
        errno.ENOTEMPTY: "文件夹不是空的",
        errno.EBUSY: "文件正被占用",
        errno.EIO: "读写出错",
        errno.ELOOP: "链接层数太多",
    }.items()
}
# A clause of a message that tells the terminal's user what command to run.
_COMMAND = re.compile(r"\bparkqa (?:index|ask|add|remove|docs|serve|eval)\b|\s--\w|\bpip install\b")


def translate(message: str, language: str, kind: type[ParkQAError] = ParkQAError) -> str:
    """A library message (error, note or index warning) in the interface language, without
    the terminal's commands: known messages are said in its words; another is introduced by
    what kind of problem it is (in Chinese, a damaged index or a missing model only by that:
    its details are the server's)."""
    kept = _KEPT.match(message)
    if kept:
        inner = translate(kept["message"], language, DocumentError)
        return (
            "已保留索引中的原版本：" if language == "zh" else "kept the indexed version: "
        ) + inner
    if "\n" in message:
        return "\n".join(translate(line, language, kind) for line in message.splitlines())
    for outcome in _OUTCOMES:
        match = outcome.pattern.match(message)
        if match:
            values = match.groupdict()
            values["message"] = translate(values["message"], language, outcome.kind).rstrip("。")
            return (outcome.zh if language == "zh" else outcome.en).format(**values)
    for known in _MESSAGES:
        match = known.pattern.search(message)
        if match:
            wording = known.zh if language == "zh" else known.en
            if wording is None:
                return _without_commands(message)
            return wording.format(**_values(match.groupdict(), language))
    if language == "zh" and has_cjk(message):
        return _without_commands(message)
    lead = next(lead for cls, *lead in _LEADS if issubclass(kind, cls))[language != "zh"]
    return lead.format(message=_without_commands(message))


def _values(values: dict[str, str], language: str) -> dict[str, str]:
    """A message's values as the language says them: the system's reasons and sizes."""
    if language != "zh":
        return values
    said = dict(values)
    if "reason" in said:
        said["reason"] = _REASONS.get(said["reason"], "系统错误")
    for name in ("size", "limit"):
        if name in said:
            said[name] = said[name].replace("bytes", "字节")
    return said


def _without_commands(message: str) -> str:
    """A message without its clauses that name a command to run (the page has no terminal)."""
    clauses = [c for c in message.split("; ") if not _COMMAND.search(c)]
    return "; ".join(clauses) if clauses else message


def say_error(error: ParkQAError, language: str) -> str:
    """An error from the library in the interface language (an unknown tag from its values)."""
    if isinstance(error, TagError) and language == "zh":
        unknown = WORDS["zh"]["list_separator"].join(f"“{tag}”" for tag in error.unknown)
        known = WORDS["zh"]["list_separator"].join(error.known)
        where = f"文档中的标签有：{known}" if known else "文档都没有标签"
        return f"没有这个标签：{unknown}；{where}"
    return translate(str(error), language, type(error))
