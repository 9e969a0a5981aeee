from __future__ import annotations

import logging
import os
import random
from pathlib import Path

import pytest

from parkqa.cleaning import clean_lines
from parkqa.documents import (
    SIDECAR_SUFFIX,
    SUPPORTED_SUFFIXES,
    SourceText,
    content_hash,
    knowledge_files,
    read_document,
)
from parkqa.errors import DocumentError

REPO = Path(__file__).resolve().parents[1]
PARK_ARTICLE = REPO / "knowledge" / "yongchuan-big-data-park.txt"
SIMPLIFIED = "4月8日，我市与阿里巴巴集团以视频连线方式举行“云签约”活动。"
TRADITIONAL = "永川大數據產業園聚集企業330家，從業人員1.4萬人。"


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def minimal_pdf(lines: list[str], title: str | None = None) -> bytes:
    """A one-page PDF with lines of Helvetica text, xref offsets computed."""
    commands = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
    for line in lines:
        commands += [f"({line}) Tj", "T*"]
    commands.append("ET")
    stream = "\n".join(commands).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
        ),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    if title is not None:
        objects.append(f"<< /Title ({title}) >>".encode("latin-1"))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    info = b" /Info %d 0 R" % len(objects) if title is not None else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\n" % (len(objects) + 1, info)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


# The park article and its sidecar


def test_park_article_reads_metadata_from_sidecar() -> None:
    document = read_document(PARK_ARTICLE)
    file_lines = PARK_ARTICLE.read_text(encoding="utf-8").splitlines()
    assert isinstance(document, SourceText)
    assert document.path == PARK_ARTICLE
    assert document.title == "中国互联网前三企业已有两家落地 打造双城经济圈“智能智慧之城”"
    assert document.date == "2020-04"
    assert document.source and "永川大数据产业园" in document.source
    assert document.tags == ("永川大数据产业园", "招商引资", "产业政策")
    assert document.encoding == "utf-8"
    assert len(document.lines) == 227
    assert document.lines[0] == file_lines[0].rstrip()
    assert document.lines[0].startswith(" 4月8日")
    assert document.lines[100] == file_lines[100].rstrip()


def test_title_falls_back_to_file_stem(tmp_path: Path) -> None:
    document = read_document(write(tmp_path / "notes.txt", "第一行\n第二行\n"))
    assert document.title == "notes"
    assert document.date is None and document.source is None and document.tags == ()
    assert document.heading_lines == frozenset()


def test_a_name_too_long_to_have_a_sidecar_is_read(tmp_path: Path) -> None:
    stem = "永川区软件企业房租减免通知" * 7  # 246 bytes: with .meta.yaml over the 255-byte limit
    path = write(tmp_path / f"{stem[:82]}.txt", "第一行\n第二行\n")
    assert read_document(path).title == stem[:82]
    assert len(content_hash(path)) == 64


def test_sidecar_tags_as_comma_text_and_full_date(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "text\n")
    write(tmp_path / ("a.txt" + SIDECAR_SUFFIX), "date: 2020-04-08\ntags: 园区, 政策\nextra: x\n")
    document = read_document(path)
    assert document.date == "2020-04-08"
    assert document.tags == ("园区", "政策")


def test_malformed_sidecar_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "text\n")
    sidecar = write(tmp_path / ("a.txt" + SIDECAR_SUFFIX), "title: [unclosed\n")
    with pytest.raises(DocumentError, match=str(sidecar).replace("\\", "\\\\")):
        read_document(path)


def test_bad_date_in_sidecar_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "text\n")
    write(tmp_path / ("a.txt" + SIDECAR_SUFFIX), "date: 2020-13\n")
    with pytest.raises(DocumentError, match="date '2020-13' is not a date; write YYYY"):
        read_document(path)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("a.md" + SIDECAR_SUFFIX, "date: 2020-02-30\n"),
        ("a.md", "---\ntitle: 报告\ndate: 2020-02-30\n---\n正文\n"),
    ],
)
def test_an_impossible_unquoted_date_is_refused_by_value(tmp_path: Path, name, text) -> None:
    path = write(tmp_path / "a.md", "正文\n") if name.endswith(SIDECAR_SUFFIX) else None
    written = write(tmp_path / name, text)
    with pytest.raises(DocumentError, match="date '2020-02-30' is not a date; write YYYY"):
        read_document(path or written)


def test_unquoted_dates_keep_the_text_as_written(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "text\n")
    write(tmp_path / ("a.txt" + SIDECAR_SUFFIX), "date: 2020-04-08\ntitle: 2021-01-02\n")
    document = read_document(path)
    assert (document.date, document.title) == ("2020-04-08", "2021-01-02")


def test_malformed_front_matter_names_the_line_and_column_of_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", "---\ntitle: 报告\nsource: a: b\n---\n正文\n")
    with pytest.raises(DocumentError, match=r"malformed metadata YAML at line 3, column 10; fix"):
        read_document(path)


# Encodings


def test_gbk_without_declaration(tmp_path: Path) -> None:
    text = "\n".join(PARK_ARTICLE.read_text(encoding="utf-8").splitlines()[:12]) + "\n"
    document = read_document(write(tmp_path / "gbk.txt", text.encode("gbk")))
    assert document.encoding == "gb18030"
    assert "\n".join(document.lines) == text.rstrip("\n")


@pytest.mark.parametrize("sentence", [SIMPLIFIED, "永川大数据产业园"])
def test_short_gbk_sentence(tmp_path: Path, sentence: str) -> None:
    document = read_document(write(tmp_path / "gbk.txt", sentence.encode("gbk")))
    assert document.lines == (sentence,)
    assert document.encoding == "gb18030"


@pytest.mark.parametrize(
    "sentence",
    [TRADITIONAL, "永川大數據產業園", "重慶市永川區人民政府與阿里巴巴集團簽署戰略合作協議。"],
)
def test_big5_without_declaration(tmp_path: Path, sentence: str) -> None:
    data = sentence.encode("big5")
    data.decode("gb18030")  # the trap: Big5 bytes are valid GB18030 too
    document = read_document(write(tmp_path / "big5.txt", data))
    assert document.lines == (sentence,)
    assert document.encoding == "big5"


def test_utf8_with_bom(tmp_path: Path) -> None:
    document = read_document(write(tmp_path / "bom.txt", "\ufeff园区\r\n企业\r\n".encode()))
    assert document.lines == ("园区", "企业")
    assert document.encoding == "utf-8-sig"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom(tmp_path: Path, codec: str) -> None:
    data = ("\ufeff" + TRADITIONAL + "\nsecond line\n").encode(codec)
    document = read_document(write(tmp_path / "u16.txt", data))
    assert document.lines == (TRADITIONAL, "second line")
    assert document.encoding == codec


def test_line_endings_and_whitespace(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", b"  first  \r\nsecond\rthird\t\n\n\n \n")
    assert read_document(path).lines == ("  first", "second", "third")


# Refusals


def test_binary_file_is_refused_by_name(tmp_path: Path) -> None:
    rng = random.Random(7)
    data = bytes(rng.randrange(256) for _ in range(4096)) + b"\0\0\0"
    path = write(tmp_path / "blob.txt", data)
    with pytest.raises(DocumentError) as caught:
        read_document(path)
    message = str(caught.value)
    assert str(path) in message and "binary" in message
    assert "\n" not in message


@pytest.mark.parametrize("content", [b"", b"   \n\t\r\n  ", "\ufeff\n".encode()])
def test_empty_files_are_refused(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path / "empty.txt", content)
    with pytest.raises(DocumentError, match="empty"):
        read_document(path)


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = write(tmp_path / "x.bin", b"hello")
    with pytest.raises(DocumentError, match="unsupported file type '.bin'"):
        read_document(path)


def test_file_over_size_limit(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", "x" * 2048)
    with pytest.raises(DocumentError, match=r"2.0 KB, larger than the 1.0 KB limit"):
        read_document(path, max_bytes=1024)


def test_unknown_legacy_encoding(tmp_path: Path) -> None:
    path = write(tmp_path / "latin.txt", "café au lait, crème brûlée\n".encode("cp1252"))
    with pytest.raises(DocumentError, match="save it as UTF-8"):
        read_document(path)


# Markdown


def test_markdown_front_matter_and_headings(tmp_path: Path) -> None:
    path = write(
        tmp_path / "guide.md",
        "---\n"
        "title: 入园指南\n"
        "date: 2021\n"
        "source: 管委会\n"
        "tags: [入园, 指南]\n"
        "owner: ignored\n"
        "---\n"
        "# 申请流程\n"
        "第一步提交材料。\n"
        "\n"
        "## 所需材料 ##\n"
        "```\n"
        "# not a heading\n"
        "```\n",
    )
    document = read_document(path)
    assert document.title == "入园指南"
    assert document.date == "2021"
    assert document.source == "管委会"
    assert document.tags == ("入园", "指南")
    assert document.lines[:7] == ("",) * 7
    assert document.lines[7] == "申请流程"
    assert document.lines[10] == "所需材料"
    assert document.lines[12] == "# not a heading"
    assert document.heading_lines == frozenset({8, 11})


def test_markdown_title_from_first_heading(tmp_path: Path) -> None:
    document = read_document(write(tmp_path / "a.markdown", "intro\n\n# 园区概况\ntext\n"))
    assert document.title == "园区概况"
    assert document.heading_lines == frozenset({3})


def test_sidecar_overrides_front_matter(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", "---\ntitle: old\ndate: 2019\n---\ntext\n")
    write(tmp_path / ("a.md" + SIDECAR_SUFFIX), "title: new\n")
    document = read_document(path)
    assert (document.title, document.date) == ("new", "2019")


@pytest.mark.parametrize("date", ["2020-4", "20200408", "2020-02-30", "April 2020"])
def test_bad_front_matter_date_is_refused(tmp_path: Path, date: str) -> None:
    path = write(tmp_path / "a.md", f"---\ndate: '{date}'\n---\ntext\n")
    with pytest.raises(DocumentError, match="a.md: date '.*' is not a date"):
        read_document(path)


# DOCX


def test_docx_paragraphs_and_headings(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "园区年报"
    document.add_heading("概况", level=1)
    document.add_paragraph("永川大数据产业园聚集企业。")
    document.add_heading("企业", level=2)
    document.add_paragraph("从业人员1.4万人。")
    path = tmp_path / "report.docx"
    document.save(str(path))

    source = read_document(path)
    assert source.title == "园区年报"
    assert source.lines == ("概况", "永川大数据产业园聚集企业。", "企业", "从业人员1.4万人。")
    assert source.heading_lines == frozenset({1, 3})
    assert source.encoding is None


def test_a_docx_table_is_read_as_rows_under_their_header(tmp_path: Path) -> None:
    """A Word table's first row is its header: its rows come out as a Markdown table, which
    cleaning reads row by row with that header (员工人数：420)."""
    import docx

    document = docx.Document()
    table = document.add_table(rows=3, cols=2)
    for row, cells in zip(table.rows, [("企业", "员工人数"), ("星河呼叫", "1860"), ("锐芯", "")]):
        for cell, text in zip(row.cells, cells):
            cell.text = text
    path = tmp_path / "list.docx"
    document.save(str(path))

    lines = read_document(path).lines
    assert lines == ("| 企业 | 员工人数 |", "| --- | --- |", "| 星河呼叫 | 1860 |", "| 锐芯 |  |")
    assert [s.text for s in clean_lines(lines)] == [
        "企业：星河呼叫，员工人数：1860。\n企业：锐芯。"
    ]


def test_corrupt_docx(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.docx", b"PK\x03\x04 not really a zip file")
    with pytest.raises(DocumentError, match="bad.docx: cannot read DOCX"):
        read_document(path)


# HTML


def test_html_text_headings_and_title(tmp_path: Path) -> None:
    path = write(
        tmp_path / "page.html",
        "<!doctype html><html><head><title>园区 &amp; 企业</title>"
        "<style>body { color: red }</style><script>var hidden = 1;</script></head>"
        "<body><h1>永川大数据产业园</h1><p>企业<b>330</b>家 &lt;截至2020年&gt;</p>"
        "<script>alert(1)</script>"
        "<ul><li>阿里巴巴</li><li>百度</li></ul><h2>政策</h2><div>扶持资金<br>人才</div>"
        "</body></html>",
    )
    document = read_document(path)
    assert document.title == "园区 & 企业"
    assert document.lines == (
        "永川大数据产业园",
        "企业330家 <截至2020年>",
        "阿里巴巴",
        "百度",
        "政策",
        "扶持资金",
        "人才",
    )
    assert document.heading_lines == frozenset({1, 5})
    joined = "\n".join(document.lines)
    assert "alert" not in joined and "hidden" not in joined and "color" not in joined


def test_htm_with_declared_gbk_charset(tmp_path: Path) -> None:
    page = '<html><head><meta charset="gb2312"></head><body><p>' + SIMPLIFIED + "</p></body></html>"
    document = read_document(write(tmp_path / "page.htm", page.encode("gbk")))
    assert document.lines == (SIMPLIFIED,)
    assert document.title == "page"


# PDF


def test_pdf_text_is_extracted(tmp_path: Path) -> None:
    path = write(
        tmp_path / "report.pdf", minimal_pdf(["Park report 2020", "330 companies"], "Annual")
    )
    document = read_document(path)
    assert document.lines == ("Park report 2020", "330 companies")
    assert document.title == "Annual"
    assert document.encoding is None


def test_truncated_pdf_is_refused(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = minimal_pdf(["Park report 2020"])
    path = write(tmp_path / "cut.pdf", data[: len(data) // 2])
    with caplog.at_level(logging.WARNING), pytest.raises(DocumentError) as caught:
        read_document(path)
    assert str(caught.value) == f"{path}: cannot read PDF (file is damaged or truncated)"
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]


def test_garbage_pdf_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "junk.pdf", b"%PDF-1.4\n" + b"garbage " * 50 + b"\n%%EOF\n")
    with pytest.raises(DocumentError, match="junk.pdf: "):
        read_document(path)


def test_pdf_without_text(tmp_path: Path) -> None:
    path = write(tmp_path / "scan.pdf", minimal_pdf([]))
    with pytest.raises(DocumentError, match="no extractable text"):
        read_document(path)


# Listing and hashing


def test_knowledge_files_skips_hidden_sidecars_and_outside_links(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    knowledge = tmp_path / "knowledge"
    (knowledge / "sub").mkdir(parents=True)
    (knowledge / ".git").mkdir()
    outside = write(tmp_path / "secret.txt", "outside")
    write(knowledge / "b.txt", "b")
    write(knowledge / ("b.txt" + SIDECAR_SUFFIX), "title: b")
    write(knowledge / "sub" / "a.md", "a")
    write(knowledge / "notes.bin", "x")
    write(knowledge / ".hidden.txt", "h")
    write(knowledge / ".git" / "c.txt", "c")
    os.symlink(outside, knowledge / "link.txt")
    os.symlink(tmp_path, knowledge / "up")
    os.symlink(knowledge / "b.txt", knowledge / "inside.txt")

    with caplog.at_level(logging.WARNING, logger="parkqa.documents"):
        files = knowledge_files(knowledge)

    assert files == [
        knowledge / "b.txt",
        knowledge / "inside.txt",
        knowledge / "notes.bin",
        knowledge / "sub" / "a.md",
    ]
    warned = caplog.text
    assert "link.txt" in warned and str(knowledge / "up") in warned


def test_knowledge_files_in_repo() -> None:
    files = knowledge_files(REPO / "knowledge")
    assert PARK_ARTICLE in files
    assert all(not f.name.endswith(SIDECAR_SUFFIX) for f in files)
    assert all(f.suffix in SUPPORTED_SUFFIXES for f in files)


def test_content_hash_follows_file_and_sidecar(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "text")
    without_sidecar = content_hash(path)
    sidecar = write(tmp_path / ("a.txt" + SIDECAR_SUFFIX), "title: one\n")
    with_sidecar = content_hash(path)
    write(sidecar, "title: two\n")
    edited_sidecar = content_hash(path)
    assert len({without_sidecar, with_sidecar, edited_sidecar}) == 3
    assert content_hash(path) == edited_sidecar
    write(path, "text!")
    assert content_hash(path) != edited_sidecar


def test_an_html_table_is_read_as_rows_under_their_header(tmp_path: Path) -> None:
    path = write(
        tmp_path / "list.html",
        "<html><body><p>名录</p><table><tr><th>企业</th><th>员工人数</th></tr>"
        "<tr><td>星河呼叫</td><td>1860</td></tr><tr><td>锐芯</td><td>420</td></tr>"
        "</table></body></html>",
    )
    lines = read_document(path).lines
    assert lines == (
        "名录",
        "| 企业 | 员工人数 |",
        "| --- | --- |",
        "| 星河呼叫 | 1860 |",
        "| 锐芯 | 420 |",
    )
    assert clean_lines(lines)[0].text.split("\n")[1:] == [
        "企业：星河呼叫，员工人数：1860。",
        "企业：锐芯，员工人数：420。",
    ]


@pytest.mark.parametrize(
    "html",
    [
        # an empty cell keeps its column; whitespace between cells is no cell
        "<table>\n <tr>\n  <th>企业</th>\n  <th>楼栋</th>\n  <th>员工人数</th>\n </tr>\n"
        " <tr>\n  <td>甲公司</td>\n  <td></td>\n  <td>420</td>\n </tr>\n</table>",
        # end tags left out, as HTML allows; a line break inside a cell
        "<table><tr><th>企业<th>楼栋<th>员工人数<tr><td>甲<br>公司<td><td>420</table>",
    ],
)
def test_an_html_tables_cells_stay_under_their_headers(tmp_path: Path, html: str) -> None:
    path = write(tmp_path / "t.html", f"<html><body>{html}</body></html>")
    lines = read_document(path).lines
    assert [p for s in clean_lines(lines) for p in s.text.split("\n")] == [
        f"企业：{'甲 公司' if '<br>' in html else '甲公司'}，员工人数：420。"
    ]
