"""How well each shot's picture matches its words: the film check's CLIP score, where a CLIP is
installed (``inference.engines.matcher``: the likeness model, on an inference worker's disk).
Scored after each render by a task on the inference queue, where the models are; a shot whose
picture and words are unchanged since the last score keeps it, so an edit scores only what it
changed. The scores and the weakest shots' findings join the render's check
(``render_manifest["check"]``), before the render's webhook is called and ``make_video``
reports."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings

from core.engines import runtime
from core.storage import local_path
from inference import engines
from inference.errors import EngineError
from inference.filmcheck import finding_order, match_findings
from inference.registry import ClipLikeness, parse_spec
from inference.sentences import Sentence
from projects.models import Project
from projects.selectors import film_of
from shots.models import Shot
from tasks.models import Task
from tasks.queues import INFERENCE, live_workers, why_no_worker_can
from tasks.registry import Progress, SupersededError
from tasks.services import task_create, task_finish

MATCH = "match"


def match_after_render(*, project: Project) -> Task | None:
    """The score of the render just made, where a CLIP can score it: the likeness model is one,
    and the live inference workers have it on their disk (each says so with its presence). With
    none live nothing is asked for: the score is the check's extra, not worth a task that might
    wait for hours, or fail where no CLIP is. Nothing is looked for on disk in this process."""
    if parse_spec("likeness", settings.LIKENESS_MODEL).backend != ClipLikeness.name:
        return None
    if not live_workers()[INFERENCE]:
        return None
    if why_no_worker_can(queue=INFERENCE, kind=MATCH, configuration=settings.LIKENESS_MODEL):
        return None
    return task_create(kind=MATCH, project=project, params={"render": project.render_hash})


def why_no_clip_here() -> str | None:
    """Why this worker cannot score pictures (said with its presence), or None."""
    if engines.matcher(settings.LIKENESS_MODEL, models_dir=settings.MODELS_DIR) is None:
        return f"no CLIP is on disk here (LIKENESS_MODEL {settings.LIKENESS_MODEL})"
    return None


def match_waits(project: Project) -> bool:
    """Whether the score of the project's film is still to join its check."""
    return project.tasks.filter(kind=MATCH, params__render=project.render_hash, status__in=Task.UNFINISHED).exists()


def _words(project: Project, shot: Shot) -> tuple[str, str]:
    """What a shot's picture is held against: its narration, in an English film (CLIP reads
    English), else the prompt it was painted from."""
    if project.language == "en" and shot.narration.strip():
        return "narration", shot.narration
    return "prompt", shot.prompt


def _key(model: str, picture: str, words: str) -> str:
    return hashlib.sha256(f"{model}\n{picture}\n{words}".encode()).hexdigest()[:24]


def match_run(task: Task, progress: Progress) -> dict[str, Any]:
    project = film_of(task)
    if project.render_hash != task.params["render"]:
        raise SupersededError  # a newer render has its own score
    model = engines.matcher(settings.LIKENESS_MODEL, models_dir=settings.MODELS_DIR)
    if model is None:
        raise EngineError(
            f"No CLIP is on disk here (LIKENESS_MODEL {settings.LIKENESS_MODEL}): the film check goes without "
            "its pictures' score against their words. Fetch it (python manage.py fetch_models) and render again.",
            permanent=True,
        )
    earlier = project.tasks.filter(kind=MATCH, status=Task.Status.FINISHED).order_by("-finished_at").first()
    kept = {row["key"]: row["score"] for row in ((earlier.result or {}).get("shots", []) if earlier else [])}
    rows, todo = [], []
    for shot in project.shots.order_by("order"):
        if not shot.image_file:
            continue
        against, words = _words(project, shot)
        key = _key(model, shot.image_hash, words)
        rows.append({"shotId": str(shot.pk), "against": against, "key": key, "score": kept.get(key)})
        if key not in kept:
            todo.append((len(rows) - 1, local_path(shot.image_file), words))
    if todo:
        scores = engines.match(
            model, [path for _, path, _ in todo], [words for _, _, words in todo], runtime=runtime(), progress=progress
        )
        for (index, _, _), score in zip(todo, scores, strict=True):
            rows[index]["score"] = round(score, 4)
    return {"backend": "transformers", "model": model, "shots": rows, "scored": len(todo)}


def match_apply(task: Task, output: dict[str, Any]) -> str:
    """The scores and the weakest shots' findings into the render's check (the earlier ones
    replaced), if the render is still the one scored."""
    project = Project.objects.select_for_update().get(pk=film_of(task).pk)
    check = (project.render_manifest or {}).get("check")
    if project.render_hash != task.params["render"] or check is None:
        raise SupersededError
    numbers = {str(pk): order + 1 for pk, order in project.shots.values_list("id", "order")}
    ids = {number: shot_id for shot_id, number in numbers.items()}
    scored = [(numbers[row["shotId"]], row) for row in output["shots"] if row["shotId"] in numbers]
    weak = match_findings([(number, row["score"]) for number, row in scored])
    findings = [f for f in check["findings"] if f["check"] != "match"]
    findings += [{**f.as_dict(), "shotId": ids[f.shot]} for f in weak if f.shot is not None]
    findings.sort(key=lambda f: finding_order(f["severity"], f.get("shot"), f.get("at")))
    check.update(
        findings=findings,
        errorCount=sum(f["severity"] == "error" for f in findings),
        warningCount=sum(f["severity"] == "warning" for f in findings),
        match={
            "model": output["model"],
            "shots": [
                {"shot": number, "shotId": row["shotId"], "against": row["against"], "score": row["score"]}
                for number, row in scored
            ],
        },
    )
    project.save(update_fields=["render_manifest", "updated_at"])
    message = (
        Sentence(
            "match_weak",
            "Pictures held against their words: shots %(shots)s match least (regenerate their pictures).",
            shots=", ".join(str(f.shot) for f in weak),
        )
        if weak
        else Sentence("match_even", "Pictures held against their words: none stands out as matching less.")
    )
    if not task_finish(task=task, result=output, message=message):
        raise SupersededError
    return MATCH
