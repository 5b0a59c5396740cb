// The storyboard editor. Everything shown is built with textContent/attributes (never
// innerHTML), so text from users and models is always text. Live updates arrive over the
// project's WebSocket; on a gap, a disconnect or a reconnect the storyboard is read again, and
// while the socket is down the page polls.
"use strict";

(function () {
  const root = document.getElementById("editor");
  if (!root) return;
  // Words on the page in the interface's language (Django's JavaScript catalog, /jsi18n/).
  const gettext = window.gettext || ((text) => text);
  const say = (format, values) => format.replace(/%\((\w+)\)s/g, (_, key) => String(values[key]));
  // The same, where a value is an element (a command in <code>): the sentence as nodes.
  const sayNodes = (format, values) =>
    format.split(/(%\(\w+\)s)/).map((piece) => {
      const key = /^%\((\w+)\)s$/.exec(piece);
      const value = key ? values[key[1]] : piece;
      return value instanceof Node ? value : document.createTextNode(String(value));
    });
  const projectId = root.dataset.projectId;
  const CAMERAS = ["static", "zoom_in", "zoom_out", "pan_left", "pan_right", "pan_up", "pan_down"];
  const TRANSITIONS = ["cut", "fade", "dissolve", "wipe_left", "wipe_right", "slide_left", "slide_right"];
  // The language of shots; "" is "not set" (nothing about it in the picture prompt).
  const SHOT_SIZES = ["", "close_up", "medium_close_up", "medium", "full", "wide"];
  const CAMERA_ANGLES = ["", "eye_level", "low", "high", "overhead"];
  const STAGES = ["image", "speech", "motion"];
  const state = { project: null, shots: [], characters: [], tasks: new Map(), seq: null, socket: null, poll: null };
  const list = document.getElementById("shots");
  const template = document.getElementById("shot-template");
  const liveState = document.getElementById("live-state");

  function csrf() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function api(path, options = {}) {
    const response = await fetch(`/api/v1${path}`, {
      method: options.method || "GET",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    if (response.status === 204) return null;
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw failure(response, body);
    return body;
  }

  function failure(response, body) {
    // The API's own words for what went wrong ({"error": {"message"}}), with the status.
    const message = (body.error && body.error.message) || say(gettext("The server answered %(status)s."), response);
    return Object.assign(new Error(message), { status: response.status });
  }

  function taskKey(task) {
    return `${task.kind}:${task.shotId || ""}`;
  }

  function newer(known, incoming) {
    // A re-read may be answered after a live update that is newer than it: keep the newer.
    return !known || Date.parse(incoming.updatedAt) >= Date.parse(known.updatedAt);
  }

  function rememberTask(task) {
    const key = taskKey(task);
    const known = state.tasks.get(key);
    if (!known || (known.id === task.id ? newer(known, task) : known.createdAt <= task.createdAt)) {
      state.tasks.set(key, task);
    }
  }

  async function load() {
    const board = await api(`/projects/${projectId}/storyboard`);
    const known = new Map(state.shots.map((shot) => [shot.id, shot]));
    if (newer(state.project, board.project)) state.project = board.project;
    state.shots = board.shots.map((shot) => {
      const live = known.get(shot.id);
      return newer(live, shot) ? shot : { ...live, order: shot.order };
    });
    state.characters = board.characters;
    board.tasks.forEach(rememberTask);
    renderDrafts(board.drafts);
    renderAll();
  }

  // Camera moves and transitions in the interface's language.
  const MOVE_WORDS = {
    static: gettext("still"),
    zoom_in: gettext("zoom in"),
    zoom_out: gettext("zoom out"),
    pan_left: gettext("pan left"),
    pan_right: gettext("pan right"),
    pan_up: gettext("pan up"),
    pan_down: gettext("pan down"),
    cut: gettext("cut"),
    fade: gettext("fade"),
    dissolve: gettext("dissolve"),
    wipe_left: gettext("wipe left"),
    wipe_right: gettext("wipe right"),
    slide_left: gettext("slide left"),
    slide_right: gettext("slide right"),
    "": gettext("not set"),
    close_up: gettext("close-up"),
    medium_close_up: gettext("medium close-up"),
    medium: gettext("medium"),
    full: gettext("full"),
    wide: gettext("wide"),
    eye_level: gettext("eye level"),
    low: gettext("low angle"),
    high: gettext("high angle"),
    overhead: gettext("overhead"),
  };

  function option(select, values, current) {
    select.replaceChildren(
      ...values.map((value) => {
        const item = document.createElement("option");
        item.value = value;
        item.textContent = MOVE_WORDS[value] ?? value.replace("_", " ");
        item.selected = value === current;
        return item;
      }),
    );
  }

  const STAGE_WORDS = { image: gettext("picture"), speech: gettext("voice"), motion: gettext("clip") };
  const KIND_WORDS = {
    ...STAGE_WORDS,
    storyboard: gettext("storyboard"),
    compose: gettext("film"),
    story: gettext("story"),
    refine: gettext("rewrite"),
    translate: gettext("translation"),
    likeness: gettext("likeness"),
    match: gettext("pictures against their words"),
    candidates: gettext("pictures to choose from"),
  };
  const REMEDY = {
    image: gettext("Press “New picture”, or change the picture text and save."),
    speech: gettext("Press “New voice”, or change the narration and save."),
    motion: gettext("Press “Animate” to try again."),
  };
  // The project's status line from its parts (projects.pipeline.STATUS_SENTENCES), in the
  // interface's language; a reason from an engine stays as the engine said it.
  const STATUS_SENTENCES = {
    writing_story: gettext("Writing the story."),
    story_ready: gettext("The story is written: edit it, then make the storyboard."),
    story_failed: gettext("The story could not be written: %(why)s"),
    story_waiting: gettext("The story waits for the language model (%(ahead)s ahead of it)."),
    writing_storyboard: gettext("Writing the storyboard."),
    storyboard_waiting: gettext("The storyboard waits for the language model (%(ahead)s ahead of it)."),
    media_to_go: gettext("%(count)s picture, clip or voice task(s) to go."),
    media_waiting: gettext("%(count)s picture, clip or voice task(s) waiting for a worker (%(ahead)s ahead of them)."),
    composing: gettext("Composing the film."),
    compose_waiting: gettext("The film waits for the media worker (%(ahead)s ahead of it)."),
    all_ready: gettext("Every shot is ready: render the film."),
    render_failed: gettext("The film is out of date: its last render failed (%(why)s). Render again."),
    first_render_failed: gettext("The film could not be made (%(why)s). Render again."),
    held_up: gettext("%(why)s. The work goes on by itself once it is put right."),
    storyboard_failed: gettext("The storyboard failed: %(why)s"),
    stage_failed: gettext("Shot %(shot)s's %(stage)s failed: %(why)s. Regenerate it or edit the shot."),
  };
  const STAGE_NAMES = { picture: gettext("picture"), voice: gettext("voice"), clip: gettext("clip") };

  // A task's message from its sentences (messageParts: inference.sentences and tasks.services),
  // in the interface's language; an engine's own words ("words") stay as it said them, and a
  // message with a sentence this page does not know is shown as the server wrote it.
  const MESSAGE_SENTENCES = {
    started: gettext("Started."),
    done: gettext("Done."),
    done_by: gettext("Done (%(by)s)."),
    prompt_written: gettext("Read the request and wrote the prompt (%(by)s)."),
    queued_again: gettext("Queued again."),
    retrying: gettext("Attempt %(attempt)s of %(attempts)s failed; retrying in %(delay)s s: %(why)s"),
    held_up: gettext("%(why)s. It is tried again by itself (next in %(delay)s s, for %(left)s min more)."),
    stayed_held_up: gettext("%(why)s. It stayed so for %(minutes)s min; try again once it is put right."),
    handed_back: gettext("Its worker was stopped mid-job; another worker takes it up."),
    superseded: gettext("Superseded by a newer edit; its result was discarded."),
    cancelled_by_user: gettext("Cancelled by the user."),
    cancelled_by_operator: gettext("Cancelled by an operator."),
    deleted_by_user: gettext("Deleted by the user."),
    parent_ended: gettext("Cancelled: its parent %(kind)s task %(task)s %(status)s."),
    card_drawn: gettext("Card drawn"),
    step: gettext("Step %(step)s of %(steps)s"),
    painted: gettext("%(count)s keyframe(s) painted"),
    references_unused: gettext("The reference pictures did not guide it: %(why)s."),
    animated: gettext("%(count)s frames animated"),
    compared: gettext("%(count)s pictures compared"),
    likeness_drifting: gettext("%(name)s: likeness %(score)s; drifting most: shots %(shots)s (regenerate their pictures)."),
    likeness_steady: gettext("%(name)s: likeness %(score)s, alike in every shot."),
    matched: gettext("%(count)s pictures matched"),
    match_weak: gettext("Pictures held against their words: shots %(shots)s match least (regenerate their pictures)."),
    match_even: gettext("Pictures held against their words: none stands out as matching less."),
    spoken: gettext("Spoken"),
    sentence: gettext("Sentence %(n)s of %(count)s"),
    lines_spoken: gettext("%(done)s of %(count)s lines spoken"),
    shot_drafted: gettext("Shot %(n)s"),
    asking: gettext("Asking %(model)s (attempt %(attempt)s)"),
    tokens: gettext("%(what)s (%(done)s tokens, attempt %(attempt)s)"),
    resumed_answer: gettext("Going on from the %(tokens)s tokens an earlier attempt wrote."),
    resumed: gettext("Going on from line %(line)s of %(lines)s (the lines before were translated by an earlier attempt)."),
    rendered: gettext("Shot %(done)s of %(shots)s rendered"),
    joining: gettext("Joining"),
    checking: gettext("Checking the film"),
    film_ready: gettext("Film ready"),
    film_made: gettext("Film ready: %(seconds)s s."),
    clip_made: gettext("Clip %(done)s of %(count)s made"),
    clips_made: gettext("%(count)s clip(s) for an editor made."),
    clips_stale: gettext("%(count)s clip(s) for an editor made; %(stale)s shot(s) changed since the render: render again."),
    checked_clean: gettext("Checked: nothing to fix."),
    checked_clean_at: gettext("Checked at %(lufs)s LUFS: nothing to fix."),
    checked: gettext("Checked: %(errors)s error(s), %(warnings)s warning(s): see the film check."),
    checked_at: gettext("Checked at %(lufs)s LUFS: %(errors)s error(s), %(warnings)s warning(s): see the film check."),
    storyboard_made: gettext("%(shots)s shots (%(by)s)"),
    story_ready: gettext("The story is written: edit it, then make the storyboard."),
    translated: gettext("Translated into %(language)s: “%(title)s”, its voices are being made."),
    rewrote_prompt: gettext("Rewrote the picture prompt; the picture is made again."),
    rewrote_narration: gettext("Rewrote the narration; it is spoken again."),
    rewrote_both: gettext("Rewrote the picture prompt and the narration; both are made again."),
    rewrote_nothing: gettext("The model kept the shot as it was."),
    own_picture_stays: gettext("Your own picture stays: regenerate it to use the new text."),
    own_recording_stays: gettext("Your own recording stays: regenerate it to use the new text."),
    own_both_stay: gettext("Your own picture and recording stays: regenerate it to use the new text."),
    rewrote_storyboard: gettext(
      "Rewrote the storyboard: %(before)s shots became %(shots)s (%(kept)s kept, %(new)s new, %(removed)s removed).",
    ),
    note: gettext("Note: %(note)s."),
    restorable: gettext("The earlier storyboard can be restored."),
    delivered: gettext("Delivered: the receiver answered %(status)s."),
    before_rewrite: gettext("Before the rewrite “%(instruction)s”"),
    before_again: gettext("Before the storyboard was made again from the story."),
    before_restoring: gettext("Before restoring:"),
    weights_offline: gettext("the weights of %(model)s are not on disk and %(setting)s is set"),
    weights_unreachable: gettext("the weights of %(model)s are not on disk and %(why)s"),
  };
  const DRAFT_STAGE_WORDS = {
    storyboard: gettext("storyboard"),
    pictures: gettext("pictures"),
    voices: gettext("voices"),
    clips: gettext("clips"),
  };
  // Values that are words of their own: what a language model is doing, a task's kind and status.
  const WORK_WORDS = {
    "Writing the storyboard": gettext("Writing the storyboard"),
    "Writing the story": gettext("Writing the story"),
    "Rewriting the shot": gettext("Rewriting the shot"),
    "Rewriting the storyboard": gettext("Rewriting the storyboard"),
    Translating: gettext("Translating"),
  };
  const LANGUAGE_NAMES = { English: gettext("English") };  // and 中文 as it is

  function sourceWords(source) {
    // What made a picture or a voice: an engine's name as it is, a draft card or the person's file in words.
    if (source === "draft") return gettext("draft");
    if (source && source.startsWith("own:")) return say(gettext("your file %(name)s"), { name: source.slice(4) });
    return source || "";
  }

  // An engine's own words, marked as the English they are (screen readers, and whoever checks
  // that the page is in the reader's language).
  function english(words) {
    return Object.assign(document.createElement("span"), { lang: "en", textContent: words });
  }

  function taskNodes(task) {
    const parts = task.messageParts || [];
    if (!parts.length || parts.some((part) => part.code !== "words" && !MESSAGE_SENTENCES[part.code])) {
      return task.message ? [english(task.message)] : [];
    }
    return parts.flatMap((part, index) => [
      ...(index ? [document.createTextNode(" ")] : []),
      ...(part.code === "words"
        ? [english(part.text)]
        : sayNodes(MESSAGE_SENTENCES[part.code], {
            ...part,
            why: part.why === undefined ? undefined : english(String(part.why).replace(/\.$/, "")),
            by: sourceWords(part.by),
            what: WORK_WORDS[part.what] || part.what,
            kind: KIND_WORDS[part.kind] || part.kind,
            status: STATUS_WORDS[part.status] || part.status,
            language: LANGUAGE_NAMES[part.language] || part.language,
            setting: part.setting && Object.assign(document.createElement("code"), { textContent: part.setting }),
          })),
    ]);
  }

  function taskWords(task) {
    return taskNodes(task)
      .map((node) => node.textContent)
      .join("");
  }


  function statusLine(project) {
    const parts = project.statusParts || [];
    if (!parts.length) return project.statusMessage || STATUS_WORDS[project.status];
    return parts
      .map((part) =>
        STATUS_SENTENCES[part.code]
          ? say(STATUS_SENTENCES[part.code], { ...part, stage: STAGE_NAMES[part.stage] || part.stage })
          : "",
      )
      .join(" ");
  }

  const STATUS_WORDS = {
    pending: gettext("waiting"),
    blocked: gettext("waiting"),
    processing: gettext("working"),
    draft: gettext("Draft"),
    storyboarding: gettext("Writing the storyboard"),
    generating: gettext("Generating shots"),
    ready: gettext("Ready"),
    rendering: gettext("Rendering"),
    rendered: gettext("Rendered"),
    failed: gettext("Failed"),
  };

  function stageTask(shot, stage) {
    return state.tasks.get(`${stage}:${shot.id}`);
  }

  // A Cancel beside every piece of work that waits or runs: it names the tasks it cancels.
  function paintCancel(button, tasks) {
    button.dataset.taskIds = tasks.map((task) => task.id).join(" ");
    button.hidden = !tasks.length;
  }

  function paintStatus(card, shot) {
    const busy = STAGES.map((stage) => stageTask(shot, stage)).filter(
      (task) => task && ["blocked", "pending", "processing"].includes(task.status),
    );
    paintCancel(card.querySelector(".shot-cancel"), busy);
    const failed = STAGES.map((stage) => stageTask(shot, stage)).find((task) => task && task.status === "failed");
    const badge = card.querySelector(".stage-status");
    const fill = card.querySelector(".progress .fill");
    const note = card.querySelector(".task-message");
    if (busy.length) {
      const running = busy.find((task) => task.status === "processing") || busy[0];
      badge.textContent = `${STAGE_WORDS[running.kind]}: ${STATUS_WORDS[running.status]}`;
      badge.dataset.state = "busy";
      fill.style.width = `${running.progress}%`;
      card.dataset.busy = "true";
      note.replaceChildren(...taskNodes(running));  // "worker gone; retrying", "Attempt 1 of 3 failed; …"
    } else {
      badge.textContent = failed
        ? say(gettext("%(stage)s failed"), { stage: STAGE_WORDS[failed.kind] })
        : gettext("ready");
      badge.dataset.state = failed ? "failed" : "ready";
      fill.style.width = failed ? "0%" : "100%";
      card.dataset.busy = "false";
      note.textContent = "";
    }
    note.hidden = !note.textContent;
    // Why the newest task of a stage failed, and what to do; only a newer result clears it.
    const error = card.querySelector(".stage-error");
    error.hidden = !failed;
    const why = document.createElement("span");
    if (failed) why.append(...(failed.messageParts?.length ? taskNodes(failed) : [english(failed.message.replace(/\.$/, ""))]));
    error.replaceChildren(
      ...(failed
        ? sayNodes(gettext("The %(stage)s failed: %(why)s. %(remedy)s"), {
            stage: STAGE_WORDS[failed.kind],
            why,
            remedy: REMEDY[failed.kind],
          })
        : []),
    );
    paintRefine(card, shot);
    paintCandidates(card, shot);
  }

  // The model rewriting a shot on an instruction: the newest request's state, and the shot's
  // conversation so far (each instruction and what it made of the picture prompt).
  // The state of work a language model does (a rewrite, a translation): its progress while it
  // runs, then what it said; its button waits meanwhile. Returns the task's state as a key, so a
  // panel showing the work's results knows when to read them again.
  function paintModelTask(task, line, button, busyWords) {
    const busy = Boolean(task && UNFINISHED.includes(task.status));
    line.replaceChildren(...(!task ? [] : busy ? [say(busyWords, task)] : taskNodes(task)));
    line.classList.toggle("error", Boolean(task && task.status === "failed"));
    button.disabled = busy;
    paintCancel(line.nextElementSibling, busy ? [task] : []);
    return taskState(task);
  }

  function taskState(task) {
    return task ? `${task.id}:${task.status}` : "";
  }

  function paintRefine(card, shot) {
    const task = state.tasks.get(`refine:${shot.id}`);
    const line = card.querySelector(".refine-state");
    const seen = paintModelTask(task, line, card.querySelector(".refine-send"), gettext("Rewriting… %(progress)s%"));
    const refine = card.querySelector(".refine");
    if (refine.open && refine.dataset.seen !== seen) act(card, () => paintTurns(card));
  }

  // Pictures painted for the shot to choose from: the request's state while they are painted,
  // then the grid (read again once a request finishes, or when the card's menu opens).
  function paintCandidates(card, shot) {
    const task = state.tasks.get(`candidates:${shot.id}`);
    const line = card.querySelector(".candidates-state");
    const seen = paintModelTask(task, line, card.querySelector(".show-candidates"), gettext("Painting pictures… %(progress)s%"));
    const box = card.querySelector(".candidates");
    if (task) box.hidden = false;
    if (card.querySelector(".more").open && box.dataset.seen !== seen) act(card, () => paintCandidateGrid(card));
  }

  async function paintCandidateGrid(card) {
    const box = card.querySelector(".candidates");
    box.dataset.seen = taskState(state.tasks.get(`candidates:${card.dataset.shotId}`));
    const pictures = await api(`/shots/${card.dataset.shotId}/candidates`);
    const shot = state.shots[shotIndex(card)];
    const inUse = shot && shot.image.url ? shot.image.url.split("?")[0] : "";
    card.querySelector(".candidate-grid").replaceChildren(
      ...pictures.map((picture) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "choose-candidate";
        button.dataset.candidateId = picture.id;
        const current = picture.url.split("?")[0] === inUse;
        button.disabled = current;
        const words = say(gettext("Seed %(seed)s"), picture);
        button.setAttribute("aria-label", current ? say(gettext("%(picture)s, in use"), { picture: words }) : say(gettext("Use the picture of seed %(seed)s"), picture));
        const image = document.createElement("img");
        image.src = picture.thumbnailUrl || picture.url;
        image.alt = "";
        const caption = document.createElement("small");
        caption.textContent = current ? `${words} · ${gettext("In use")}` : words;
        button.append(image, caption);
        item.append(button);
        return item;
      }),
    );
    box.hidden = !pictures.length && !state.tasks.get(`candidates:${card.dataset.shotId}`);
  }

  // The prompt optimiser's questions, in the reader's language (the API asks in English).
  const QUESTION_WORDS = {
    subjects: gettext("Who or what is in the picture?"),
    setting: gettext("Where does it take place?"),
    timeOfDay: gettext("What time of day is it?"),
    mood: gettext("What mood should it have?"),
    shotSize: gettext("How close is the camera?"),
  };
  const DRAFT_READING = gettext(
    "The draft back end reads no language: your words are the subject as written, and only a time of day and a shot size it knows by name were picked out. A language model (STORYBOARD_MODEL) would read the setting, the mood and the rest.",
  );

  // A panel a card makes from its page-wide template when first asked, after ``after``.
  function panel(card, name, after) {
    let made = card.querySelector(`.${name}`);
    if (!made) {
      made = document.getElementById(`${name}-panel`).content.firstElementChild.cloneNode(true);
      after.after(made);
    }
    return made;
  }

  async function followDraft(card, draft) {
    card.dataset.draftId = draft.id;
    while (draft.status === "reading" && card.dataset.draftId === draft.id) {
      paintDraft(card, draft);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      draft = await api(`/prompts/${draft.id}`);
    }
    if (card.dataset.draftId === draft.id) paintDraft(card, draft);
  }

  function paintDraft(card, draft) {
    card.dataset.draft = JSON.stringify(draft);
    const ready = draft.status === "ready";
    const note = card.querySelector(".optimizer-state");
    if (draft.status === "reading") note.textContent = gettext("The model is reading your request…");
    else if (draft.status === "failed") note.textContent = draft.task ? draft.task.message || draft.task.error : "";
    else note.textContent = draft.backend === "draft" ? DRAFT_READING : "";
    card.querySelector(".optimized").textContent = draft.result;
    card.querySelector(".optimizer-questions").replaceChildren(
      ...draft.questions.map((question) => {
        const label = document.createElement("label");
        label.append(QUESTION_WORDS[question.field] || question.question, " ");
        let field;
        if (question.choices.length) {
          field = document.createElement("select");
          field.append(new Option("", ""), ...question.choices.map((choice) => new Option(MOVE_WORDS[choice] ?? choice.replace("_", " "), choice)));
        } else {
          field = document.createElement("input");
          field.type = "text";
          field.maxLength = 200;
        }
        field.dataset.field = question.field;
        label.append(field);
        return label;
      }),
    );
    card.querySelector(".optimize-answer").hidden = !ready || !draft.questions.length;
    card.querySelector(".optimize-use").hidden = !ready || !draft.result;
    const rating = card.querySelector(".rating");
    rating.hidden = !ready;
    rating.querySelectorAll(".rate").forEach((button) => {
      button.setAttribute("aria-pressed", String(Number(button.dataset.rating) === draft.rating));
      button.setAttribute("aria-label", say(gettext("Rate this prompt %(n)s of 5"), { n: button.dataset.rating }));
    });
  }

  async function paintGalleryPick(card) {
    const answer = await api("/images?pageSize=12");
    const note = card.querySelector(".gallery-state");
    note.textContent = answer.count ? "" : gettext("Your gallery is empty: paint pictures there first.");
    card.querySelector(".gallery-grid").replaceChildren(
      ...answer.results.map((picture) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "choose-candidate use-picture";
        button.dataset.pictureId = picture.id;
        button.title = picture.prompt;
        button.setAttribute("aria-label", say(gettext("Use the gallery picture “%(prompt)s” (seed %(seed)s)"), picture));
        const image = document.createElement("img");
        image.src = picture.thumbnailUrl || picture.url;
        image.alt = "";
        const caption = document.createElement("small");
        caption.textContent = say(gettext("Seed %(seed)s"), picture);
        button.append(image, caption);
        item.append(button);
        return item;
      }),
    );
  }

  async function paintTurns(card) {
    const refine = card.querySelector(".refine");
    refine.dataset.seen = taskState(state.tasks.get(`refine:${card.dataset.shotId}`));
    const turns = await api(`/projects/${projectId}/conversation?shotId=${card.dataset.shotId}`);
    card.querySelector(".turns").replaceChildren(
      ...turns.map((turn) => {
        const item = document.createElement("li");
        const asked = document.createElement("strong");
        asked.textContent = turn.instruction;
        const made = document.createElement("small");
        made.textContent = turn.changed.length ? ` → ${turn.after.prompt}` : ` → ${gettext("no change")}`;
        item.append(asked, made);
        return item;
      }),
    );
  }

  // Every control of a card is named with its shot's number, for screen readers and voice control.
  const CONTROL_NAMES = {
    ".prompt": gettext("Picture of shot %(n)s"),
    ".narration": gettext("Narration of shot %(n)s"),
    ".camera": gettext("Camera of shot %(n)s"),
    ".transition": gettext("Transition after shot %(n)s"),
    ".shot-size": gettext("Shot size of shot %(n)s"),
    ".camera-angle": gettext("Camera angle of shot %(n)s"),
    ".approve": gettext("Shot %(n)s is approved"),
    ".negative-prompt": gettext("What to keep out of shot %(n)s"),
    ".motion-prompt": gettext("What moves in shot %(n)s"),
    ".pinned-duration": gettext("Seconds of shot %(n)s"),
    ".seed": gettext("Seed of shot %(n)s"),
    ".seed-pin": gettext("Keep the seed of shot %(n)s in a new picture"),
    ".speaker": gettext("Who speaks shot %(n)s"),
    ".instruction": gettext("How to rewrite shot %(n)s"),
    ".save": gettext("Save shot %(n)s"),
    ".regen[data-stage=image]": gettext("New picture for shot %(n)s"),
    ".show-candidates": gettext("Show me 4 pictures for shot %(n)s"),
    ".show-gallery": gettext("Choose a picture from your gallery for shot %(n)s"),
    ".regen[data-stage=speech]": gettext("New voice for shot %(n)s"),
    ".regen[data-stage=motion]": gettext("Animate shot %(n)s"),
    ".listen": gettext("Listen to shot %(n)s"),
    ".up": gettext("Move shot %(n)s up"),
    ".down": gettext("Move shot %(n)s down"),
    ".add-after": gettext("Add a shot after shot %(n)s"),
    ".delete": gettext("Delete shot %(n)s"),
  };

  // Save is there only when the card holds a change not yet saved.
  function paintSave(card) {
    card.querySelector(".save").hidden = !card.querySelector('[data-dirty="true"]');
  }

  function paintShot(card, shot, index) {
    card.dataset.shotId = shot.id;
    const number = say(gettext("Shot %(n)s"), { n: index + 1 });
    card.querySelector(".number").textContent = number;
    card.setAttribute("aria-label", number);
    for (const [selector, name] of Object.entries(CONTROL_NAMES)) {
      card.querySelector(selector).setAttribute("aria-label", say(name, { n: index + 1 }));
    }
    card.querySelector(".duration").textContent = `${shot.duration.toFixed(1)} s`;
    card.querySelector(".source").textContent = [shot.image.source, shot.speech.source]
      .filter(Boolean)
      .map(sourceWords)
      .join(" / ");
    const image = card.querySelector(".keyframe");
    if (shot.image.url && image.getAttribute("src") !== shot.image.url) {
      // The thumbnail where the card's frame is small, the whole picture where it is not (a phone).
      image.srcset = shot.image.thumbnailUrl ? `${shot.image.thumbnailUrl} 320w, ${shot.image.url} ${state.project.width || 1280}w` : "";
      image.src = shot.image.url;
    }
    image.hidden = !shot.image.url;
    image.alt = shot.prompt.slice(0, 120);
    for (const name of ["prompt", "narration"]) {
      const field = card.querySelector(`.${name}`);
      if (document.activeElement !== field && field.dataset.dirty !== "true") field.value = shot[name];
    }
    const extras = {
      ".negative-prompt": shot.negativePrompt,
      ".motion-prompt": shot.motionPrompt,
      ".pinned-duration": shot.pinnedDuration ?? "",
      ".seed": shot.seed,
    };
    for (const [selector, value] of Object.entries(extras)) {
      const field = card.querySelector(selector);
      if (document.activeElement !== field && field.dataset.dirty !== "true") field.value = value;
    }
    for (const [selector, field] of [[".lock", "locked"], [".seed-pin", "seedPinned"], [".approve", "approved"]]) {
      const box = card.querySelector(selector);
      if (box.dataset.saving !== "true") box.checked = shot[field]; // a repaint never undoes a click
    }
    const promptNote = card.querySelector(".prompt-note");
    promptNote.textContent = shot.promptNote;
    promptNote.hidden = !shot.promptNote;
    paintShotCharacters(card, shot);
    paintSpeaker(card, shot);
    // A choice the person made and has not saved stays (a live update repaints the card).
    for (const [name, values, current] of [
      ["camera", CAMERAS, shot.camera],
      ["transition", TRANSITIONS, shot.transition],
      ["shot-size", SHOT_SIZES, shot.shotSize],
      ["camera-angle", CAMERA_ANGLES, shot.cameraAngle],
    ]) {
      const select = card.querySelector(`.${name}`);
      if (select.dataset.dirty !== "true") option(select, values, current);
    }
    card.classList.toggle("approved", shot.approved);
    card.hidden = shot.approved && hideApproved.checked;
    card.querySelector(".listen").disabled = !shot.speech.url;
    const own = [shot.image.own && gettext("your picture"), shot.speech.own && gettext("your recording")].filter(Boolean);
    const mark = card.querySelector(".own-mark");
    mark.hidden = !own.length;
    mark.textContent = own.length ? say(gettext("Yours: %(what)s"), { what: own.join(", ") }) : "";
    card.querySelector(".up").disabled = index === 0;
    card.querySelector(".down").disabled = index === state.shots.length - 1;
    paintStatus(card, shot);
    paintSave(card);
    const history = card.querySelector(".history");
    if (history.open && history.dataset.seen !== resultsOf(shot)) act(card, () => paintHistory(card));
  }

  // A shot's history: each stage's kept results, newest first; restoring one makes it the
  // shot's again (with the prompt or narration that made it) as a new version.
  const VERSION_NAMES = { image: gettext("Picture %(n)s"), speech: gettext("Narration %(n)s"), motion: gettext("Clip %(n)s") };

  function resultsOf(shot) {
    return STAGES.map((stage) => shot[stage].hash).join("|");
  }

  function versionItem(version) {
    const item = document.createElement("li");
    item.className = version.current ? "version current" : "version";
    const kind = { image: "img", motion: "video", speech: "audio" }[version.stage];
    const preview = document.createElement(kind);
    if (kind === "img") preview.alt = "";
    if (kind === "audio") preview.controls = true;
    preview.preload = "none";
    if (version.url) preview.src = version.thumbnailUrl || version.url;
    const name = say(VERSION_NAMES[version.stage], { n: version.number });
    const facts = [name, version.own ? gettext("your file") : sourceWords(version.source), new Date(version.createdAt).toLocaleString()];
    if (version.stage === "image" && version.seed !== null && !version.own) facts.push(say(gettext("seed %(seed)s"), version));
    if (version.restoredFrom) facts.push(say(gettext("restored from %(n)s"), { n: version.restoredFrom }));
    const what = document.createElement("span");
    what.className = "what";
    const text = document.createElement("small");
    text.textContent = (version.prompt ?? version.narration ?? "").slice(0, 200);
    what.append(facts.join(" · "), document.createElement("br"), text);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "restore";
    button.dataset.versionId = version.id;
    button.disabled = version.current;
    button.textContent = version.current ? gettext("In use") : gettext("Restore");
    button.setAttribute("aria-label", say(gettext("Restore %(name)s"), { name }));
    item.append(preview, what, button);
    return item;
  }

  async function paintHistory(card) {
    const shot = state.shots[shotIndex(card)];
    const history = card.querySelector(".history");
    if (shot) history.dataset.seen = resultsOf(shot);
    const versions = await api(`/shots/${card.dataset.shotId}/versions`);
    card.querySelector(".versions").replaceChildren(...versions.map(versionItem));
    card.querySelector(".history-empty").hidden = versions.length > 0;
  }

  function castKey() {
    return JSON.stringify(state.characters.map((character) => [character.id, character.name]));
  }

  function paintShotCharacters(card, shot) {
    // One checkbox per character, ticked where the character is in this shot. Rebuilt only when
    // the characters change, so a live update never takes a box from under the pointer.
    const holder = card.querySelector(".shot-characters");
    const names = castKey();
    if (holder.dataset.names !== names) {
      holder.dataset.names = names;
      holder.replaceChildren(
        holder.querySelector("legend"),
        ...state.characters.map((character) => {
          const label = document.createElement("label");
          label.className = "check";
          const box = document.createElement("input");
          box.type = "checkbox";
          box.value = character.id;
          box.addEventListener("change", () => {
            holder.dataset.dirty = "true";
            paintSave(card);
          });
          label.append(box, ` ${character.name}`);
          return label;
        }),
      );
    }
    if (holder.dataset.dirty !== "true") {
      holder.querySelectorAll("input").forEach((box) => (box.checked = shot.characterIds.includes(box.value)));
    }
    holder.hidden = state.characters.length === 0;
  }

  function paintSpeaker(card, shot) {
    // The narrator or one of the characters; options rebuilt only when the characters change.
    const select = card.querySelector(".speaker");
    const names = castKey();
    if (select.dataset.names !== names) {
      select.dataset.names = names;
      select.replaceChildren(
        select.options[0],
        ...state.characters.map((character) => {
          const item = document.createElement("option");
          item.value = character.id;
          item.textContent = character.name;
          return item;
        }),
      );
    }
    if (document.activeElement !== select && select.dataset.dirty !== "true") select.value = shot.speakerId || "";
  }

  function cardFor(shot) {
    let card = list.querySelector(`[data-shot-id="${shot.id}"]`);
    if (!card) {
      card = template.content.firstElementChild.cloneNode(true);
      card.dataset.shotId = shot.id;
      card.tabIndex = 0;
      const history = card.querySelector(".history");
      history.addEventListener("toggle", () => history.open && act(card, () => paintHistory(card)));
      const refine = card.querySelector(".refine");
      refine.addEventListener("toggle", () => refine.open && act(card, () => paintTurns(card)));
      const menu = card.querySelector(".more");
      menu.addEventListener("toggle", () => menu.open && act(card, () => paintCandidateGrid(card)));
      for (const name of [
        "prompt",
        "narration",
        "negative-prompt",
        "motion-prompt",
        "pinned-duration",
        "seed",
        "speaker",
        "camera",
        "transition",
        "shot-size",
        "camera-angle",
      ]) {
        card.querySelector(`.${name}`).addEventListener("input", (event) => {
          event.target.dataset.dirty = "true";
          paintSave(card);
        });
      }
    }
    return card;
  }

  function renderAll() {
    const cards = state.shots.map((shot, index) => {
      const card = cardFor(shot);
      paintShot(card, shot, index);
      return card;
    });
    // Re-order the DOM only when the order changed: moving a node drops its focus, and a live
    // re-read must never take the caret out of the card someone is typing in.
    const current = Array.from(list.children);
    if (current.length !== cards.length || current.some((card, index) => card !== cards[index])) {
      list.replaceChildren(...cards);
    }
    const approved = state.shots.filter((shot) => shot.approved).length;
    approvedCount.textContent = say(gettext("%(approved)s of %(shots)s shots approved"), { approved, shots: state.shots.length });
    renderCharacters();
    renderProject();
  }

  // Approved cards can be hidden, to see what is left to do.
  const approvedCount = document.getElementById("approved-count");
  const hideApproved = document.getElementById("hide-approved");
  hideApproved.addEventListener("change", () => renderAll());

  const UNFINISHED = ["blocked", "pending", "processing"];

  function filmProgress() {
    // One line of whole-film progress: the storyboard, then the shots' steps, then the film.
    const tasks = Array.from(state.tasks.values());
    const running = (kind) => tasks.find((task) => task.kind === kind && UNFINISHED.includes(task.status));
    const story = running("story");
    if (story) {
      const text = story.status === "processing" ? STATUS_SENTENCES.writing_story : STATUS_WORDS[story.status];
      return { fraction: story.progress / 100, text, tasks: [story] };
    }
    const storyboard = running("storyboard");
    if (storyboard) {
      const text = say(gettext("Storyboard: %(what)s"), { what: taskWords(storyboard) || STATUS_WORDS[storyboard.status] });
      return { fraction: storyboard.progress / 100, text, tasks: [storyboard] };
    }
    const media = tasks.filter((task) => STAGES.includes(task.kind) && state.shots.some((shot) => shot.id === task.shotId));
    const open = media.filter((task) => UNFINISHED.includes(task.status));
    if (open.length) {
      const done = media.filter((task) => task.status === "finished").length;
      const text = say(gettext("%(done)s of %(all)s steps"), { done, all: media.length }) + estimate();
      return { fraction: done / media.length, text, tasks: open };
    }
    const compose = running("compose");
    if (compose) {
      const text = (taskWords(compose) || gettext("Composing the film")) + estimate();
      return { fraction: compose.progress / 100, text, tasks: [compose] };
    }
    return null;
  }

  // A task that reported within this many seconds is moving; one silent longer is not.
  const MOVING_S = 30;

  function estimate() {
    // From how long tasks of the same kinds took on this installation lately (GET /workers),
    // shared among the live workers of each queue. Only while work moves (a task runs and
    // reported lately): waiting work has no estimate. A running task has at least what is
    // left of its typical time, whatever its progress says.
    if (!state.queues) return "";
    const now = Date.now();
    const open = Array.from(state.tasks.values()).filter((task) => UNFINISHED.includes(task.status));
    const moving = open.some(
      (task) => task.status === "processing" && now - Date.parse(task.updatedAt) < MOVING_S * 1000,
    );
    if (!moving) return "";
    let seconds = 0;
    for (const queue of Object.values(state.queues)) {
      const work = open
        .filter((task) => queue.kinds.includes(task.kind))
        .reduce((sum, task) => {
          const typical = queue.typicalSeconds[task.kind] || 0;
          const ran = task.startedAt ? (now - Date.parse(task.startedAt)) / 1000 : 0;
          return sum + Math.max(typical * (1 - task.progress / 100), typical - ran, 0);
        }, 0);
      seconds += work / Math.max(1, queue.workers);
    }
    if (seconds < 1) return "";
    return seconds < 90
      ? say(gettext(" · about %(n)s s left"), { n: Math.round(seconds) })
      : say(gettext(" · about %(n)s min left"), { n: Math.round(seconds / 60) });
  }

  // The whole storyboard rewritten on an instruction, and the storyboards kept before.
  function paintBoardRewrite() {
    const line = document.getElementById("board-state");
    const button = document.getElementById("board-rewrite");
    const seen = paintModelTask(state.tasks.get("refine:"), line, button, gettext("Rewriting… %(progress)s%"));
    const rewrite = document.getElementById("rewrite");
    if (rewrite.open && rewrite.dataset.seen !== seen) act(null, paintSnapshots);
  }

  async function paintSnapshots() {
    document.getElementById("rewrite").dataset.seen = taskState(state.tasks.get("refine:"));
    const snapshots = await api(`/projects/${projectId}/storyboard/snapshots`);
    document.getElementById("snapshots").replaceChildren(
      ...snapshots.map((snapshot) => {
        const item = document.createElement("li");
        const when = new Date(snapshot.createdAt).toLocaleString();
        item.append(
          ...taskNodes({ message: snapshot.reason, messageParts: snapshot.reasonParts }),
          ` · ${say(gettext("%(n)s shots"), { n: snapshot.shots })} · ${when} `,
        );
        const button = document.createElement("button");
        button.type = "button";
        button.className = "restore-board link";
        button.dataset.snapshotId = snapshot.id;
        button.textContent = gettext("Restore");
        item.append(button);
        return item;
      }),
    );
  }

  // A project without shots: its story (written from an idea, or whose storyboard failed), to
  // edit and cut into shots.
  function paintStory() {
    const project = state.project;
    const panel = document.getElementById("story-panel");
    panel.hidden = state.shots.length > 0;
    const text = document.getElementById("story-text");
    const writing = (project.statusParts || []).some((part) => ["writing_story", "story_waiting"].includes(part.code));
    if (document.activeElement !== text && text.dataset.dirty !== "true") text.value = project.story;
    for (const control of [text, document.getElementById("story-save"), document.getElementById("storyboard-start")]) {
      control.disabled = writing || project.status === "storyboarding";
    }
    // A made storyboard: its story, to edit and make the storyboard again from (not to save alone:
    // a story that no longer matches the film would save to nowhere).
    const again = document.getElementById("story-again");
    if (!again) return;  // a viewer
    again.hidden = state.shots.length === 0;
    const againText = document.getElementById("story-again-text");
    if (document.activeElement !== againText && againText.dataset.dirty !== "true") againText.value = project.story;
    document.getElementById("storyboard-again").disabled = writing || project.status === "storyboarding";
  }

  const storyText = document.getElementById("story-text");
  storyText.addEventListener("input", () => (storyText.dataset.dirty = "true"));
  async function saveStory() {
    if (storyText.dataset.dirty !== "true") return;
    state.project = await api(`/projects/${projectId}`, { method: "PATCH", body: { story: storyText.value } });
    delete storyText.dataset.dirty;
  }
  document.getElementById("story-save").addEventListener("click", () => act(null, saveStory));
  document.getElementById("storyboard-start").addEventListener("click", () =>
    act(null, async () => {
      await saveStory();
      (await api(`/projects/${projectId}/storyboard/start`, { method: "POST" })).forEach(rememberTask);
      await load();
    }),
  );

  const againText = document.getElementById("story-again-text");
  if (againText) {
    againText.addEventListener("input", () => (againText.dataset.dirty = "true"));
    document.getElementById("storyboard-again").addEventListener("click", () =>
      act(null, async () => {
        state.project = await api(`/projects/${projectId}`, { method: "PATCH", body: { story: againText.value } });
        delete againText.dataset.dirty;
        const tasks = await api(`/projects/${projectId}/storyboard/start`, { method: "POST", body: { again: true } });
        tasks.forEach(rememberTask);
        await load();
      }),
    );
  }

  function renderProject() {
    const project = state.project;
    paintSettings();
    paintStory();
    paintBoardRewrite();
    paintTranslation();
    root.style.setProperty("--frame-w", project.width);
    root.style.setProperty("--frame-h", project.height);
    document.getElementById("project-status").textContent = statusLine(project) || STATUS_WORDS[project.status];
    const progress = filmProgress();
    const bar = document.getElementById("render-progress");
    bar.hidden = !progress;
    bar.querySelector(".fill").style.width = `${progress ? Math.round(progress.fraction * 100) : 0}%`;
    document.getElementById("film-progress").textContent = progress ? progress.text : "";
    paintCancel(document.getElementById("film-cancel"), progress ? progress.tasks : []);
    // Nothing to render before the storyboard has shots; nor twice at once.
    const compose = state.tasks.get("compose:");
    const rendering = compose && UNFINISHED.includes(compose.status);
    document.getElementById("render").disabled = Boolean(rendering) || state.shots.length === 0;
    const player = document.getElementById("player");
    if (project.render && project.render.videoUrl) {
      const video = player.querySelector("video");
      if (video.getAttribute("src") !== project.render.videoUrl) {
        video.src = project.render.videoUrl;
        if (project.render.posterUrl) video.poster = project.render.posterUrl;
      }
      player.hidden = false;
    }
    paintStrip(project);
  }

  // The film strip under the player: each shot of the rendered film a block as wide as its time
  // in it; the playing shot is marked, and a click plays the film from that shot and selects its card.
  const video = document.querySelector("#player video");
  const strip = document.getElementById("filmstrip");
  function paintStrip(project) {
    const shots = (project.render && project.render.shots) || [];
    const key = JSON.stringify(shots);
    if (strip.dataset.key === key) return;
    strip.dataset.key = key;
    strip.hidden = !shots.length;
    strip.replaceChildren(
      ...shots.map((item, index) => {
        const block = document.createElement("button");
        block.type = "button";
        block.className = "strip-shot";
        block.dataset.shotId = item.shotId;
        block.dataset.start = item.start;
        block.style.flexGrow = String(Math.max(0.1, item.end - item.start));
        block.textContent = String(index + 1);
        block.setAttribute("aria-label", say(gettext("Shot %(n)s, from %(at)s s"), { n: index + 1, at: item.start.toFixed(1) }));
        return block;
      }),
    );
    markPlaying();
  }

  function markPlaying() {
    const blocks = Array.from(strip.children);
    const playing = blocks.filter((block) => Number(block.dataset.start) <= video.currentTime + 0.01).pop();
    for (const block of blocks) {
      const now = block === playing;
      if ((block.getAttribute("aria-current") === "true") !== now) block.setAttribute("aria-current", String(now));
      const card = list.querySelector(`.shot[data-shot-id="${block.dataset.shotId}"]`);
      if (card) card.classList.toggle("playing", now && !video.paused);
    }
    return playing;
  }
  video.addEventListener("timeupdate", markPlaying);
  video.addEventListener("pause", markPlaying);

  function playShot(block) {
    video.currentTime = Number(block.dataset.start);
    markPlaying();
    const card = list.querySelector(`.shot[data-shot-id="${block.dataset.shotId}"]`);
    if (card) {
      card.scrollIntoView({ block: "nearest" });
      card.focus({ preventScroll: true });
    }
  }
  strip.addEventListener("click", (event) => {
    const block = event.target.closest(".strip-shot");
    if (block) playShot(block);
  });

  // Keyboard shortcuts (listed in the dialog "?" opens), never while a person types in a field.
  const shortcuts = document.getElementById("shortcuts");
  document.getElementById("shortcuts-open").addEventListener("click", () => shortcuts.showModal());
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.target.closest("input, textarea, select, [contenteditable]")) return;
    if (event.key === "?") {
      event.preventDefault();
      if (shortcuts.open) shortcuts.close();
      else shortcuts.showModal();
    } else if (event.key === "k" && !strip.hidden) {
      event.preventDefault();
      if (video.paused) video.play().catch(() => {});
      else video.pause();
    } else if ((event.key === "j" || event.key === "l") && !strip.hidden) {
      event.preventDefault();
      const blocks = Array.from(strip.children);
      const at = blocks.indexOf(markPlaying());
      const next = blocks[Math.max(0, Math.min(blocks.length - 1, at + (event.key === "l" ? 1 : -1)))];
      if (next) playShot(next);
    } else if (event.key === "m") {
      const card = document.activeElement && document.activeElement.closest(".shot");
      if (!card) return;
      event.preventDefault();
      const menu = card.querySelector(".more");
      menu.open = !menu.open;
      if (menu.open) menu.querySelector("summary").focus();
    }
  });

  function renderDrafts(drafts) {
    // What the workers recorded as run, whenever a draft stood in for a real model.
    const notice = document.getElementById("draft-notice");
    notice.querySelector("ul").replaceChildren(
      ...drafts.map((draft) => {
        const item = document.createElement("li");
        const stage = document.createElement("strong");
        stage.textContent = DRAFT_STAGE_WORDS[draft.stage] || draft.stage;
        const why = (draft.reasonParts || []).length
          ? taskNodes({ message: draft.reason, messageParts: draft.reasonParts })
          : [english(draft.reason)];
        const reason = document.createElement("span");
        reason.append(...why);
        item.append(
          stage,
          ...sayNodes(gettext(": %(runs)s instead of %(spec)s — %(why)s"), {
            runs: sourceWords(draft.runs),
            spec: draft.spec,
            why: reason,
          }),
        );
        return item;
      }),
    );
    notice.hidden = drafts.length === 0;
  }

  // A character's words: who it is and its looks (in every picture of it), then its personality.
  const CHARACTER_TEXT = ["description", "appearance", "age", "clothing", "personality"];

  function renderCharacters() {
    const holder = document.getElementById("characters");
    holder.replaceChildren(
      ...state.characters.map((character) => {
        const item = document.createElement("li");
        item.dataset.characterId = character.id;
        const name = document.createElement("strong");
        name.textContent = character.name;
        const description = document.createElement("span");
        const numbers = state.shots
          .map((shot, index) => (character.shotIds.includes(shot.id) ? index + 1 : null))
          .filter((number) => number !== null);
        const where = numbers.length
          ? say(gettext("in shots %(numbers)s"), { numbers: numbers.join(", ") })
          : gettext("in no shot yet");
        const voice = character.voice ? say(gettext("voice %(voice)s"), character) : gettext("the narrator's voice");
        const looks = CHARACTER_TEXT.slice(0, 4).map((key) => character[key]).filter(Boolean).join("; ");
        description.textContent = ` ${looks} (${say(gettext("seed %(seed)s"), character)}; ${voice}; ${where})`;
        const edit = document.createElement("button");
        edit.type = "button";
        edit.className = "edit-character link";
        edit.textContent = gettext("Edit");
        edit.setAttribute("aria-label", say(gettext("Edit %(name)s"), character));
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "delete-character link danger";
        remove.textContent = gettext("Delete");
        remove.setAttribute("aria-label", say(gettext("Delete %(name)s"), character));
        item.append(name, description, " ", edit, " ", remove);
        if (character.suggestedVoice) item.append(" ", castingButton(character));
        item.append(likenessLine(character));
        return item;
      }),
    );
  }

  // The voice a character's words suggest (a woman's, an old man's…), given with one click.
  const CASTING_WORDS = {
    "female|": gettext("a woman's voice"),
    "female|old": gettext("an old woman's voice"),
    "male|": gettext("a man's voice"),
    "male|old": gettext("an old man's voice"),
    "|old": gettext("an old voice"),
  };
  const MANNER_WORDS = { deep: gettext("deep"), bright: gettext("bright") };
  const VARIANT_WORDS = {
    m1: gettext("an old man's voice"),
    m3: gettext("a man's voice"),
    m4: gettext("a man's voice, deep"),
    m7: gettext("a man's voice, bright"),
    f1: gettext("an old woman's voice"),
    f2: gettext("a woman's voice"),
    f3: gettext("a woman's voice, bright"),
    f4: gettext("a woman's voice, deep"),
    f5: gettext("a child's voice"),
    croak: gettext("an old voice"),
  };

  function castingButton(character) {
    const { voice, gender, age, manner } = character.suggestedVoice;
    const kind = age === "child" ? gettext("a child's voice") : CASTING_WORDS[`${gender}|${age}`] || voice;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "use-suggested-voice link";
    button.dataset.voice = voice;
    const { name } = character;
    button.textContent = manner
      ? say(gettext("Give %(name)s %(kind)s, %(manner)s (%(voice)s)"), { name, kind, manner: MANNER_WORDS[manner], voice })
      : say(gettext("Give %(name)s %(kind)s (%(voice)s)"), { name, kind, voice });
    button.title = gettext("Suggested by what is written of the character: its personality, age and looks.");
    return button;
  }

  // How alike a character's pictures are, the check's button, and its reference picture: none,
  // or one of its shots' pictures.
  function likenessLine(character) {
    const line = document.createElement("div");
    line.className = "likeness";
    const said = document.createElement("span");
    const likeness = character.likeness || {};
    if (likeness.score !== undefined) {
      said.textContent = likeness.drifting.length
        ? say(gettext("Likeness %(score)s; drifting most: shots %(shots)s"), {
            score: likeness.score.toFixed(2),
            shots: likeness.drifting.join(", "),
          })
        : say(gettext("Likeness %(score)s: alike in every shot"), { score: likeness.score.toFixed(2) });
      if (likeness.stale) said.textContent += ` ${gettext("(its pictures changed since: check again)")}`;
      if (likeness.backend === "hash") said.title = gettext("Measured by the pictures' layout and light (no CLIP encoder here)");
    }
    const check = document.createElement("button");
    check.type = "button";
    check.className = "check-likeness link";
    check.textContent = gettext("Check likeness");
    check.setAttribute("aria-label", say(gettext("Check how alike %(name)s looks from shot to shot"), character));
    const reference = document.createElement("select");
    reference.className = "reference";
    reference.setAttribute("aria-label", say(gettext("Reference picture of %(name)s"), character));
    reference.append(new Option(gettext("No reference picture"), ""));
    const pictured = state.shots.filter((shot) => character.shotIds.includes(shot.id) && shot.image.url);
    for (const shot of pictured) {
      const number = state.shots.indexOf(shot) + 1;
      reference.append(new Option(say(gettext("Reference: shot %(n)s"), { n: number }), shot.id));
    }
    const chosen = pictured.find((shot) => character.referenceImage && shot.image.url && sameFile(shot.image.url, character.referenceImage));
    if (character.referenceImage && !chosen) reference.append(new Option(gettext("Reference: your picture"), "own"));
    reference.value = chosen ? chosen.id : character.referenceImage ? "own" : "";
    if (character.referenceImage) {
      const picture = document.createElement("img");
      picture.className = "reference-picture";
      picture.src = character.referenceImage;
      picture.alt = say(gettext("Reference picture of %(name)s"), character);
      line.append(picture);
    }
    line.append(said, " ", check, " ", reference);
    if (character.referenceImage) {
      const note = document.createElement("small");
      note.className = "reference-note";
      note.textContent = character.referenceGuides
        ? gettext("It guides the pictures of this character's shots.")
        : gettext("Its shots' pictures are compared with it (the picture model here takes no reference).");
      line.append(" ", note);
    }
    return line;
  }

  function sameFile(a, b) {
    return new URL(a, location.href).pathname === new URL(b, location.href).pathname;
  }

  document.getElementById("characters").addEventListener("change", (event) => {
    const select = event.target.closest("select.reference");
    const item = event.target.closest("[data-character-id]");
    if (!select || !item || select.value === "own") return;
    const url = `/characters/${item.dataset.characterId}/reference`;
    act(null, async () => {
      if (select.value) await api(url, { method: "POST", body: { shotId: select.value } });
      else await api(url, { method: "DELETE" });
      await load();
    });
  });

  document.getElementById("characters").addEventListener("click", (event) => {
    const button = event.target.closest("button");
    const item = event.target.closest("[data-character-id]");
    if (!button || !item) return;
    const character = state.characters.find((each) => each.id === item.dataset.characterId);
    if (button.classList.contains("use-suggested-voice")) {
      act(null, async () => {
        await api(`/characters/${character.id}`, { method: "PATCH", body: { voice: button.dataset.voice } });
        await load();
      });
    } else if (button.classList.contains("check-likeness")) {
      act(null, async () => {
        await api(`/characters/${character.id}/likeness`, { method: "POST" });
        await load();
      });
    } else if (button.classList.contains("delete-character")) {
      if (!window.confirm(say(gettext("Delete %(name)s? Shots with them are drawn again without them."), character))) return;
      act(null, async () => {
        await api(`/characters/${character.id}`, { method: "DELETE" });
        await load();
      });
    } else if (button.classList.contains("edit-character")) {
      const form = document.getElementById("character-form");
      form.dataset.editing = character.id;
      form.name.value = character.name;
      for (const key of CHARACTER_TEXT) form[key].value = character[key];
      form.voice.value = character.voice;
      form.querySelector("button[type=submit]").textContent = say(gettext("Save %(name)s"), character);
      form.name.focus();
    }
  });

  function shotIndex(card) {
    return state.shots.findIndex((shot) => shot.id === card.dataset.shotId);
  }

  async function act(card, work) {
    // Errors of the action itself: a stage's failure has its own line, which this never hides.
    const error = card ? card.querySelector(".action-error") : null;
    try {
      await work();
      if (error) error.hidden = true;
      else if (liveState.dataset.error) clearPageError(); // the last failure is no longer true
    } catch (problem) {
      if (error) {
        error.hidden = false;
        error.textContent = problem.message;
      } else {
        liveState.textContent = problem.message;
        liveState.dataset.error = "true";
      }
    }
  }

  function clearPageError() {
    delete liveState.dataset.error;
    liveState.textContent = state.poll ? gettext("Live updates paused; checking every few seconds.") : "";
  }

  async function move(card, offset) {
    const index = shotIndex(card);
    const target = index + offset;
    if (target < 0 || target >= state.shots.length) return;
    const ids = state.shots.map((shot) => shot.id);
    ids.splice(target, 0, ids.splice(index, 1)[0]);
    await reorder(ids);
    list.querySelector(`[data-shot-id="${ids[target]}"]`)?.focus();
  }

  async function reorder(ids) {
    const shots = await api(`/projects/${projectId}/shots/reorder`, { method: "POST", body: { shotIds: ids } });
    state.shots = shots;
    renderAll();
  }

  list.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    const card = event.target.closest(".shot");
    if (!button || !card) return;
    const id = card.dataset.shotId;
    if (button.classList.contains("save")) {
      act(card, async () => {
        const value = (selector) => card.querySelector(selector).value;
        const pinned = value(".pinned-duration");
        const holder = card.querySelector(".shot-characters");
        const body = {
          prompt: value(".prompt"),
          narration: value(".narration"),
          negativePrompt: value(".negative-prompt"),
          motionPrompt: value(".motion-prompt"),
          pinnedDuration: pinned === "" ? null : Number(pinned),
          camera: value(".camera"),
          transition: value(".transition"),
          shotSize: value(".shot-size"),
          cameraAngle: value(".camera-angle"),
          speakerId: value(".speaker") || null,
        };
        // The seed only when the person changed it: sent unchanged, a seed a new picture drew
        // meanwhile would be taken back (and pinned).
        const seed = card.querySelector(".seed");
        if (seed.value !== "" && seed.dataset.dirty === "true") body.seed = Number(seed.value);
        if (holder.dataset.dirty === "true") {
          body.characterIds = Array.from(holder.querySelectorAll("input:checked"), (box) => box.value);
        }
        await api(`/shots/${id}`, { method: "PATCH", body });
        card.querySelectorAll("[data-dirty]").forEach((field) => (field.dataset.dirty = "false"));
        paintSave(card);
        await load();
      });
    } else if (button.classList.contains("regen")) {
      const stage = button.dataset.stage;
      const shot = state.shots[shotIndex(card)];
      const own = shot[stage] && shot[stage].own;
      if (own && !window.confirm(gettext("This is your own file. Replace it with a generated one?"))) return;
      act(card, async () => {
        rememberTask(await api(`/shots/${id}/generate`, { method: "POST", body: { stage, force: Boolean(own) } }));
        renderAll();
      });
    } else if (button.classList.contains("show-candidates")) {
      act(card, async () => {
        rememberTask(await api(`/shots/${id}/candidates`, { method: "POST", body: { count: 4 } }));
        paintStatus(card, state.shots[shotIndex(card)]);
      });
    } else if (button.classList.contains("optimize")) {
      const text = card.querySelector(".prompt").value.trim();
      if (!text) return card.querySelector(".prompt").focus();
      panel(card, "optimizer", button).hidden = false;
      button.setAttribute("aria-expanded", "true");
      act(card, async () => followDraft(card, await api("/prompts/optimize", { method: "POST", body: { prompt: text, shotId: id } })));
    } else if (button.classList.contains("optimize-answer")) {
      const answers = {};
      card.querySelectorAll(".optimizer-questions [data-field]").forEach((field) => {
        if (field.value.trim()) answers[field.dataset.field] = field.value.trim();
      });
      if (!Object.keys(answers).length) return card.querySelector(".optimizer-questions [data-field]")?.focus();
      act(card, async () => paintDraft(card, await api(`/prompts/${card.dataset.draftId}/answers`, { method: "POST", body: answers })));
    } else if (button.classList.contains("optimize-use")) {
      const draft = JSON.parse(card.dataset.draft);
      const field = card.querySelector(".prompt");
      field.value = draft.result;
      field.dispatchEvent(new Event("input"));
      for (const [name, key] of [["shot-size", "shotSize"], ["camera-angle", "cameraAngle"]]) {
        const select = card.querySelector(`.${name}`);
        if (draft.entities[key] && select.value !== draft.entities[key]) {
          select.value = draft.entities[key];
          select.dispatchEvent(new Event("input"));
        }
      }
      field.focus();
    } else if (button.classList.contains("rate")) {
      act(card, async () => paintDraft(card, await api(`/prompts/${card.dataset.draftId}/rating`, { method: "POST", body: { rating: Number(button.dataset.rating) } })));
    } else if (button.classList.contains("show-gallery")) {
      const box = panel(card, "gallery-pick", button.closest(".row"));
      box.hidden = !box.hidden;
      button.setAttribute("aria-expanded", String(!box.hidden));
      if (!box.hidden) act(card, () => paintGalleryPick(card));
    } else if (button.classList.contains("use-picture")) {
      act(card, async () => {
        await api(`/images/${button.dataset.pictureId}/use`, { method: "POST", body: { shotId: id } });
        card.querySelector(".gallery-pick").hidden = true;
        card.querySelector(".show-gallery").setAttribute("aria-expanded", "false");
        await load();
      });
    } else if (button.classList.contains("choose-candidate")) {
      act(card, async () => {
        await api(`/shots/${id}/candidates/${button.dataset.candidateId}/choose`, { method: "POST" });
        await load();
        await paintCandidateGrid(card);
      });
    } else if (button.classList.contains("refine-send")) {
      const input = card.querySelector(".instruction");
      const instruction = input.value.trim();
      if (!instruction) return input.focus();
      const narration = card.querySelector(".refine-narration").checked;
      act(card, async () => {
        rememberTask(await api(`/shots/${id}/refine`, { method: "POST", body: { instruction, narration } }));
        input.value = "";
        paintStatus(card, state.shots[shotIndex(card)]);
      });
    } else if (button.classList.contains("restore")) {
      act(card, async () => {
        await api(`/shots/${id}/versions/${button.dataset.versionId}/restore`, { method: "POST" });
        await load();
        await paintHistory(card);
      });
    } else if (button.classList.contains("listen")) {
      const shot = state.shots[shotIndex(card)];
      if (shot.speech.url) new Audio(shot.speech.url).play().catch(() => {});
    } else if (button.classList.contains("up")) {
      act(card, () => move(card, -1));
    } else if (button.classList.contains("down")) {
      act(card, () => move(card, 1));
    } else if (button.classList.contains("add-after")) {
      act(card, async () => {
        await api(`/projects/${projectId}/shots`, { method: "POST", body: { prompt: gettext("A new shot"), afterShotId: id } });
        await load();
      });
    } else if (button.classList.contains("delete")) {
      if (!window.confirm(gettext("Delete this shot?"))) return;
      act(card, async () => {
        await api(`/shots/${id}`, { method: "DELETE" });
        await load();
      });
    }
  });

  // A shot kept as it is by storyboard rewrites, its seed kept by new pictures, or approved: saved at once
  // (it changes nothing else).
  list.addEventListener("change", (event) => {
    const box = event.target.closest(".lock, .seed-pin, .approve");
    const card = box && box.closest(".shot");
    if (!card) return;
    box.dataset.saving = "true";
    const field = box.classList.contains("lock") ? "locked" : box.classList.contains("approve") ? "approved" : "seedPinned";
    const body = { [field]: box.checked };
    act(card, async () => {
      try {
        await api(`/shots/${card.dataset.shotId}`, { method: "PATCH", body });
        await load();
      } finally {
        delete box.dataset.saving;
      }
    });
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest(".cancel-task");
    if (!button) return;
    act(button.closest(".shot"), async () => {
      for (const id of button.dataset.taskIds.split(" ").filter(Boolean)) {
        try {
          rememberTask(await api(`/tasks/${id}/cancel`, { method: "POST" }));
        } catch (problem) {
          if (problem.status !== 409) throw problem; // it ended meanwhile: nothing to cancel
        }
      }
      await load();
    });
  });

  const rewrite = document.getElementById("rewrite");
  rewrite.addEventListener("toggle", () => rewrite.open && act(null, paintSnapshots));
  document.getElementById("board-rewrite").addEventListener("click", () => {
    const input = document.getElementById("board-instruction");
    const instruction = input.value.trim();
    if (!instruction) return input.focus();
    act(null, async () => {
      rememberTask(await api(`/projects/${projectId}/storyboard/refine`, { method: "POST", body: { instruction } }));
      input.value = "";
      paintBoardRewrite();
    });
  });
  document.getElementById("snapshots").addEventListener("click", (event) => {
    const button = event.target.closest(".restore-board");
    if (!button) return;
    if (!window.confirm(gettext("Bring back this storyboard? The one you have now is kept too."))) return;
    act(null, async () => {
      await api(`/projects/${projectId}/storyboard/snapshots/${button.dataset.snapshotId}/restore`, { method: "POST" });
      await load();
      await paintSnapshots();
    });
  });

  // A person's own picture or recording in place of the generated one.
  list.addEventListener("change", (event) => {
    const input = event.target.closest(".own-file");
    const card = input && input.closest(".shot");
    if (!card || !input.files.length) return;
    const file = input.files[0];
    input.value = "";
    act(card, async () => {
      const form = new FormData();
      form.append("stage", input.dataset.stage);
      form.append("file", file);
      const response = await fetch(`/api/v1/shots/${card.dataset.shotId}/media`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf(), Accept: "application/json" },
        body: form,
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw failure(response, body);
      await load();
    });
  });

  // Keyboard reordering: Alt+ArrowUp / Alt+ArrowDown on a focused card. Ctrl+Enter (⌘+Enter) in
  // a card's field saves the card's changes.
  list.addEventListener("keydown", (event) => {
    const card = event.target.closest(".shot");
    if (card && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      const save = card.querySelector(".save");
      if (!save.hidden) {
        event.preventDefault();
        save.click();
      }
      return;
    }
    if (!card || !event.altKey || !["ArrowUp", "ArrowDown"].includes(event.key)) return;
    event.preventDefault();
    act(card, () => move(card, event.key === "ArrowUp" ? -1 : 1));
  });

  // Drag and drop reordering.
  let dragged = null;
  list.addEventListener("dragstart", (event) => {
    dragged = event.target.closest(".shot");
    if (dragged) {
      dragged.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.dataset.shotId);
    }
  });
  list.addEventListener("dragover", (event) => {
    if (dragged) event.preventDefault();
  });
  list.addEventListener("drop", (event) => {
    const target = event.target.closest(".shot");
    if (!dragged || !target || target === dragged) return;
    event.preventDefault();
    const ids = state.shots.map((shot) => shot.id).filter((shotId) => shotId !== dragged.dataset.shotId);
    const rect = target.getBoundingClientRect();
    const after = event.clientY > rect.top + rect.height / 2;
    ids.splice(ids.indexOf(target.dataset.shotId) + (after ? 1 : 0), 0, dragged.dataset.shotId);
    act(null, () => reorder(ids));
  });
  list.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
  });

  document.getElementById("add-shot").addEventListener("click", () =>
    act(null, async () => {
      await api(`/projects/${projectId}/shots`, { method: "POST", body: { prompt: gettext("A new shot") } });
      await load();
    }),
  );

  async function render(force) {
    try {
      rememberTask(await api(`/projects/${projectId}/render`, { method: "POST", body: { force } }));
    } catch (problem) {
      // 409: some shots failed. Say which, and render only when the person says so.
      if (problem.status !== 409 || force || !window.confirm(`${problem.message}\n\n${gettext("Render anyway?")}`)) throw problem;
      return render(true);
    }
    renderProject();
  }

  document.getElementById("render").addEventListener("click", () => act(null, () => render(false)));

  document.getElementById("character-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const editing = form.dataset.editing;
    act(null, async () => {
      const body = { name: form.name.value, voice: form.voice.value };
      for (const key of CHARACTER_TEXT) body[key] = form[key].value;
      if (editing) await api(`/characters/${editing}`, { method: "PATCH", body });
      else await api(`/projects/${projectId}/characters`, { method: "POST", body });
      form.reset();
      delete form.dataset.editing;
      form.querySelector("button[type=submit]").textContent = gettext("Add character");
      await load();
    });
  });

  function onEvent(event) {
    if (event.type === "hello") {
      state.seq = event.seq;
      return;
    }
    const gap = state.seq !== null && event.seq !== state.seq + 1;
    state.seq = event.seq;
    if (gap || event.type === "storyboard") {
      load().catch(() => {});
      return;
    }
    if (event.type === "project") {
      if (newer(state.project, event.project)) state.project = event.project;
      renderProject();
    } else if (event.type === "task") {
      rememberTask(event.task);
      const shot = state.shots.find((item) => item.id === event.task.shotId);
      if (shot) {
        const card = list.querySelector(`[data-shot-id="${shot.id}"]`);
        if (card) paintStatus(card, shot);
      } else if (["storyboard", "compose"].includes(event.task.kind) && event.task.status === "finished") {
        load().catch(() => {});
      }
      renderProject();
    } else if (event.type === "shot") {
      const index = state.shots.findIndex((item) => item.id === event.shot.id);
      if (index >= 0) {
        state.shots[index] = event.shot;
        const card = list.querySelector(`[data-shot-id="${event.shot.id}"]`);
        if (card) paintShot(card, event.shot, index);
      }
    }
  }

  // The film's settings: shown from the project, saved with one PATCH (the server reruns only
  // the stages a change touches), music uploaded or removed apart.
  const settingsForm = document.getElementById("settings-form");
  const musicForm = document.getElementById("music-form");

  const CHECKED_SETTINGS = ["animate", "burnSubtitles", "subtitleSpeakers", "bilingualSubtitles", "autoRender"];

  // The film translated into another language: a new project, linked once it is made.
  function paintTranslation() {
    const task = state.tasks.get("translate:");
    const line = document.getElementById("translate-state");
    paintModelTask(task, line, document.getElementById("translate"), gettext("Translating… %(progress)s%"));
    const link = document.getElementById("translated");
    const made = task && task.status === "finished" && task.result && task.result.projectId;
    link.hidden = !made;
    if (made) link.href = `/projects/${task.result.projectId}/`;
  }

  document.getElementById("translate").addEventListener("click", () => {
    const language = document.getElementById("translate-language").value;
    act(null, async () => {
      rememberTask(await api(`/projects/${projectId}/translate`, { method: "POST", body: { language } }));
      paintTranslation();
    });
  });

  function paintSettings() {
    const project = state.project;
    if (settingsForm.dataset.dirty !== "true") {
      // A style in its own words (the API takes any) is offered beside the presets.
      const styles = settingsForm.style;
      if (![...styles.options].some((option) => option.value === project.style)) {
        styles.append(new Option(project.style, project.style));
      }
      for (const name of ["style", "aspectRatio", "resolution", "tier", "voice"]) settingsForm[name].value = project[name];
      for (const name of CHECKED_SETTINGS) settingsForm[name].checked = project[name];
      settingsForm.musicVolumeDb.value = project.musicVolumeDb;
    }
    const music = project.music || "";
    document.getElementById("music-name").textContent = music ? say(gettext("Now: %(music)s"), { music }) : gettext("No music");
    document.getElementById("music-remove").hidden = !music;
  }

  async function loadVoices() {
    const select = settingsForm.voice;
    const { voices, defaults, languages } = await api("/voices");
    state.defaultVoices = defaults;
    const options = (names) =>
      names.map((voice) => {
        const item = document.createElement("option");
        item.value = item.textContent = voice;
        // an espeak-ng variant says whose voice it is (the casting's: f1 an old woman's…)
        const variant = VARIANT_WORDS[voice.split("+")[1]];
        if (variant) item.textContent = `${voice} (${variant})`;
        return item;
      });
    select.append(...options(voices));
    if (state.project) select.value = state.project.voice;
    // A character speaks the story's language: only voices of it (or that do not say) are offered.
    const language = state.project ? state.project.language : null;
    const characterVoice = document.getElementById("character-form").voice;
    characterVoice.append(...options(voices.filter((voice) => !language || [language, null].includes(languages[voice]))));
  }

  document.getElementById("voice-preview").addEventListener("click", () => {
    // The chosen voice reading one line of the story's language (blank: the project's own).
    const project = state.project;
    const voice = settingsForm.voice.value || (project.language === "zh" ? state.defaultVoices.zh : state.defaultVoices.en);
    const query = new URLSearchParams({ voice, language: project.language });
    act(null, async () => {
      const response = await fetch(`/api/v1/voices/preview?${query}`, { credentials: "same-origin" });
      if (!response.ok) throw failure(response, await response.json().catch(() => ({})));
      const audio = new Audio(URL.createObjectURL(await response.blob()));
      audio.dataset.voice = voice;
      state.preview = audio;
      await audio.play().catch(() => {}); // a browser may refuse sound without a gesture: the file is there
    });
  });

  settingsForm.addEventListener("input", () => (settingsForm.dataset.dirty = "true"));
  settingsForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const error = settingsForm.querySelector(".settings-error");
    const body = {};
    for (const name of ["style", "aspectRatio", "resolution", "tier", "voice"]) body[name] = settingsForm[name].value;
    for (const name of CHECKED_SETTINGS) body[name] = settingsForm[name].checked;
    body.musicVolumeDb = Number(settingsForm.musicVolumeDb.value);
    api(`/projects/${projectId}`, { method: "PATCH", body })
      .then(async (project) => {
        error.hidden = true;
        delete settingsForm.dataset.dirty;
        state.project = project;
        await load();
      })
      .catch((problem) => {
        error.hidden = false;
        error.textContent = problem.message;
      });
  });

  async function music(method, file) {
    const form = new FormData();
    if (file) form.append("file", file);
    const response = await fetch(`/api/v1/projects/${projectId}/music`, {
      method,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), Accept: "application/json" },
      body: file ? form : undefined,
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw failure(response, body);
    state.project = body;
    paintSettings();
  }

  musicForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = musicForm.file.files[0];
    act(null, () => (file ? music("PUT", file) : Promise.reject(new Error(gettext("Choose an audio file first.")))));
  });
  document.getElementById("music-remove").addEventListener("click", () => act(null, () => music("DELETE")));

  // Work waits in vain on a queue no worker serves: say so (checked while work is open).
  const QUEUE_WORDS = {
    inference: gettext("No inference worker (storyboard, pictures, voices) is running"),
    media: gettext("No media worker (the film) is running"),
    language: gettext("No language worker (rewrites, translations, stories) is running"),
  };
  async function checkWorkers() {
    const open = Array.from(state.tasks.values()).filter((task) => UNFINISHED.includes(task.status));
    const notice = document.getElementById("worker-notice");
    if (!open.length) {
      notice.hidden = true;
      return;
    }
    const queues = await api("/workers");
    state.queues = queues;
    if (state.project) renderProject();
    const idle = Object.entries(queues)
      .filter(([, queue]) => queue.workers === 0 && open.some((task) => queue.kinds.includes(task.kind)))
      .map(([name]) => name);
    notice.hidden = !idle.length;
    const command = (words) => Object.assign(document.createElement("code"), { textContent: words });
    notice.replaceChildren(
      ...(idle.length
        ? sayNodes(gettext("%(who)s: its work waits until one starts (%(run)s starts them; or %(command)s)."), {
            who: idle.map((name) => QUEUE_WORDS[name]).join(gettext("; ")),
            run: command("make run"),
            command: command(`python manage.py worker ${idle[0]}`),
          })
        : []),
    );
  }
  window.setInterval(() => checkWorkers().catch(() => {}), 5000);

  function polling(on) {
    if (on && !state.poll) {
      liveState.textContent = gettext("Live updates paused; checking every few seconds.");
      state.poll = window.setInterval(() => load().catch(() => {}), 3000);
    } else if (!on && state.poll) {
      window.clearInterval(state.poll);
      state.poll = null;
      liveState.textContent = "";
    }
  }

  let retry = 1000;
  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${window.location.host}/ws/projects/${projectId}/`);
    state.socket = socket;
    socket.addEventListener("open", () => {
      retry = 1000;
      liveState.dataset.socket = "open";
      polling(false);
      load().catch(() => {});
    });
    socket.addEventListener("message", (message) => onEvent(JSON.parse(message.data)));
    socket.addEventListener("close", () => {
      liveState.dataset.socket = "closed";
      polling(true);
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    });
  }

  load()
    .then(() => {
      performance.mark("storyvideo:usable"); // every card is on the page and can be edited
      connect();
      checkWorkers().catch(() => {});
      loadVoices().catch(() => {});
    })
    .catch((problem) => {
      liveState.textContent = problem.message;
      polling(true);
    });
})();
