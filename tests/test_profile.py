"""Profiles: YAML → typed model, and every mistake reported as file:line: field: what — fix."""

from pathlib import Path

import pytest

from loadgen.cli.commands import main
from loadgen.core.errors import ProfileError
from loadgen.core.profile import load_profile, profile_from_dict

GOOD = """\
name: demo
target:
  base_url: ${URL:-builtin}
  timeout: 30s
users:
  - name: regular
    weight: 3
    think_time: {uniform: [1s, 2s]}
    tasks:
      - {weight: 2, chat: {category: simple}}
      - {http: {path: /health}}
  - name: power
    tasks:
      - {chat: {conversation: true}}
load:
  stages:
    - {duration: 10s, users: "${USERS:-4}"}
"""


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_good_profile_becomes_a_typed_model(tmp_path, monkeypatch):
    """Units are normalised, defaults filled, variables typed, names derived."""
    monkeypatch.delenv("URL", raising=False)
    monkeypatch.setenv("USERS", "7")
    p = load_profile(write(tmp_path, GOOD))
    assert p.target.base_url == "builtin"
    assert p.target.timeout == 30.0
    assert p.load.stages[0].target == 7  # ${USERS} typed as an int
    assert p.users[0].think_time.low == 1.0
    assert [t.name for t in p.users[0].tasks] == ["chat.simple", "GET /health"]
    assert p.users[1].tasks[0].name == "chat.multi_turn"


def test_dotenv_beside_the_profile_fills_variables_and_env_wins(tmp_path, monkeypatch):
    """A .env next to the profile supplies ${VAR}; the real environment overrides it."""
    write(tmp_path, "URL=http://127.0.0.1:9\nUSERS=3\n", ".env")
    monkeypatch.delenv("URL", raising=False)
    monkeypatch.setenv("USERS", "5")
    p = load_profile(write(tmp_path, GOOD))
    assert p.target.base_url == "http://127.0.0.1:9"
    assert p.load.stages[0].target == 5


def test_set_overrides_apply_before_validation(tmp_path):
    """--set key.path=value changes the data and is validated like the file."""
    p = load_profile(write(tmp_path, GOOD), sets=["target.timeout=5s", "users.0.weight=9"])
    assert p.target.timeout == 5.0
    assert p.users[0].weight == 9
    with pytest.raises(ProfileError, match="weight must be > 0"):
        load_profile(write(tmp_path, GOOD), sets=["users.0.weight=0"])


@pytest.mark.parametrize("raw", ["!ENV X", "!!python/object:os.system x", "!!int x", "[1"])
def test_a_set_value_that_is_not_yaml_is_one_problem_naming_the_key(tmp_path, raw):
    """--set with a tag or broken YAML is a ProfileError naming --set and the key (exit 2),
    not a ConstructorError."""
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, GOOD), sets=[f"name={raw}"])
    (problem,) = info.value.problems
    assert (problem.file, problem.field) == ("--set", "name")
    assert "is not a YAML value" in problem.what


def test_a_set_value_of_equals_or_nothing_is_text(tmp_path):
    """'=' (YAML 1.1's value type) and an empty value are kept as text."""
    assert load_profile(write(tmp_path, GOOD), sets=["name=="]).name == "="
    assert load_profile(write(tmp_path, GOOD), sets=["users.0.name="]).users[0].name == ""


BAD = [
    (
        "unknown key with a suggestion",
        GOOD.replace("    weight: 3", "    wieght: 3"),
        7,
        "users[0].wieght",
        "did you mean 'weight'",
    ),
    (
        "wrong type",
        GOOD.replace("weight: 3", "weight: lots"),
        7,
        "users[0].weight",
        "expected float",
    ),
    (
        "bad duration",
        GOOD.replace("timeout: 30s", "timeout: 30 secs"),
        4,
        "target.timeout",
        "500ms, 30s",
    ),
    ("weight of zero", GOOD.replace("weight: 3", "weight: 0"), 7, "users[0].weight", "must be > 0"),
    (
        "negative task weight",
        GOOD.replace("{weight: 2, chat", "{weight: -1, chat"),
        10,
        "users[0].tasks[0].weight",
        "must be > 0",
    ),
    ("YAML syntax", GOOD.replace("  timeout: 30s", "  timeout: [30s"), 5, "", "YAML syntax error"),
    (
        "unknown question pool",
        GOOD.replace("category: simple", "category: simpel"),
        10,
        "users[0].tasks[0].chat.category",
        "use one of",
    ),
    (
        "missing data file",
        GOOD.replace("load:", "data: {questions: nope.yaml}\nload:"),
        15,
        "data.questions",
        "'nope.yaml' not found: looked for",
    ),
    (
        "unset variable",
        GOOD.replace("${URL:-builtin}", "${NO_SUCH_VAR_X}"),
        3,
        "target.base_url",
        "export NO_SUCH_VAR_X",
    ),
    (
        "a task with two kinds",
        GOOD.replace("{http: {path: /health}}", "{http: {path: /health}, chat: {}}"),
        11,
        "users[0].tasks[1]",
        "exactly one of",
    ),
    (
        "stage without users",
        GOOD.replace('{duration: 10s, users: "${USERS:-4}"}', "{duration: 10s}"),
        17,
        "load.stages[0]",
        "needs duration and users",
    ),
]


@pytest.mark.parametrize(("case", "text", "line", "field", "words"), BAD, ids=[b[0] for b in BAD])
def test_each_mistake_names_file_line_and_field_and_exits_2(
    tmp_path, capsys, case, text, line, field, words
):
    """`loadgen validate` prints file:line: field: problem — fix; exit 2, no traceback."""
    path = write(tmp_path, text)
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{path}:{line}:" in err
    if field:
        assert f" {field}:" in err
    assert words in err
    assert "Traceback" not in err


def test_every_problem_is_reported_not_just_the_first(tmp_path):
    """Validation collects all mistakes in one go."""
    text = GOOD.replace("weight: 3", "weight: 0").replace("timeout: 30s", "timeout: soon")
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, text))
    fields = {p.field for p in info.value.problems}
    assert {"users[0].weight", "target.timeout"} <= fields


def test_a_missing_profile_file_is_a_clear_error(tmp_path, capsys):
    """A wrong path exits 2 and names the file."""
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: file not found" in capsys.readouterr().err


@pytest.mark.parametrize("key", ["questions", "rows"])
def test_a_missing_data_file_names_the_path_looked_for_relative_to_the_profile(
    tmp_path, monkeypatch, key
):
    """Data paths resolve against the profile's folder, whatever the current directory; the
    problem names the resolved path, so a user sees where loadgen looked."""
    folder = tmp_path / "profiles"
    folder.mkdir()
    profile = write(folder, GOOD.replace("load:", f"data: {{{key}: data/nope.txt}}\nload:"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProfileError) as info:
        load_profile(Path("profiles") / profile.name)
    (problem,) = [p for p in info.value.problems if p.field == f"data.{key}"]
    assert str(folder / "data" / "nope.txt") in problem.what
    assert "relative to the profile's folder" in problem.fix


def test_profiles_can_be_built_from_python_data():
    """Embedders pass a dict; the same validation applies."""
    p = profile_from_dict(
        {
            "target": {"base_url": "http://127.0.0.1:1"},
            "users": [{"tasks": [{"chat": {"prompt": "hi"}}]}],
            "load": {"users": 2, "duration": "1s"},
        }
    )
    assert p.load.start == 2
    assert p.users[0].tasks[0].chat.prompt == "hi"


@pytest.mark.parametrize("name", ["smoke.yaml", "load.yaml"])
def test_shipped_profiles_validate(name, capsys):
    """The profiles in profiles/ are valid as shipped."""
    path = Path(__file__).resolve().parent.parent / "profiles" / name
    assert main(["validate", str(path)]) == 0
    assert "ok" in capsys.readouterr().out


def test_a_bad_duration_is_reported_once_not_again_as_a_zero_length_plan(tmp_path):
    """'5x' is one mistake: no second problem about the plan adding up to no time."""
    text = (
        "target: {base_url: builtin}\nusers: [{tasks: [{chat: {}}]}]\n"
        "load: {users: 2, duration: 5x}\n"
    )
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, text))
    assert [p.field for p in info.value.problems] == ["load.duration"]


@pytest.mark.parametrize("size", [[1], {"kb": 4}])
def test_an_upload_size_that_is_a_list_or_mapping_is_a_profile_error(size):
    """It raised TypeError (unhashable) before the size names were looked up."""
    data = {
        "name": "u",
        "target": {"base_url": "http://127.0.0.1:9"},
        "users": [{"name": "c", "tasks": [{"http": {"path": "/x", "upload": {"size": size}}}]}],
        "load": {"users": 1, "duration": "1s"},
    }
    with pytest.raises(ProfileError, match=r"upload\.size: .* is not a size — write 4KB"):
        profile_from_dict(data)
