// The image studio: pictures from a prompt outside any film, painted by the workers (POST
// /api/v1/generate, followed at /api/v1/tasks/{id}) into the person's gallery (/api/v1/images).
"use strict";

(() => {
  const gettext = window.gettext || ((text) => text);
  const say = (text, values) => text.replace(/%\((\w+)\)s/g, (_, key) => String(values[key]));
  const form = document.getElementById("studio");
  const line = document.getElementById("studio-state");
  const grid = document.getElementById("gallery");
  const more = document.getElementById("gallery-more");
  const cancel = document.getElementById("studio-cancel");
  const paint = document.getElementById("studio-paint");
  const PAGE = 24;
  let page = 1;
  let following = null;

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
    if (!response.ok) {
      const error = body.error || {};
      const message = error.message || say(gettext("The server answered %(status)s."), response);
      throw Object.assign(new Error(message), { fields: error.fields || {} });
    }
    return body;
  }

  function pictureItem(picture) {
    const item = document.createElement("li");
    item.className = "picture";
    item.dataset.pictureId = picture.id;
    const link = document.createElement("a");
    link.href = picture.url;
    link.target = "_blank";
    link.rel = "noopener";
    const image = document.createElement("img");
    image.src = picture.thumbnailUrl || picture.url;
    image.alt = picture.prompt;
    image.loading = "lazy";
    image.style.aspectRatio = `${picture.width} / ${picture.height}`;
    link.append(image);
    const caption = document.createElement("small");
    caption.textContent = say(gettext("Seed %(seed)s · %(width)s×%(height)s"), picture);
    caption.title = picture.prompt;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "delete-picture link";
    remove.textContent = gettext("Delete");
    remove.setAttribute("aria-label", say(gettext("Delete the picture of seed %(seed)s"), picture));
    item.append(link, caption, remove);
    return item;
  }

  async function paintGallery(next = false) {
    page = next ? page + 1 : 1;
    const answer = await api(`/images?pageSize=${PAGE}&page=${page}`);
    const items = answer.results.map(pictureItem);
    if (next) grid.append(...items);
    else grid.replaceChildren(...items);
    more.hidden = !answer.next;
    document.getElementById("gallery-empty").hidden = answer.count > 0;
  }

  function showErrors(fields) {
    form.querySelectorAll(".error[data-field]").forEach((box) => {
      const words = fields[box.dataset.field];
      box.hidden = !words;
      box.textContent = words ? [].concat(words).join(" ") : "";
      if (words) box.closest("details")?.setAttribute("open", "");
    });
  }

  function body() {
    const data = new FormData(form);
    const asked = {};
    for (const [key, value] of data.entries()) {
      const text = String(value).trim();
      if (!text) continue;
      asked[key] = ["count", "seed", "steps", "guidance"].includes(key) ? Number(text) : text;
    }
    if (!asked.prompt) asked.prompt = "";
    return asked;
  }

  async function follow(task) {
    following = task.id;
    cancel.hidden = false;
    paint.disabled = true;
    const estimate = task.estimatedSeconds;
    while (following === task.id) {
      if (task.status === "finished") {
        const count = task.result.batch;
        line.textContent = say(gettext("%(count)s painted, now in your gallery."), { count });
        await paintGallery();
        break;
      }
      if (task.status === "failed" || task.status === "cancelled") {
        line.textContent = task.status === "cancelled" ? gettext("Cancelled.") : task.message || task.error;
        break;
      }
      line.textContent = estimate == null
        ? say(gettext("Painting the pictures… %(progress)s%"), task)
        : say(gettext("Painting the pictures… %(progress)s% (about %(seconds)s s)"), { progress: task.progress, seconds: Math.round(estimate) });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      task = await api(`/tasks/${task.id}`);
    }
    if (following === task.id) following = null;
    cancel.hidden = true;
    paint.disabled = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showErrors({});
    try {
      const task = await api("/generate", { method: "POST", body: body() });
      await follow(task);
    } catch (error) {
      showErrors(error.fields || {});
      line.textContent = error.message;
    }
  });

  cancel.addEventListener("click", async () => {
    if (!following) return;
    const id = following;
    following = null;
    try {
      await api(`/tasks/${id}/cancel`, { method: "POST" });
      line.textContent = gettext("Cancelled.");
    } catch (error) {
      line.textContent = error.message;
    }
    cancel.hidden = true;
    paint.disabled = false;
  });

  grid.addEventListener("click", async (event) => {
    const button = event.target.closest(".delete-picture");
    if (!button || !window.confirm(gettext("Delete this picture from your gallery? A shot that took it keeps it."))) return;
    const item = button.closest(".picture");
    try {
      await api(`/images/${item.dataset.pictureId}`, { method: "DELETE" });
      item.remove();
      document.getElementById("gallery-empty").hidden = grid.children.length > 0;
    } catch (error) {
      line.textContent = error.message;
    }
  });

  more.addEventListener("click", () => paintGallery(true).catch((error) => (line.textContent = error.message)));

  (async () => {
    await paintGallery();
    // a request still painting (the page was reloaded, or opened in another tab) is followed
    const recent = await api("/tasks?pageSize=20");
    const painting = recent.results.find((task) => task.kind === "studio" && ["blocked", "pending", "processing"].includes(task.status));
    if (painting) await follow(painting);
  })().catch((error) => (line.textContent = error.message));
})();
