"""Story -> storyboard. The ``draft`` back end: sentences grouped into shots (offline)."""

from __future__ import annotations

import functools
import importlib.util
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from inference.errors import EngineError
from inference.models import Runtime
from inference.sentences import Sentence, asking
from inference.styles import (
    CAMERA_ANGLES,
    CAMERA_MOVES,
    SHOT_SIZES,
    TRANSITIONS,
    planned_framing,
    shot_language,
)
from inference.text import clean_text, has_cjk, split_sentences
from inference.types import CharacterPlan, Progress, Resume, ShotPlan, Storyboard, no_progress
from inference.usage import record

_MOVES = [move for move in CAMERA_MOVES if move != "static"]


def group_balanced(sentences: list[str], count: int) -> list[list[str]]:
    """Split sentences, in order, into ``count`` contiguous groups of similar text length."""
    count = max(1, min(count, len(sentences)))
    total = sum(len(s) for s in sentences) or 1
    groups: list[list[str]] = []
    current: list[str] = []
    seen = 0
    for index, sentence in enumerate(sentences):
        closed = len(groups)
        if current and closed + 1 < count:
            share_reached = seen + len(sentence) / 2 >= (closed + 1) * total / count
            # every group still to come needs at least one of the sentences left
            must_close = len(sentences) - index <= count - closed - 1
            if share_reached or must_close:
                groups.append(current)
                current = []
        current.append(sentence)
        seen += len(sentence)
    groups.append(current)
    return groups


def draft_storyboard(story: str, *, shot_count: int, title: str = "", progress: Progress = no_progress) -> Storyboard:
    """Every sentence of the story, in order, grouped into about ``shot_count`` shots."""
    sentences = split_sentences(story)
    if not sentences:
        raise EngineError("The story has no text to split into shots.", permanent=True)
    shots = []
    for index, group in enumerate(group_balanced(sentences, shot_count)):
        size, angle = planned_framing(index)
        narration = " ".join(group) if not _is_cjk_text(group) else "".join(group)
        shots.append(
            ShotPlan(
                prompt=narration[:500],
                narration=narration,
                camera=_MOVES[index % len(_MOVES)],
                transition="dissolve",
                shot_size=size,
                camera_angle=angle,
            )
        )
        progress((index + 1) / shot_count, Sentence("shot_drafted", "Shot %(n)s", n=index + 1))
    if shots:
        shots[-1].transition = "fade"
    notes = [NOT_ENGLISH] if any(has_cjk(shot.prompt) for shot in shots) else []
    return Storyboard(title=title, characters=[], shots=shots, backend="draft", notes=notes)


# The image models read English; the draft cannot translate, so it says so instead.
NOT_ENGLISH = (
    "the draft storyboard cannot translate: each picture prompt is the shot's own Chinese text, which the "
    "image model reads poorly; write the prompts in English, or set STORYBOARD_MODEL to a language model"
)


def _is_cjk_text(sentences: list[str]) -> bool:
    from inference.text import detect_language

    return detect_language("".join(sentences)) == "zh"


# --- language-model storyboards -----------------------------------------------------------
MAX_CHARACTERS = 10
MAX_SHOTS = 60


def build_messages(story: str, *, language: str, shot_count: int, style: str) -> list[dict[str, str]]:
    """The chat prompt, in the story's language: the story's sentences numbered, each shot
    answering which of them it covers (``"sentences": [first, last]``) rather than copying them,
    with a picture prompt in English; about ``shot_count`` shots, JSON only. The narration is
    then the story's own text, every sentence covered by construction, and the answer costs a
    few tokens per shot instead of the whole story again."""
    numbered = "\n".join(f"[{i}] {sentence}" for i, sentence in enumerate(split_sentences(story), 1))
    schema = (
        '{"title": str, "characters": [{"name": str, "description": str}], '
        '"shots": [{"prompt": str, "sentences": [first, last], "camera": one of '
        f"{list(CAMERA_MOVES)}, " + '"transition": one of ["cut", "fade", "dissolve", "wipe_left", "wipe_right", '
        f'"slide_left", "slide_right"], "shotSize": one of {list(SHOT_SIZES)}, "cameraAngle": one of '
        f'{list(CAMERA_ANGLES)}, "characters": [names], "speaker": name or ""}}]}}'
    )
    if language == "zh":
        system = "你是分镜师。只输出一个 JSON 对象，不要输出其他文字。"
        user = (
            f"把下面编了号的故事句子分成大约 {shot_count} 个镜头，风格：{style}。每个镜头的 prompt 用英文描述画面；"
            f"sentences 写这个镜头讲的第一句和最后一句的编号，镜头按顺序接续，合起来覆盖从第 1 句到最后一句的每一句。"
            f"characters 给出主要角色的外貌描述（英文）。"
            f"镜头讲的是某个角色说的话（引号里的话）时，speaker 写这个角色的名字，否则写空字符串。"
            f"shotSize 是景别（特写 close_up、近景 medium_close_up、中景 medium、全景 full、远景 wide），"
            f"cameraAngle 是拍摄角度，像导演一样让镜头之间有变化。"
            f"JSON 格式：{schema}\n\n故事：\n{numbered}"
        )
    else:
        system = "You are a storyboard artist. Answer with one JSON object and nothing else."
        user = (
            f"Cut the numbered sentences of the story below into about {shot_count} shots, style: {style}. Each "
            f"shot's prompt describes the picture in English; its sentences are the numbers of the first and the "
            f"last sentence it tells, the shots following one another so that together they cover every sentence "
            f"from the first to the last. Describe each main character's appearance. When a shot tells a "
            f"character's quoted speech, its speaker is that character's name, else an empty string. Vary the "
            f"shot sizes and camera angles from shot to shot as a director would. "
            f"JSON format: {schema}\n\n"
            f"Story:\n{numbered}"
        )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _string_step(char: str, escaped: bool) -> tuple[bool, bool]:
    """Inside a JSON string: (is the next character escaped, is the string still open)."""
    if escaped:
        return False, True
    return char == "\\", char != '"'


def first_json_object(text: str) -> object:
    """The first balanced {...} in the text (models wrap JSON in prose or code fences)."""
    import json

    start = text.find("{")
    while start != -1:
        depth, in_string, escaped = 0, False, False
        for index in range(start, len(text)):
            char = text[index]
            if in_string:
                escaped, in_string = _string_step(char, escaped)
                continue
            if char == '"':
                in_string = True
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    candidate = text[start : index + 1]
                    try:
                        return json.loads(candidate)
                    except ValueError:
                        import re

                        try:  # the commonest slip: trailing commas
                            return json.loads(re.sub(r",\s*([}\]])", r"\1", candidate))
                        except ValueError:
                            break
        else:  # the text ended inside this object: an answer cut off by the token budget
            truncated = _close_truncated(text[start:])
            if truncated is not None:
                return truncated
        start = text.find("{", start + 1)
    raise ValueError("no JSON object in the answer")


def _close_truncated(text: str) -> object | None:
    """An answer cut off by the token budget: keep it up to the last complete element of an
    array, close what is open, and parse that (the shots written so far are kept)."""
    import json

    stack: list[str] = []
    cut: tuple[int, str] | None = None  # (end of the last complete array element, its closers)
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            escaped, in_string = _string_step(char, escaped)
            continue
        if char == '"':
            in_string = True
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]":
            if not stack or stack.pop() != char:
                return None
            if stack and stack[-1] == "]":
                cut = (index + 1, "".join(reversed(stack)))
    if cut is None:
        return None
    try:
        return json.loads(text[: cut[0]] + cut[1])
    except ValueError:
        return None


def capped_text(value: object, limit: int) -> str:
    return clean_text(value, multiline=False)[:limit] if isinstance(value, str) else ""


def covers_story(story: str, narrations: list[str]) -> bool:
    """Every sentence of the story appears in the joined narration, in order."""
    joined = "".join("".join(n.split()) for n in narrations)
    at = 0
    for sentence in split_sentences(story):
        found = joined.find("".join(sentence.split()), at)
        if found < 0:
            return False
        at = found + len("".join(sentence.split()))
    return True


def _words(text: str) -> int:
    """About how many words: Chinese counted two characters to a word."""
    return len(text) // 2 if has_cjk(text) else len(text.split())


def storyboard_problem(shots: Sequence[ShotPlan], *, asked: int) -> str:
    """What makes a parsed storyboard a small model's habit rather than a film, or "": far fewer
    shots than asked (fewer than half the shots the story's sentences allow), every shot with
    the same picture prompt, or picture prompts of a word or two (most of them)."""
    if asked >= 2 and len(shots) * 2 < asked:
        return f"it gave {len(shots)} shot(s) of the {asked} asked"
    if len(shots) >= 2 and len({" ".join(shot.prompt.lower().split()) for shot in shots}) == 1:
        return "every shot has the same picture prompt"
    thin = [shot for shot in shots if _words(shot.prompt) < 3]
    if len(thin) * 2 > len(shots):
        return f"{len(thin)} of its {len(shots)} picture prompts are a word or two"
    return ""


def parse_storyboard(
    answer: str, *, story: str, shot_count: int, backend: str, model: str, cast: Sequence[str] | None = None
) -> Storyboard:
    """Untrusted model output -> a storyboard: parsed against a strict shape, counts and lengths
    capped, unknown values replaced by defaults, and the narration re-cut from the story when it
    does not cover every sentence in order (``story=""``: not checked). Shots may name only the
    characters of the answer, or of ``cast`` where it is given (a rewrite keeps the project's).
    Raises ValueError when nothing usable is there."""
    data = first_json_object(answer)
    if not isinstance(data, dict) or not isinstance(data.get("shots"), list):
        raise ValueError("the answer has no list of shots")
    notes: list[str] = []
    characters: list[CharacterPlan] = []
    seen: set[str] = set(cast or ())
    for item in [] if cast is not None else data.get("characters") or []:
        if not isinstance(item, dict):
            continue
        name = capped_text(item.get("name"), 100)
        if name and name not in seen and len(characters) < MAX_CHARACTERS:
            seen.add(name)
            characters.append(CharacterPlan(name=name, description=capped_text(item.get("description"), 1000)))
    shots: list[ShotPlan] = []
    lasts: list[int | None] = []  # the last sentence each shot tells, where it answered by number
    for item in data["shots"][:MAX_SHOTS]:
        if not isinstance(item, dict):
            continue
        narration = capped_text(item.get("narration"), 2000)
        last = _last_sentence(item.get("sentences"))
        prompt = capped_text(item.get("prompt"), 500) or narration[:500]
        if not prompt:
            continue
        lasts.append(last)
        camera = item.get("camera") if item.get("camera") in CAMERA_MOVES else _MOVES[len(shots) % len(_MOVES)]
        transition = item.get("transition") if item.get("transition") in TRANSITIONS else "dissolve"
        # Not framed by the answer: a storyboard's shot takes its place's in the sequence; a
        # rewrite's keeps its own (blank: kept).
        planned = planned_framing(len(shots)) if cast is None else ("", "")
        size = shot_language(item.get("shotSize"), SHOT_SIZES) or planned[0]
        angle = shot_language(item.get("cameraAngle"), CAMERA_ANGLES) or planned[1]
        names = [n for n in item.get("characters") or [] if isinstance(n, str) and n in seen]
        speaker = capped_text(item.get("speaker"), 100)
        shots.append(
            ShotPlan(
                prompt=prompt,
                narration=narration,
                camera=str(camera),
                transition=str(transition),
                characters=names,
                shot_size=size,
                camera_angle=angle,
                speaker=speaker if speaker in seen else "",  # a name the cast does not hold: the narrator
                ref=capped_text(item.get("id"), 40),
            )
        )
    if not shots:
        raise ValueError("the answer has no usable shot")
    if len(data["shots"]) > MAX_SHOTS:
        notes.append(f"kept the first {MAX_SHOTS} shots")
    if story and any(last is not None for last in lasts):
        shots = _narrate_by_number(story, shots, lasts, notes)
    if not covers_story(story, [s.narration for s in shots]):
        groups = group_balanced(split_sentences(story), len(shots))
        joiner = "" if _is_cjk_text(split_sentences(story)) else " "
        shots = shots[: len(groups)]
        for shot, group in zip(shots, groups, strict=True):
            shot.narration = joiner.join(group)
        notes.append("the narration was re-cut from the story so that it covers every sentence in order")
    return Storyboard(
        title=capped_text(data.get("title"), 200),
        characters=characters,
        shots=shots,
        backend=backend,
        model=model,
        notes=notes,
    )


def openai_chat(
    messages: list[dict[str, str]], *, base_url: str, model: str, api_key: str = "", timeout: float = 120.0
) -> str:
    """One answer of an OpenAI-compatible chat server (Ollama, vLLM, llama.cpp …), asked for
    JSON. A server that cannot be reached, or answers 5xx or 429, is a transient error (the task
    retries); one that refuses the request is permanent; a reply that is not a chat completion
    is a ValueError (an unusable answer)."""
    import json
    import urllib.error
    import urllib.request

    if not base_url.startswith(("http://", "https://")):
        raise EngineError(
            f"The model server URL must start with http:// or https://, not {base_url!r}.", permanent=True
        )
    body = json.dumps(
        {"model": model, "messages": messages, "temperature": 0.3, "response_format": {"type": "json_object"}}
    ).encode()
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {api_key}"} if api_key else {})}
    request = urllib.request.Request(f"{base_url.rstrip('/')}/chat/completions", data=body, headers=headers)  # noqa: S310 - http(s) checked above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - a configured URL
            reply = json.loads(response.read())
        counted = reply.get("usage") if isinstance(reply.get("usage"), dict) else {}
        record(
            device="remote",
            tokensIn=_count(counted.get("prompt_tokens")),
            tokensOut=_count(counted.get("completion_tokens")),
        )
        return str(reply["choices"][0]["message"]["content"])
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500 and exc.code != 429:
            raise EngineError(
                f"The model server refused the request ({exc.code}): check the model name {model!r} and the API key.",
                permanent=True,
            ) from None
        raise EngineError(f"The model server answered {exc.code}; trying again later.", permanent=False) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise EngineError(f"The model server at {base_url} cannot be reached: {exc}.", permanent=False) from None
    except (ValueError, KeyError, IndexError, TypeError):
        raise ValueError("the server's reply was not a chat completion") from None


def _count(value: object) -> int:
    """A token count from a server's reply, 0 when it gives none or nonsense."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def openai_storyboard(
    story: str,
    *,
    base_url: str,
    model: str,
    shot_count: int,
    language: str,
    style: str,
    api_key: str = "",
    timeout: float = 120.0,
    attempts: int = 2,
    progress: Progress = no_progress,
) -> Storyboard:
    """A storyboard from any OpenAI-compatible chat server. Two unusable answers fall back to
    the draft splitter, and the notes say so."""
    messages = build_messages(story, language=language, shot_count=shot_count, style=style)

    def ask(attempt: int) -> str:
        progress((attempt - 1) / attempts, asking(model, attempt))
        return openai_chat(messages, base_url=base_url, model=model, api_key=api_key, timeout=timeout)

    return _attempts(
        ask, story=story, shot_count=shot_count, backend="openai", model=model, attempts=attempts, progress=progress
    )


def _attempts(
    ask: Callable[[int], str],
    *,
    story: str,
    shot_count: int,
    backend: str,
    model: str,
    attempts: int,
    progress: Progress,
) -> Storyboard:
    """Ask up to ``attempts`` times for a usable answer (one that parses, and is not a small
    model's habit: ``storyboard_problem``); then the draft splitter, saying why."""
    problems = []
    for attempt in range(1, attempts + 1):
        try:
            answer = ask(attempt)
            board = parse_storyboard(answer, story=story, shot_count=shot_count, backend=backend, model=model)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        degenerate = storyboard_problem(board.shots, asked=min(shot_count, len(split_sentences(story))))
        if not degenerate:
            return board
        problems.append(degenerate)
    board = draft_storyboard(story, shot_count=shot_count, progress=progress)
    board.notes.append(
        f"{model} gave no usable storyboard in {attempts} attempts ({'; '.join(problems)}); "
        "the draft splitter made this one"
    )
    return board


_GGUF_LOAD = threading.Lock()


@contextmanager
def gguf_read_once() -> Iterator[None]:
    """transformers reads a GGUF file's metadata three times to load one model (for its config,
    its tokenizer and its weights), each time parsing every entry of the vocabulary one by one,
    and builds the same tensor-name map once per submodule (about 400 times): two thirds of the
    load. Inside this block a file is parsed once and a map built once; the ``gguf`` package is
    as it was after."""
    import gguf

    with _GGUF_LOAD:
        reader, name_map = gguf.GGUFReader, gguf.get_tensor_name_map
        gguf.GGUFReader = functools.cache(reader)  # type: ignore[misc,assignment]
        gguf.get_tensor_name_map = functools.cache(name_map)
        try:
            yield
        finally:
            gguf.GGUFReader, gguf.get_tensor_name_map = reader, name_map  # type: ignore[misc]


def load_chat_model(source: str, *, device: str, dtype: Any) -> tuple[Any, Any]:
    """A chat model and its tokenizer from a folder or model id, or from one GGUF file (as
    llama.cpp ships models; transformers reads it with the ``gguf`` package)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(source)
    if path.suffix == ".gguf":
        with gguf_read_once():
            tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
            model: Any = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=dtype)
    else:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype)
    return tokenizer, model.to(device).eval()


class LocalChat:
    """A local chat model (``from_pretrained``), loaded once per process: greedy on the first
    attempt, sampled (with a fixed seed) after; progress per generated token; the answer kept
    inside a JSON schema while it is written (lm-format-enforcer) where one is given."""

    def __init__(self, model: str, runtime: Runtime) -> None:
        from inference.models import load_model

        loaded = load_model(
            "transformers-lm",
            model,
            runtime,
            lambda source, device, dtype: load_chat_model(source, device=device, dtype=dtype),
        )
        (self.tokenizer, self.lm), self.device, self.source = loaded.model, loaded.device, loaded.source
        # a static cache, which transformers compiles the forward pass for on CUDA
        self.cache = {"cache_implementation": "static"} if runtime.compile else {}

    def tokens(self, text: str) -> int:
        return len(self.tokenizer(text)["input_ids"])

    def ask(
        self,
        messages: list[dict[str, str]],
        *,
        attempt: int,
        attempts: int,
        budget: int,
        schema: dict[str, Any] | None,
        what: str,
        progress: Progress,
        resume: Resume | None = None,
    ) -> str:
        """The model's answer to ``messages``, of at most ``budget`` tokens. With ``resume``, it
        goes on from the answer an earlier attempt began, and keeps its own as it grows."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        inputs = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(self.device)
        prompt_length = int(inputs["input_ids"].shape[-1])
        begun = (
            self.tokenizer(resume.answer, add_special_tokens=False, return_tensors="pt")["input_ids"]
            if (resume and resume.answer)
            else None
        )
        if begun is not None:
            progress(
                (attempt - 1 + begun.shape[-1] / budget) / attempts,
                Sentence(
                    "resumed_answer",
                    "Going on from the %(tokens)s tokens an earlier attempt wrote.",
                    tokens=int(begun.shape[-1]),
                ),
            )
            inputs["input_ids"] = torch.cat([inputs["input_ids"], begun.to(self.device)], dim=-1)
            inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
        begun_length = int(inputs["input_ids"].shape[-1]) - prompt_length
        tokenizer, kept_at = self.tokenizer, [time.monotonic()]

        class Report(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                done = input_ids.shape[-1] - prompt_length
                if resume is not None and time.monotonic() - kept_at[0] >= resume.every_s:
                    kept_at[0] = time.monotonic()
                    resume.keep(
                        tokenizer.decode(input_ids[0][prompt_length:], skip_special_tokens=True).rstrip("\ufffd")
                    )
                if done % 16 == 0:
                    progress(
                        (attempt - 1 + done / budget) / attempts,
                        Sentence(
                            "tokens",
                            "%(what)s (%(done)s tokens, attempt %(attempt)s)",
                            what=what,
                            done=done,
                            attempt=attempt,
                        ),
                    )
                return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

        torch.manual_seed(attempt)
        sampling = {"do_sample": True, "temperature": 0.7, "top_p": 0.9} if attempt > 1 else {"do_sample": False}
        with torch.inference_mode():
            output = self.lm.generate(
                **inputs,
                max_new_tokens=max(1, budget - begun_length),
                stopping_criteria=StoppingCriteriaList([Report()]),
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
                **sampling,
                **self.cache,
                **self._constraint(schema, prompt_length),
            )
        record(
            device=self.device, tokensIn=prompt_length, tokensOut=int(output.shape[-1]) - prompt_length - begun_length
        )
        return str(self.tokenizer.decode(output[0][prompt_length:], skip_special_tokens=True))

    def _constraint(self, schema: dict[str, Any] | None, prompt_length: int) -> dict[str, Any]:
        """A fresh JSON-schema filter for one answer, or nothing when not constraining."""
        if schema is None or not importlib.util.find_spec("lmformatenforcer"):
            return {}
        from transformers import LogitsProcessorList

        from inference import constrained as json_constraint
        from inference.models import CACHE

        data = CACHE.get(
            ("lm-format-enforcer", self.source, "cpu", ""), lambda: json_constraint.tokenizer_data(self.tokenizer)
        )
        return {"logits_processor": LogitsProcessorList([json_constraint.json_constraint(data, schema, prompt_length)])}


def _last_sentence(value: object) -> int | None:
    """The last sentence number of a shot's ``"sentences": [first, last]`` (or ``[n]``)."""
    if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return int(value[-1])
    return None


def _narrate_by_number(story: str, shots: list[ShotPlan], lasts: list[int | None], notes: list[str]) -> list[ShotPlan]:
    """Each shot's narration: the story's sentences from the one after the previous shot's last
    to its own last. The model's cut points are kept where they move forward; a shot whose cut
    does not (or that gave none) takes one sentence; the last shot ends the story; shots beyond
    the story's sentences are dropped. So the narration covers every sentence once, in order."""
    sentences = split_sentences(story)
    joiner = "" if _is_cjk_text(sentences) else " "
    kept: list[ShotPlan] = []
    start, repaired = 0, False
    for index, (shot, last) in enumerate(zip(shots, lasts, strict=True)):
        if start >= len(sentences):
            repaired = True
            break
        end = last if last is not None and start < last <= len(sentences) else start + 1
        repaired |= end != last
        if index == len(shots) - 1 and end < len(sentences):
            end, repaired = len(sentences), True
        shot.narration = joiner.join(sentences[start:end])
        kept.append(shot)
        start = end
    if repaired:
        notes.append("the shots' sentence numbers were made to follow one another over the whole story")
    return kept


def storyboard_request(
    story: str, *, shot_count: int, language: str, style: str, constrained: bool = True, text_limit: int = 2000
) -> tuple[list[dict[str, str]], dict[str, Any] | None, int]:
    """How a local chat model is asked for a storyboard: the messages, the JSON schema that
    keeps its answer in shape while it is written (``constrained``), and its token budget."""
    from inference import constrained as json_constraint

    messages = build_messages(story, language=language, shot_count=shot_count, style=style)
    # The answer names its shots' sentences by number: a prompt and a few fields per shot, the
    # title and the characters; the story is not written out again. A cap, with room to spare
    # for long descriptions (a real model's answer is ~80 tokens a shot).
    budget = min(8192, 200 * shot_count + 1000)
    schema = (
        json_constraint.storyboard_schema(
            shot_count=shot_count,
            max_shots=MAX_SHOTS,
            max_characters=MAX_CHARACTERS,
            text_limit=text_limit,
            sentences=len(split_sentences(story)),
        )
        if constrained
        else None
    )
    return messages, schema, budget


def transformers_storyboard(
    story: str,
    *,
    model: str,
    runtime: Runtime,
    shot_count: int,
    language: str,
    style: str,
    attempts: int = 2,
    max_new_tokens: int | None = None,
    constrained: bool = True,
    text_limit: int = 2000,
    resume: Resume | None = None,
    progress: Progress = no_progress,
) -> Storyboard:
    """A storyboard from a local chat model. ``constrained`` keeps the answer inside the
    storyboard's JSON schema while it is written, with strings of at most ``text_limit``
    characters. The first (greedy) answer is kept as it is written and goes on from what an
    earlier attempt kept (``resume``)."""
    chat = LocalChat(model, runtime)
    messages, schema, budget = storyboard_request(
        story, shot_count=shot_count, language=language, style=style, constrained=constrained, text_limit=text_limit
    )
    budget = max_new_tokens or budget

    def ask(attempt: int) -> str:
        return chat.ask(
            messages,
            attempt=attempt,
            attempts=attempts,
            budget=budget,
            schema=schema,
            what="Writing the storyboard",
            progress=progress,
            resume=resume if attempt == 1 else None,
        )

    return _attempts(
        ask,
        story=story,
        shot_count=shot_count,
        backend="transformers",
        model=model,
        attempts=attempts,
        progress=progress,
    )
