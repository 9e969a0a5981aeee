"""parkqa under faults: a build killed part-way, a full disk, two builds at once, and
questions answered while the index is rebuilt. The previous index must always still answer."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from parkqa import KnowledgeBase, knowledge_base, store
from parkqa.cli import main
from parkqa.config import load_config
from parkqa.encoders import make_encoder
from parkqa.manifest import Manifest
from parkqa.store import load_index

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
PARK_ARTICLE = REPO / "knowledge" / "yongchuan-big-data-park.txt"
PARK_SIDECAR = PARK_ARTICLE.with_name(PARK_ARTICLE.name + ".meta.yaml")
QUESTION = "阿里巴巴在永川投资了多少钱？"
ANSWER = "投资3亿元"
QUESTIONS = (
    QUESTION,
    "百度在永川投资了什么项目？",
    "华为计划在永川投资多少亿元？",
    "永川出台了哪些扶持政策？",
    "阿里为什么选择永川？",
)
COMPANIES = ("华为", "腾讯", "京东", "小米", "联想", "海康威视", "科大讯飞", "浪潮", "紫光", "中兴")
PROJECTS = ("数据中心", "研发中心", "客服中心", "智能制造基地", "云计算平台", "人工智能实验室")
POLICIES = ("人才公寓", "产业基金", "房租减免", "税收返还", "职业教育补贴", "工业互联网专项")


def write_notices(knowledge: Path, count: int = 80) -> None:
    """Short generated announcements, so that a full build takes a few seconds."""
    for i in range(count):
        company, project = COMPANIES[i % len(COMPANIES)], PROJECTS[i % len(PROJECTS)]
        policy, year = POLICIES[(i * 5) % len(POLICIES)], 2015 + i % 9
        text = (
            f"第{i + 1}号公告：{year}年，{company}与永川区签订合作协议，计划投资{2 + (i * 7) % 97}亿元"
            f"在永川大数据产业园建设{project}，可容纳{300 + i * 25}名员工。"
            f"永川区为该项目提供{policy}等扶持政策，企业可向区大数据发展局申请，审核通过后按年度兑现。\n"
            f"\n截至{year}年底，园区已累计引进企业{100 + i * 3}家，实现产值{50 + i}亿元，"
            f"带动就业{2000 + i * 40}人。{company}相关负责人说，选择永川是看中了当地的职业教育资源、"
            f"较低的运营成本和便利的交通，园区正在规划第{i % 5 + 2}期扩建工程。\n"
        )
        (knowledge / f"notice-{i:03d}.txt").write_text(text, encoding="utf-8")


def make_folder(folder: Path, index: Path | None = None, notices: bool = True) -> Path:
    knowledge = folder / "knowledge"
    knowledge.mkdir(parents=True)
    for source in (PARK_ARTICLE, PARK_SIDECAR):
        shutil.copy(source, knowledge / source.name)
    if notices:
        write_notices(knowledge)
    if index is not None:
        shutil.copytree(index, folder / "index")
    path = folder / "parkqa.yaml"
    path.write_text("knowledge_dir: knowledge\nindex_dir: index\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def shared() -> dict[str, object]:
    return {}


@pytest.fixture(autouse=True)
def shared_encoder(monkeypatch: pytest.MonkeyPatch, shared: dict[str, object]) -> None:
    """In-process KnowledgeBases reuse one real encoder; subprocesses load their own."""

    def cached(config):
        if config.model not in shared:
            shared[config.model] = make_encoder(config)
        return shared[config.model]

    monkeypatch.setattr(knowledge_base, "make_encoder", cached)


@pytest.fixture(scope="module")
def built_index(tmp_path_factory: pytest.TempPathFactory, shared: dict[str, object]) -> Path:
    """The park article plus 80 notices, indexed once for the module."""
    config = load_config(make_folder(tmp_path_factory.mktemp("built")))
    if config.embedding.model not in shared:
        shared[config.embedding.model] = make_encoder(config.embedding)
    KnowledgeBase(config, shared[config.embedding.model]).update()
    return config.index_dir


@pytest.fixture
def config_path(tmp_path: Path, built_index: Path) -> Path:
    return make_folder(tmp_path, built_index)


def snapshot(folder: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != ".lock"
    }


def parkqa(config: Path, *argv: str, **options) -> subprocess.Popen:
    """`parkqa` as a separate process (what a user starts in a terminal)."""
    return subprocess.Popen(
        [sys.executable, "-m", "parkqa", "--config", str(config), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **options,
    )


def assert_index_whole(index: Path) -> store.LoadedIndex:
    """The committed index loads and its parts agree with each other and with the manifest."""
    loaded = load_index(index)
    count = loaded.manifest.passages
    assert len(loaded.passages) == count == loaded.vectors.ntotal == loaded.keywords.count
    per_document = Counter(p.doc for p in loaded.passages)
    assert per_document == {doc: r.passages for doc, r in loaded.manifest.documents.items()}
    assert len({p.id for p in loaded.passages}) == count
    return loaded


def named_files(index: Path) -> set[str]:
    """The files the committed manifest names (its generation's segments and deletion sets)."""
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    return Manifest.from_json(manifest).files()


def assert_only_two_generations_left(index: Path, previous: set[str]) -> None:
    """After a commit the folder holds the files of the committed generation and of the one
    before it (`previous`, for readers still on it), nothing else: no staged manifest, no file
    of an older generation or of a build that died."""
    left = {p.name for p in index.iterdir()} - named_files(index) - {"manifest.json", ".lock"}
    assert left <= previous, sorted(left - previous)


def ask(capsys: pytest.CaptureFixture[str], config: Path, question: str = QUESTION) -> dict:
    rc = main(["--config", str(config), "ask", "--json", question])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "Traceback" not in captured.err
    return json.loads(captured.out)


# -- kill -9 -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rebuild_seconds(tmp_path_factory: pytest.TempPathFactory, built_index: Path) -> float:
    """How long `parkqa index --rebuild` takes here, start to exit, so kills land inside it."""
    config = make_folder(tmp_path_factory.mktemp("timed"), built_index)
    started = time.monotonic()
    process = parkqa(config, "index", "--rebuild")
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return time.monotonic() - started


def killed_after(process: subprocess.Popen, delay: float) -> float | None:
    """Kill the process with SIGKILL after delay seconds: None, or the seconds it took when it
    ended first."""
    started = time.monotonic()
    while time.monotonic() - started < delay:
        if process.poll() is not None:
            process.communicate(timeout=30)
            return time.monotonic() - started
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    if process.returncode != -signal.SIGKILL:
        return time.monotonic() - started
    return None


@pytest.mark.parametrize("share", [0.1, 0.3, 0.55, 0.8])
def test_kill_during_rebuild_keeps_the_previous_index(
    capsys: pytest.CaptureFixture[str], config_path: Path, rebuild_seconds: float, share: float
) -> None:
    index = config_path.parent / "index"
    delay = share * rebuild_seconds
    for _ in range(5):  # a busy machine makes rebuilds slower or faster than the timed one
        before = snapshot(index)
        generation = load_index(index).generation
        finished = killed_after(parkqa(config_path, "index", "--rebuild"), delay)
        if finished is None:
            break
        # It ended first: kill the next one sooner, earlier still each time (rebuilds of the
        # same index vary by a fifth from one to the next).
        delay = 0.8 * min(delay, share * finished)
    assert finished is None, f"every build ended before its kill (last at {delay:.1f} s)"

    loaded = assert_index_whole(index)
    assert loaded.generation in (generation, generation + 1)
    if loaded.generation == generation:
        files = loaded.manifest.files() | {"manifest.json"}
        assert {name: before[name] for name in files} == {
            name: snapshot(index)[name] for name in files
        }
    assert ANSWER in ask(capsys, config_path)["answer"]
    process = parkqa(config_path, "ask", "--json", QUESTION)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert ANSWER in json.loads(out)["answer"]


class Killed(BaseException):
    """Stands in for the process dying: nothing after it runs, not even except-blocks for OSError."""


@pytest.mark.parametrize("step", range(4))
def test_crash_at_each_write_step_keeps_the_previous_index(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    config_path: Path,
    step: int,
) -> None:
    """Deterministic companion of the kill test: an update dies just before each file of the
    new generation is written (the new segment's passages and arrays, the manifest) or committed."""
    index = config_path.parent / "index"
    before = snapshot(index)
    (config_path.parent / "knowledge" / "notice-new.txt").write_text(
        "第81号公告：永川区新增一家数据标注企业，投资五亿元。\n", encoding="utf-8"
    )
    calls = {"n": 0}

    def dying(real):
        def wrapper(*args, **kwargs):
            if calls["n"] == step:
                raise Killed
            calls["n"] += 1
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(store, "_write", dying(store._write))
    monkeypatch.setattr(store.np, "savez", dying(store.np.savez))
    monkeypatch.setattr(store.os, "replace", dying(os.replace))
    with pytest.raises(Killed):
        main(["--config", str(config_path), "index"])
    monkeypatch.undo()
    capsys.readouterr()
    assert {k: v for k, v in snapshot(index).items() if k in before} == before
    assert_index_whole(index)
    assert ANSWER in ask(capsys, config_path)["answer"]
    previous = named_files(index)
    rc = main(["--config", str(config_path), "index"])
    assert rc == 0, capsys.readouterr().err
    assert "knowledge/notice-new.txt" in assert_index_whole(index).manifest.documents
    assert_only_two_generations_left(index, previous)


# -- a write step fails -----------------------------------------------------------------------------

# Every step of writing generation 4 beside generations 2 and 3, in order: its new segment,
# the rows it deletes from the first segment, its manifest, the commit, and the removal of
# the files only generation 2 read. A fault up to and including the manifest's replace leaves
# generation 3 committed; after it, generation 4 is.
WRITE_STEPS = (
    "write seg000004-0000.passages",
    "write seg000004-0000.arrays",
    "write seg000001-0000.deleted000004.npy",
    "write manifest.json.4.tmp",
    "replace manifest.json",
    "sync the index folder",
    "remove seg000002-0000.arrays",
    "remove seg000002-0000.passages",
)
COMMIT_STEP = WRITE_STEPS.index("replace manifest.json")


class FaultInjector:
    """Records the steps of an index write and fails the one numbered `fail_at` with an I/O error:
    a file write after its data reached the file, a rename, sync or removal before it happens."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail_at: int | None = None) -> None:
        self.steps: list[str] = []
        self.fail_at = fail_at
        real_write, real_savez, real_replace = store._write, store.np.savez, os.replace
        real_sync, real_unlink = store._fsync_dir, Path.unlink

        def write(path, data, written):
            real_write(path, data, written)
            self.step(f"write {path.name}")

        def savez(handle, **arrays):
            real_savez(handle, **arrays)
            self.step(f"save {Path(handle.name).name}")

        def replace(source, target):
            self.step(f"replace {Path(target).name}")
            real_replace(source, target)

        def sync(directory):
            self.step("sync the index folder")
            real_sync(directory)

        def unlink(path, missing_ok=False):
            self.step(f"remove {path.name}")
            real_unlink(path, missing_ok=missing_ok)

        monkeypatch.setattr(store, "_write", write)
        monkeypatch.setattr(store.np, "savez", savez)
        monkeypatch.setattr(store.os, "replace", replace)
        monkeypatch.setattr(store, "_fsync_dir", sync)
        monkeypatch.setattr(Path, "unlink", unlink)

    def step(self, name: str) -> None:
        self.steps.append(name)
        if len(self.steps) - 1 == self.fail_at:
            raise OSError(errno.EIO, f"injected fault at step {self.fail_at} ({name})")


def revise(path: Path, n: int) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"第{n}次修订。\n", encoding="utf-8")


def two_generations(capsys: pytest.CaptureFixture[str], config: Path) -> dict[str, str]:
    """Commit generations 2 and 3, each revising one notice (so generation 3 drops the segment
    generation 2 wrote), stage generation 4 (that notice again, another notice from the first
    segment, a new notice), and snapshot."""
    knowledge = config.parent / "knowledge"
    for generation in (2, 3):
        revise(knowledge / "notice-000.txt", generation)
        assert main(["--config", str(config), "index"]) == 0, capsys.readouterr().err
        assert load_index(config.parent / "index").generation == generation
    revise(knowledge / "notice-000.txt", 4)
    revise(knowledge / "notice-001.txt", 4)
    (knowledge / "notice-newer.txt").write_text(
        "第82号公告：永川区新增一家算力调度企业，投资八亿元。\n", encoding="utf-8"
    )
    capsys.readouterr()
    return snapshot(config.parent / "index")


def test_fault_injection_covers_every_write_step(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, config_path: Path
) -> None:
    """The steps the fault test fails one by one are all the steps a write takes."""
    two_generations(capsys, config_path)
    injector = FaultInjector(monkeypatch)
    assert main(["--config", str(config_path), "index"]) == 0
    monkeypatch.undo()
    done = len(WRITE_STEPS) - 2  # removals come in no fixed order
    assert injector.steps[:done] == list(WRITE_STEPS[:done])
    assert sorted(injector.steps[done:]) == list(WRITE_STEPS[done:])
    print(f"{len(WRITE_STEPS)} fault-injection steps, commit at step {COMMIT_STEP}")


@pytest.mark.parametrize("step", range(len(WRITE_STEPS)), ids=lambda step: WRITE_STEPS[step])
def test_fault_at_each_write_step_leaves_a_loadable_index(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    config_path: Path,
    step: int,
) -> None:
    """An I/O error at any step of a write leaves a committed index that loads and answers: the
    previous one if the error came before the commit, else the new one, never a deleted one."""
    index = config_path.parent / "index"
    before = two_generations(capsys, config_path)
    injector = FaultInjector(monkeypatch, fail_at=step)
    rc = main(["--config", str(config_path), "index"])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert len(injector.steps) > step, injector.steps
    assert "Traceback" not in err, err

    loaded = assert_index_whole(index)
    if step <= COMMIT_STEP:
        assert rc == 1, err
        assert err.startswith("parkqa: error: cannot write the index"), err
        assert "the previous index is unchanged" in err and len(err.splitlines()) == 1, err
        assert snapshot(index) == before
        assert loaded.generation == 3
    else:
        assert rc == 0, err
        assert "the previous index is unchanged" not in err, err
        assert loaded.generation == 4
        assert "knowledge/notice-newer.txt" in loaded.manifest.documents
        assert named_files(index) <= set(snapshot(index)), sorted(snapshot(index))
        assert "injected fault" in caplog.text
    assert ANSWER in ask(capsys, config_path)["answer"]

    (config_path.parent / "knowledge" / "notice-newer.txt").unlink()
    previous = named_files(index)
    assert main(["--config", str(config_path), "index"]) == 0, capsys.readouterr().err
    assert "knowledge/notice-newer.txt" not in assert_index_whole(index).manifest.documents
    assert_only_two_generations_left(index, previous)


# -- full disk ---------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB file system: tmpfs, else a loop-mounted ext4 image; skipped if neither mounts."""
    mount = tmp_path / "disk"
    mount.mkdir()
    attempts = [["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)]]
    image = tmp_path / "disk.img"
    loop = [
        ["truncate", "-s", "8M", str(image)],
        ["mkfs.ext4", "-q", "-F", str(image)],
        ["mount", "-o", "loop", str(image), str(mount)],
    ]
    reasons = []
    mounted = False
    for commands in (attempts, loop):
        for command in commands:
            if not shutil.which(command[0]):
                reasons.append(f"{command[0]} not found")
                break
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                reasons.append(f"{' '.join(command[:3])}: {result.stderr.strip()[:100]}")
                break
        else:
            mounted = True
            break
    if not mounted:
        pytest.skip("cannot mount a small file system here: " + "; ".join(reasons))
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(mount: Path, leave: int) -> Path:
    """Fill the file system until `leave` bytes are free."""
    stats = os.statvfs(mount)
    free = stats.f_bavail * stats.f_frsize
    filler = mount / "filler"
    with open(filler, "wb") as handle:
        handle.write(b"\0" * max(0, free - leave))
    return filler


def test_full_disk_keeps_the_previous_index(
    capsys: pytest.CaptureFixture[str], small_disk: Path, tmp_path: Path
) -> None:
    config = make_folder(tmp_path / "kb", notices=False)
    config.write_text(
        f"knowledge_dir: knowledge\nindex_dir: {small_disk / 'index'}\n", encoding="utf-8"
    )
    assert main(["--config", str(config), "index"]) == 0
    index = small_disk / "index"
    before = snapshot(index)
    filler = fill(small_disk, leave=8 * 1024)
    capsys.readouterr()

    rc = main(["--config", str(config), "index", "--rebuild"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err, err
    assert err.startswith("parkqa: error: disk full while writing the index"), err
    assert "free some space" in err and "the previous index is unchanged" in err
    assert len(err.splitlines()) == 1
    assert snapshot(index) == before
    assert ANSWER in ask(capsys, config)["answer"]

    filler.unlink()
    assert main(["--config", str(config), "index", "--rebuild"]) == 0
    assert load_index(index).generation == 2


def test_full_disk_before_the_first_index(
    capsys: pytest.CaptureFixture[str], small_disk: Path, tmp_path: Path
) -> None:
    config = make_folder(tmp_path / "kb", notices=False)
    config.write_text(
        f"knowledge_dir: knowledge\nindex_dir: {small_disk / 'index'}\n", encoding="utf-8"
    )
    fill(small_disk, leave=0)
    rc = main(["--config", str(config), "index"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err, err
    assert err.startswith("parkqa: error: disk full while writing the index"), err
    assert not (small_disk / "index" / "manifest.json").exists()


# -- two builds at once ------------------------------------------------------------------------------


def started_building(process: subprocess.Popen, index: Path) -> None:
    """Wait until the process holds the index lock (it writes its pid into the lock file)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        lock = index / ".lock"
        if lock.exists() and lock.read_text().strip() == str(process.pid):
            return
        time.sleep(0.02)
    raise AssertionError("the first parkqa index never took the lock")


def test_second_index_refuses_while_one_runs(config_path: Path) -> None:
    index = config_path.parent / "index"
    generation = load_index(index).generation
    write_notices(config_path.parent / "knowledge", count=120)  # a build of several seconds
    first = parkqa(config_path, "index", "--rebuild")
    started_building(first, index)
    second = parkqa(config_path, "index", "--rebuild")
    results = [(p.communicate(timeout=300), p.returncode) for p in (first, second)]
    codes = sorted(code for _, code in results)
    assert codes == [0, 1], results
    (_, err), _ = next(r for r in results if r[1] == 1)
    assert "Traceback" not in err
    assert err.startswith("parkqa: error: another parkqa is updating the index"), err
    assert "wait for it to finish, then run again" in err
    assert len(err.splitlines()) == 1
    loaded = assert_index_whole(index)
    assert loaded.generation == generation + 1


def test_second_index_waits_with_wait(config_path: Path) -> None:
    index = config_path.parent / "index"
    generation = load_index(index).generation
    (config_path.parent / "knowledge" / "notice-extra.txt").write_text(
        "第81号公告：永川区新增一家数据标注企业，投资五亿元。\n", encoding="utf-8"
    )
    first = parkqa(config_path, "index", "--rebuild")
    started_building(first, index)
    second = parkqa(config_path, "index", "--wait", "120")
    results = [(p.communicate(timeout=180), p.returncode) for p in (first, second)]
    assert [code for _, code in results] == [0, 0], results
    assert all("Traceback" not in err for (_, err), _ in results)
    loaded = assert_index_whole(index)
    assert loaded.generation in (generation + 1, generation + 2)
    assert "knowledge/notice-extra.txt" in loaded.manifest.documents


# -- answers during a rebuild ------------------------------------------------------------------------


def test_answers_stay_valid_while_the_index_is_rebuilt(
    config_path: Path, shared: dict[str, object]
) -> None:
    config = load_config(config_path)
    kb = KnowledgeBase(config, shared[config.embedding.model])
    passages = {p.id: p for p in load_index(config.index_dir).passages}
    line_counts = {
        f"knowledge/{path.name}": len(path.read_text(encoding="utf-8").splitlines())
        for path in config.knowledge_dir.glob("*.txt")
    }
    answers, failures, generations = [], [], set()
    done = threading.Event()

    def rebuild() -> None:
        try:
            for _ in range(2):
                kb.update(rebuild=True)
        except BaseException as exc:  # reported below
            failures.append(f"update: {exc!r}")
        finally:
            done.set()

    def keep_asking() -> None:
        n = 0
        while not done.is_set():
            try:
                answers.append(kb.ask(QUESTIONS[n % len(QUESTIONS)]))
                generations.add(kb.index().generation)
            except BaseException as exc:  # reported below
                failures.append(f"ask: {exc!r}")
            n += 1

    threads = [threading.Thread(target=rebuild), threading.Thread(target=keep_asking)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures[:5]
    assert len(answers) >= 10 and len(generations) >= 2, (len(answers), generations)
    for answer in answers:
        assert answer.citations or answer.abstained
        for citation in [*answer.citations, *answer.related]:
            passage = passages[citation.passage_id]
            assert citation.text == passage.text
            assert citation.doc == passage.doc
            assert tuple(citation.lines) == (passage.line_start, passage.line_end)
            assert 1 <= citation.lines[0] <= citation.lines[1] <= line_counts[citation.doc]
    assert_index_whole(config.index_dir)
