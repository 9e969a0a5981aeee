"""Real Chinese text for scale benchmarks: a knowledge folder of about N passages, holding the
CMRC 2018 trial paragraphs (whose questions probe retrieval) among distractor documents.

Sources, all read in place (nothing is copied into the project):

- probe: CMRC 2018 trial, Chinese Wikipedia paragraphs (../shared/data/cmrc2018/), CC BY-SA 4.0;
- CMRC 2018 dev paragraphs, Chinese Wikipedia: ymcui/cmrc2018,
  squad-style-data/cmrc2018_dev.json, CC BY-SA 4.0 (paragraphs also in the trial set are skipped);
- DRCD dev and test paragraphs, Traditional Chinese Wikipedia: DRCKnowledgeTeam/DRCD,
  DRCD_dev.json and DRCD_test.json, CC BY-SA 3.0;
- classical poetry: chinese-poetry/chinese-poetry (MIT licence): 全唐诗 (Tang and Song shi,
  Traditional script), 宋词 and 元曲 (Simplified script).

The GitHub repositories are read from bare clones (or ordinary clones) at
<repos>/<owner>+<name>/repo, e.g.

    git clone --bare https://github.com/chinese-poetry/chinese-poetry <repos>/chinese-poetry+chinese-poetry/repo

Wikipedia articles become `##` sections of Markdown documents of about 40 passages; each poem
is a section of its own, 100 poems to a document. Documents are taken from the sources in turn,
so that every size holds every kind of text, and a smaller corpus is a prefix of a larger one
(its texts' vectors are reused from the embedding cache). The sources hold about 355,000
passages; a larger corpus needs more text (--extra-text, folders of UTF-8 .txt or .md files).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cmrc import DEFAULT_SET, DRCD_SET, source_name

DEFAULT_REPOS = Path(__file__).resolve().parents[2] / ".mirror"
CMRC_REPO = "ymcui+cmrc2018"
DRCD_REPO = "DRCKnowledgeTeam+DRCD"
POETRY_REPO = "chinese-poetry+chinese-poetry"

WIKI_DOC_CHARS = 12_000  # about 40 passages of at most 300 characters
POEMS_PER_DOC = 100
MAX_CHARS = 300  # parkqa's default chunking.max_chars, for the passage estimate
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;…\n])")


class CorpusError(Exception):
    """A source is missing or the sources hold too little text."""


@dataclass(frozen=True)
class Section:
    heading: str
    text: str


@dataclass(frozen=True)
class Document:
    """One knowledge file: a title, its source, and its sections."""

    name: str
    title: str
    source: str
    sections: tuple[Section, ...]

    def markdown(self) -> str:
        title = self.title.replace('"', "'")
        body = "\n\n".join(f"## {s.heading}\n\n{s.text}" for s in self.sections)
        return f'---\ntitle: "{title}"\nsource: {self.source}\n---\n\n{body}\n'

    def passages(self) -> int:
        return sum(estimate_passages(s.text) for s in self.sections)


def estimate_passages(text: str, max_chars: int = MAX_CHARS) -> int:
    """About how many passages parkqa cuts a section into: sentences packed up to max_chars,
    one sentence repeated at the start of the next passage. Only sizes the corpus; the
    benchmark reports the index's own count."""
    lengths = [len(s) for s in _SENTENCE_END.split(text) if s.strip()]
    count, i = 0, 0
    while i < len(lengths):
        size, j = lengths[i], i + 1
        while j < len(lengths) and size + lengths[j] <= max_chars:
            size += lengths[j]
            j += 1
        count += 1
        if j >= len(lengths):
            break
        i = max(j - 1, i + 1)
    return count


def _git(repo: Path, *args: str) -> bytes:
    """Run git on a bare or ordinary clone."""
    if not repo.exists():
        raise CorpusError(
            f"source repository not found: {repo}; clone it there with git clone --bare"
        )
    where = ["-C", str(repo)] if (repo / ".git").exists() else ["--git-dir", str(repo)]
    done = subprocess.run(["git", *where, "-c", "core.quotepath=off", *args], capture_output=True)
    if done.returncode:
        raise CorpusError(f"{repo}: git {' '.join(args)} failed: {done.stderr.decode().strip()}")
    return done.stdout


def git_show(repo: Path, path: str) -> bytes:
    """A file of a repository's HEAD."""
    return _git(repo, "show", f"HEAD:{path}")


def git_files(repo: Path, folder: str) -> list[str]:
    """The files of a folder of a repository's HEAD."""
    return _git(repo, "ls-tree", "--name-only", "HEAD", f"{folder}/").decode("utf-8").split()


def squad_articles(data: dict, skip: frozenset[str] = frozenset()) -> Iterator[Section]:
    """Each article of a SQuAD-format set as one section: its paragraphs under its title."""
    for article in data["data"]:
        paragraphs = [
            p["context"].strip() for p in article["paragraphs"] if p["context"].strip() not in skip
        ]
        if paragraphs:
            yield Section(article["title"].strip() or "无题", "\n\n".join(paragraphs))


def wiki_documents(sections: Iterable[Section], stem: str, title: str, source: str):
    """Articles grouped into documents of about WIKI_DOC_CHARS characters."""
    batch: list[Section] = []
    size = number = 0
    for section in sections:
        batch.append(section)
        size += len(section.text)
        if size >= WIKI_DOC_CHARS:
            number += 1
            yield Document(f"{stem}-{number:04d}", f"{title} {number}", source, tuple(batch))
            batch, size = [], 0
    if batch:
        number += 1
        yield Document(f"{stem}-{number:04d}", f"{title} {number}", source, tuple(batch))


def poem_section(poem: dict) -> Section | None:
    text = "\n".join(line.strip() for line in poem.get("paragraphs", []) if line.strip())
    if not text:
        return None
    name = (poem.get("title") or poem.get("rhythmic") or "无题").strip()
    author = (poem.get("author") or "").strip()
    return Section(f"{name}（{author}）" if author else name, text)


def poem_documents(repo: Path, files: list[str], stem: str, title: str, source: str):
    """Poems of the JSON files, POEMS_PER_DOC to a document."""
    number = 0
    for path in files:
        poems = distinct_headings(
            [s for s in map(poem_section, json.loads(git_show(repo, path))) if s]
        )
        for start in range(0, len(poems), POEMS_PER_DOC):
            number += 1
            sections = tuple(poems[start : start + POEMS_PER_DOC])
            yield Document(f"{stem}-{number:04d}", f"{title} 第{number}册", source, sections)


def distinct_headings(sections: list[Section]) -> list[Section]:
    """Number repeated headings (词 share the names of their tunes): 少年游（张先）其二.
    parkqa packs the sections of one heading together, which would merge those poems."""
    seen: dict[str, int] = {}
    numbered = []
    for section in sections:
        seen[section.heading] = seen.get(section.heading, 0) + 1
        count = seen[section.heading]
        heading = section.heading + (f" 其{chinese_number(count)}" if count > 1 else "")
        numbered.append(Section(heading, section.text))
    return numbered


def chinese_number(n: int) -> str:
    digits = "〇一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n >= 100:
        return str(n)
    tens, ones = divmod(n, 10)
    return (digits[tens] if tens > 1 else "") + "十" + (digits[ones] if ones else "")


def _numbered(files: list[str], prefix: str) -> list[str]:
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.json$")
    matches = [(int(m.group(1)), f) for f in files if (m := pattern.search(f))]
    return [f for _, f in sorted(matches)]


def text_documents(folders: list[Path]) -> Iterator[Document]:
    """Extra distractor text: each .txt or .md file, its paragraphs as one section."""
    for folder in folders:
        for number, path in enumerate(sorted(folder.rglob("*")), start=1):
            if path.suffix.lower() not in (".txt", ".md") or not path.is_file():
                continue
            text = path.read_text(encoding="utf-8", errors="replace").strip()
            if text:
                section = Section(path.stem, text)
                yield Document(
                    f"extra-{slug(folder.name)}-{number:05d}", path.stem, folder.name, (section,)
                )


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "text"


def probe_documents(squad_path: Path) -> list[Document]:
    data = json.loads(Path(squad_path).read_text(encoding="utf-8"))
    source = source_name(squad_path)
    return list(wiki_documents(squad_articles(data), "probe", "维基百科选编 甲", source))


def distractor_sources(repos: Path, probe: Path, extra: list[Path]) -> list[Iterator[Document]]:
    """The distractor documents of each source, in the order they are taken."""
    trial = json.loads(Path(probe).read_text(encoding="utf-8"))
    seen = frozenset(p["context"].strip() for a in trial["data"] for p in a["paragraphs"])
    cmrc, drcd, poetry = (
        repos / CMRC_REPO / "repo",
        repos / DRCD_REPO / "repo",
        repos / POETRY_REPO / "repo",
    )

    def squad(repo: Path, path: str, stem: str, title: str, source: str):
        data = json.loads(git_show(repo, path))
        yield from wiki_documents(squad_articles(data, seen), stem, title, source)

    def drcd_dev():
        data = json.loads(Path(DRCD_SET).read_text(encoding="utf-8"))
        yield from wiki_documents(
            squad_articles(data, seen), "drcd-dev", "維基百科選編 丙", "DRCD dev"
        )

    tang = git_files(poetry, "全唐诗")
    ci = git_files(poetry, "宋词")
    sources = [
        squad(
            cmrc,
            "squad-style-data/cmrc2018_dev.json",
            "cmrc-dev",
            "维基百科选编 乙",
            "CMRC 2018 dev",
        ),
        drcd_dev(),
        squad(drcd, "DRCD_test.json", "drcd-test", "維基百科選編 丁", "DRCD test"),
        poem_documents(poetry, _numbered(tang, "poet.tang."), "tang", "全唐詩選", "全唐诗"),
        poem_documents(
            poetry, _numbered(tang, "poet.song."), "song-shi", "全宋詩選", "全唐诗 (宋)"
        ),
        poem_documents(poetry, _numbered(ci, "ci.song."), "song-ci", "全宋词选", "宋词"),
        poem_documents(poetry, ["元曲/yuanqu.json"], "yuanqu", "元曲选", "元曲"),
    ]
    if extra:
        sources.append(text_documents(extra))
    return sources


def round_robin(sources: list[Iterator[Document]]) -> Iterator[Document]:
    """One document of each source in turn, dropping sources as they run out."""
    active = list(sources)
    while active:
        for source in list(active):
            document = next(source, None)
            if document is None:
                active.remove(source)
            else:
                yield document


def plan_corpus(
    passages: int,
    probe: Path = DEFAULT_SET,
    repos: Path = DEFAULT_REPOS,
    extra: Iterable[Path] = (),
) -> list[Document]:
    """The probe documents, then distractors in turn until about `passages` passages."""
    documents = probe_documents(probe)
    total = sum(d.passages() for d in documents)
    if total > passages:
        raise CorpusError(
            f"the probe alone has about {total} passages; ask for --passages {total} or more"
        )
    stream = round_robin(distractor_sources(repos, probe, list(extra)))
    for document in stream:
        if total >= passages:
            break
        documents.append(document)
        total += document.passages()
    if total < passages * 0.98:
        raise CorpusError(
            f"the sources hold only about {total} passages, fewer than {passages}; "
            "add text with --extra-text FOLDER"
        )
    return documents


def write_corpus(documents: list[Document], root: Path, model: str) -> Path:
    """Write the documents under root/knowledge (files already holding the same text are left
    alone, files of another plan are removed) and a config; return the config's path."""
    knowledge = root / "knowledge"
    knowledge.mkdir(parents=True, exist_ok=True)
    wanted = {f"{d.name}.md": d for d in documents}
    for stale in knowledge.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    for name, document in wanted.items():
        _write_if_changed(knowledge / name, document.markdown())
    config = root / "parkqa.yaml"
    text = f"knowledge_dir: knowledge\nindex_dir: index\nembedding:\n  model: {model}\n"
    _write_if_changed(config, text)
    return config


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
