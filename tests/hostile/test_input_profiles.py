"""Class 5, profiles that cannot hurt: a hostile profile is one ``file:line: field: problem``
line and exit 2, within seconds and a bounded amount of memory, never a traceback or a run.

The bombs run as a real ``python -m loadgen validate`` in a child process whose address space
is capped (RLIMIT_AS, 1 GiB) and whose time is bounded: a loader that expanded them would die
of MemoryError (a traceback) or be killed (-9) instead of passing. The value table runs the
CLI in-process: those values cost nothing to read, the point is what is said about them.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from input_support import cap_memory, loadgen

from loadgen.cli.commands import main

VALID = {
    "name": "hostile",
    "target": {"base_url": "builtin", "timeout": "20s"},
    "users": [
        {
            "name": "regular",
            "weight": 1,
            "think_time": {"constant": "1s"},
            "tasks": [{"weight": 1, "chat": {"category": "simple"}}],
        }
    ],
    "load": {"users": 2, "duration": "2s", "graceful_stop": "1s"},
}
TAIL = "target: {base_url: builtin}\nusers: [{tasks: [{chat: {category: simple}}]}]\n"


def billion_laughs() -> str:
    """Nine levels of nine aliases: 9**9 (387 million) values from 342 bytes."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def merge_bomb() -> str:
    """Merge keys that double a mapping twenty times over (a million keys)."""
    lines = ["k0: &k0 {a: 1, b: 2}"]
    for i in range(1, 21):
        lines.append(f"k{i}: &k{i} {{x{i}: [*k{i - 1}, *k{i - 1}], <<: *k{i - 1}}}")
    return "\n".join(lines) + "\n"


# (id, profile text or a builder, the line the problem names (None: the file), words it says)
BOMBS = [
    ("billion laughs (342 bytes)", billion_laughs(), 5, "aliases (*name) expand"),
    ("aliases doubled by merge keys", merge_bomb(), None, "expand"),
    ("5,000 nested flow lists", "name: " + "[" * 5000 + "]" * 5000 + "\n", 1, "nest deeper"),
    ("3,000 nested flow mappings", "name: " + "{a: " * 3000 + "1" + "}" * 3000, 1, "nest deeper"),
    ("200 nested block lists", "".join(" " * i + "-\n" for i in range(200)), 65, "nest deeper"),
    ("a 5,000-digit integer", "seed: " + "9" * 5000 + "\n" + TAIL, 1, "5,000 digits"),
    (
        "!!python/object/apply on a list",
        'name: !!python/object/apply:os.system ["touch PWNED"]\n' + TAIL,
        1,
        "tag !!python/object/apply:os.system is not supported",
    ),
    ("!!python/name", "name: !!python/name:os.system\n" + TAIL, 1, "!!python/name:os.system"),
    ("a local tag", "name: !env HOME\n" + TAIL, 1, "tag !env is not supported"),
    ("!!set", "name: t\nusers: !!set {a, b}\n", 2, "tag !!set is not supported"),
    ("a merge of a number", "name: t\n<<: 5\n" + TAIL, 2, "'<<' merges mappings only"),
    ("a merge of a list of numbers", "a: &a 1\n<<: [*a, 2]\n" + TAIL, 2, "merges mappings"),
    ("a list as a key", "? [a, b]\n: 1\n" + TAIL, 1, "a key must be a plain value"),
    ("a mapping as a key", "? {a: 1}\n: 1\n" + TAIL, 1, "a key must be a plain value"),
    ("an alias inside its own anchor", "name: &x [*x]\n" + TAIL, 1, "refers to the mapping"),
]


@pytest.mark.parametrize(
    ("text", "line", "says"), [b[1:] for b in BOMBS], ids=[b[0] for b in BOMBS]
)
def test_a_hostile_profile_is_one_line_exit_2_in_bounded_time_and_memory(
    tmp_path, text, line, says
):
    """Each bomb: exit 2 within 15 s under a 1 GiB address-space cap, peak RSS under 300 MiB,
    the problem on its line (where it has one), no traceback, no file written by a tag."""
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    done = loadgen("validate", "p.yaml", cwd=tmp_path, timeout=30)
    assert done.code == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert done.seconds < 15
    assert 0 < done.peak_rss_mib < 300  # 0: the child was never seen, nothing measured
    first = done.errors[0]
    assert first.startswith("error: p.yaml:" + (f"{line}:" if line else "")), first
    assert says in first
    assert len(first) < 300  # one readable line, never the 5,000 digits or the whole path
    assert not (tmp_path / "PWNED").exists()


def test_a_50_mb_profile_is_refused_before_it_is_read(tmp_path):
    """50 MB of valid YAML: refused on its size in well under the minutes parsing would take,
    with the fix (keep data in a data file)."""
    with (tmp_path / "p.yaml").open("w", encoding="utf-8") as f:
        f.write("name: big\n")
        line = f"k: {'x' * 1000}\n"
        for _ in range(50_000):
            f.write(line)
    assert (tmp_path / "p.yaml").stat().st_size > 50_000_000
    done = loadgen("validate", "p.yaml", cwd=tmp_path, timeout=30)
    assert done.code == 2
    assert done.seconds < 10
    assert 0 < done.peak_rss_mib < 200
    assert done.errors == [
        "error: p.yaml: the file is larger than 1,024 KiB — a profile is a page of YAML: keep "
        "large data in a data file (data.questions, data.rows)"
    ]


def test_an_endless_file_is_read_only_up_to_the_limit(tmp_path):
    """/dev/zero as the profile: the read stops at the size limit (it would never end)."""
    done = loadgen("validate", "/dev/zero", cwd=tmp_path, timeout=30)
    assert done.code == 2
    assert done.seconds < 10
    assert done.errors[0].startswith("error: /dev/zero: the file is larger than")


def test_a_5000_digit_variable_stays_text_and_is_refused_where_a_number_is_needed(tmp_path):
    """`users: ${USERS}` with USERS of 5,000 digits: Python's int-from-string limit is not a
    traceback; the value is kept as text and refused as a number of users."""
    text = json.dumps(VALID).replace('"users": 2', '"users": "${USERS}"')
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    done = loadgen("validate", "p.yaml", cwd=tmp_path, env={"USERS": "9" * 5000})
    assert done.code == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.errors[0].startswith("error: p.yaml:1: load.users: expected int, got a string")
    assert len(done.errors[0]) < 300


def _with(path: tuple[str | int, ...], value: str) -> str:
    """VALID as YAML with the value at ``path`` written verbatim (``.nan``, ``0``, ``-1s``)."""
    data = json.loads(json.dumps(VALID))
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = "@@"
    return json.dumps(data, indent=1).replace('"@@"', value)


NUMBERS = [
    # durations
    (("target", "timeout"), ".nan", "nan is not a finite duration"),
    (("target", "timeout"), ".inf", "inf is not a finite duration"),
    (("target", "timeout"), "0", "timeout must be > 0"),
    (("target", "timeout"), '"-1s"', "'-1s' is not a duration"),
    (("target", "timeout"), "1e400", "inf is not a finite duration"),
    (("load", "duration"), ".inf", "inf is not a finite duration"),
    (("load", "duration"), ".nan", "nan is not a finite duration"),
    (("load", "duration"), '"0s"', "the stages add up to no time"),
    (("load", "duration"), '"' + "9" * 400 + 's"', "is not a finite duration"),
    (("load", "duration"), '"400d"', "is not a duration"),
    (("load", "duration"), '"9000h"', "longer than a year"),
    (("load", "graceful_stop"), ".inf", "inf is not a finite duration"),
    (("users", 0, "think_time", "constant"), "-1", "-1 is negative"),
    (("users", 0, "think_time", "constant"), ".nan", "nan is not a finite duration"),
    # rates, levels and weights
    (("load", "users"), "0", "users must be > 0"),
    (("load", "users"), "-3", "users must be ≥ 0"),
    (("load", "users"), "99999999999999999999999", "is too large"),
    (("users", 0, "weight"), ".nan", "nan is not a finite number"),
    (("users", 0, "weight"), ".inf", "inf is not a finite number"),
    (("users", 0, "weight"), "0", "weight must be > 0"),
    (("users", 0, "tasks", 0, "weight"), "-2", "weight must be > 0"),
    (("users", 0, "tasks", 0, "weight"), "1e400", "inf is not a finite number"),
    # sizes
    (("target", "max_response_size"), ".inf", "inf is not a finite size"),
    (("target", "max_line"), ".nan", "nan is not a finite size"),
]


@pytest.mark.parametrize(
    ("path", "value", "says"),
    NUMBERS,
    ids=[f"{'.'.join(map(str, p))}={v[:12]}" for p, v, _ in NUMBERS],
)
def test_nan_inf_negative_or_zero_where_it_makes_no_sense_is_a_file_line_error(
    tmp_path, capsys, path, value, says
):
    """`loadgen validate`: exit 2 and one `file:line: field: problem — fix` naming the field."""
    profile = tmp_path / "p.yaml"
    profile.write_text(_with(path, value), encoding="utf-8")
    assert main(["validate", str(profile)]) == 2
    errors = capsys.readouterr().err.splitlines()
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"error: {profile}:"), errors
    assert f": {field}: " in errors[0] or ": load.stages: " in errors[0], errors
    assert says in errors[0]
    assert " — " in errors[0]  # the fix
    assert len(errors[0]) < 300


def test_stages_that_never_have_a_user_are_refused_not_run(tmp_path, capsys):
    """Every stage at 0 users: a run that could send nothing is an error, not an exit 0."""
    data = json.loads(json.dumps(VALID))
    data["load"] = {"stages": [{"duration": "1s", "users": 0}, {"duration": "1s", "users": 0}]}
    profile = tmp_path / "p.yaml"
    profile.write_text(json.dumps(data), encoding="utf-8")
    assert main(["run", str(profile), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "no stage has any users: the run would send nothing" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_address_space_cap_is_real(tmp_path):
    """The cap the bomb tests rely on bites: a child asking for 2 GiB fails under it."""
    proc = subprocess.run(
        [sys.executable, "-c", "x = bytearray(2 << 30)"],
        preexec_fn=cap_memory,
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert proc.returncode != 0
    assert b"MemoryError" in proc.stderr


def test_a_huge_env_file_beside_the_profile_is_refused_unread(tmp_path):
    """A 20 MB `.env` beside the profile: refused on its size (exit 2, naming the file)."""
    (tmp_path / "p.yaml").write_text(json.dumps(VALID), encoding="utf-8")
    with (tmp_path / ".env").open("w", encoding="utf-8") as f:
        for i in range(200_000):
            f.write(f"K{i}={'v' * 100}\n")
    done = loadgen("validate", "p.yaml", cwd=tmp_path, timeout=30)
    assert done.code == 2
    assert done.seconds < 10
    assert done.errors == [
        "error: .env: the file is larger than 1,024 KiB — a .env file holds a few variables: "
        "remove what is not KEY=VALUE"
    ]
